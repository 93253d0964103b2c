"""The kinds of value a setting takes: each parses a raw value (TOML, an environment variable, a flag) and checks
it, raising SettingsError with where the value came from."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

from . import limits
from .errors import SettingsError
from .targets import check_arch, check_runtime

#: A value's parser and check: (value, where it came from) -> the value the field holds; SettingsError if bad.
Kind = Callable[[Any, str], Any]



def boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
        return value.lower() in {"1", "true", "yes", "on"}
    raise SettingsError(f"{where} must be true or false, not {value!r}")


def whole(minimum: int = 0, maximum: int | None = None) -> Kind:
    """A whole number in ``minimum..maximum``."""

    def parse(value: Any, where: str) -> int:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"{where} must be a whole number, not {value!r}")
        if maximum is not None and not minimum <= value <= maximum:
            raise SettingsError(f"{where} must be {minimum} to {maximum}, not {value}")
        if value < minimum:
            raise SettingsError(f"{where} must be at least {minimum}, not {value}")
        return value

    return parse


def text(value: Any, where: str) -> str:
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise SettingsError(f"{where} must be a non-empty string, not {value!r}")
    return str(value)


def choice(*allowed: str) -> Kind:
    def parse(value: Any, where: str) -> str:
        if value not in allowed:
            raise SettingsError(f"{where} must be {' or '.join(allowed)}, not {value!r}")
        return str(value)

    return parse


def runtime(value: Any, where: str) -> str:
    return check_runtime(text(value, where))


def arch(value: Any, where: str) -> str:
    return check_arch(text(value, where))


def texts(value: Any, where: str) -> tuple[str, ...]:
    """A list of strings; from the environment, comma- or space-separated."""
    if isinstance(value, str):
        value = value.split(",") if "," in value else value.split()
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise SettingsError(f"{where} must be a list of strings, not {value!r}")
    return tuple(v.strip() for v in value if v.strip())


def extra_layer_arns(value: Any, where: str) -> tuple[str, ...]:
    found = texts(value, where)
    if len(found) >= limits.MAX_LAYERS:
        raise SettingsError(f"{where} names {len(found)} layers; a function takes at most {limits.MAX_LAYERS} and "
                            "the dependencies need at least one")
    return found


def layer_numbers(value: Any, where: str) -> dict[str, int]:
    if not isinstance(value, Mapping) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value.values()
    ):
        raise SettingsError(f"{where} must be a table of name = layer number (1, 2, ...), not {value!r}")
    return dict(value)


def variables(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise SettingsError(f"{where} must be a table of NAME = \"value\" strings, not {value!r}")
    return dict(value)


def _inside(value: str, where: str) -> str:
    path = PurePosixPath(value.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or path.as_posix() in ("", ".") or "\0" in value:
        raise SettingsError(f"{where} must be a path inside its directory (relative, no '..'), not {value!r}")
    return path.as_posix()


def inside(value: Any, where: str) -> str:
    """A relative path that stays inside the directory it is relative to (the project, or the output directory)."""
    return _inside(text(value, where), where)


def insides(value: Any, where: str) -> tuple[str, ...]:
    """A list of :func:`inside` paths."""
    return tuple(dict.fromkeys(_inside(item, where) for item in texts(value, where)))
