"""Settings: one frozen dataclass, loaded from pyproject.toml, Invoke's config and task flags.

Each setting is declared once, with :func:`setting`: its default, the kind of value it takes (which parses and
checks it) and which artifacts it affects. Adding a setting is adding one field here.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import limits
from .errors import SettingsError
from .targets import ARCHITECTURES, RUNTIMES, Target, check_arch, check_runtime, default_runtime

PYPROJECT_TABLE = "lambda-tasks"


class Affects(enum.Flag):
    """Which artifacts a setting shapes: a change makes those stale. ``DEPLOY`` settings make nothing stale."""

    DEPLOY = 0
    APP = enum.auto()
    LAYERS = enum.auto()
    BOTH = APP | LAYERS


#: A value's parser and check: (value, where it came from) -> the value the field holds; SettingsError if bad.
Kind = Callable[[Any, str], Any]


def setting(default: Any, kind: Kind, affects: Affects, *, optional: bool = False) -> Any:
    """Declare a setting: its default, its kind, what it affects, and whether ``None`` is a value."""
    metadata = {"kind": kind, "affects": affects, "optional": optional}
    if isinstance(default, (dict, list)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


# ---------------------------------------------------------------------------------------------- kinds


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


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function made from the app zip and the layers."""

    name: str
    handler: str | None = None  # None: the ``handler`` setting
    memory: int | None = None
    timeout: int | None = None
    environment: Mapping[str, str] | None = None


def function_specs(value: Any, where: str) -> tuple[FunctionSpec, ...]:
    if not isinstance(value, (list, tuple)):
        raise SettingsError(f"{where} must be a list of tables, not {value!r}")
    known = {f.name for f in dataclasses.fields(FunctionSpec)}
    specs = []
    for item in value:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise SettingsError(f"{where}: each function needs at least name = \"...\" (got {item!r})")
        unknown = sorted(set(item) - known)
        if unknown:
            raise SettingsError(f"{where}: unknown function key {unknown[0]!r}; known: {', '.join(sorted(known))}")
        values: dict[str, Any] = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in item.items()}
        specs.append(FunctionSpec(**values))
    return tuple(specs)


A, L, B, D = Affects.APP, Affects.LAYERS, Affects.BOTH, Affects.DEPLOY


@dataclass(frozen=True)
class Settings:
    """Everything a build, publish or deploy needs to know; paths are absolute."""

    # -- where things are
    project_dir: Path = setting(Path("."), text, B)
    output_dir: Path = setting(Path("."), text, D)  # where invoke runs: dist/ and layers/ are written below it
    requirements: str | None = setting(None, text, L, optional=True)  # None: searched (sources/project.py)
    extras: tuple[str, ...] = setting((), texts, L)
    groups: tuple[str, ...] = setting((), texts, L)
    vendor_dir: str = setting("vendor", text, L)
    app_zip: str = setting("dist/app.zip", text, A)
    layers_dir: str = setting("layers", text, L)
    # -- the target
    runtime: str = setting("python3.12", runtime, B)
    arch: str = setting("x86_64", arch, B)
    # -- building
    layer_name: str = setting("", text, L)
    pip_args: tuple[str, ...] = setting((), texts, L)
    installer: str = setting("pip", choice("pip", "uv"), L)
    include: tuple[str, ...] = setting((), texts, B)
    slim: bool = setting(False, boolean, L)
    strip_binaries: bool = setting(False, boolean, L)
    bytecode: bool = setting(False, boolean, B)
    bytecode_python: str | None = setting(None, text, B, optional=True)
    exclude: tuple[str, ...] = setting((), texts, L)
    exclude_runtime_provided: bool = setting(False, boolean, L)
    audit_allow: tuple[str, ...] = setting((), texts, B)
    # -- limits (lowered in tests; raising them past Lambda's only defers the error to deploy time)
    layer_zip_limit: int = setting(limits.INLINE_ZIP_BYTES, whole(1), B)
    unzipped_limit: int = setting(limits.UNZIPPED_BYTES, whole(1), B)
    s3_layer_zip_limit: int = setting(limits.UNZIPPED_BYTES, whole(1), B)
    # -- splitting
    max_layers: int | None = setting(None, whole(1, limits.MAX_LAYERS), L, optional=True)
    extra_layers: tuple[str, ...] = setting((), extra_layer_arns, L)
    extra_layers_bytes: int = setting(0, whole(0), L)
    layer_groups: Mapping[str, int] = setting({}, layer_numbers, L)
    # -- publishing and deploying
    s3_bucket: str | None = setting(None, text, B, optional=True)
    s3_prefix: str = setting("lambda-tasks/", text, D)
    regions: tuple[str, ...] = setting((), texts, D)
    function_name: str | None = setting(None, text, D, optional=True)
    role: str | None = setting(None, text, D, optional=True)
    handler: str = setting("app.handler", text, D)
    memory: int = setting(128, whole(0), D)
    timeout: int = setting(60, whole(0), D)
    environment: Mapping[str, str] = setting({}, variables, D)
    functions: tuple[FunctionSpec, ...] = setting((), function_specs, D)
    publish_version: bool = setting(False, boolean, D)
    alias: str | None = setting(None, text, D, optional=True)

    @property
    def target(self) -> Target:
        return Target(self.runtime, self.arch)

    @property
    def app_zip_path(self) -> Path:
        return self.output_dir / self.app_zip

    @property
    def layers_path(self) -> Path:
        return self.output_dir / self.layers_dir

    @property
    def manifest_path(self) -> Path:
        return self.layers_path / "manifest.json"

    @property
    def requirements_path(self) -> Path:
        return self.project_dir / (self.requirements or "requirements.txt")

    @property
    def vendor_path(self) -> Path:
        return self.project_dir / self.vendor_dir

    @property
    def layer_limit(self) -> int:
        """The zipped size one layer may have: inline unless an S3 bucket carries the uploads."""
        return self.s3_layer_zip_limit if self.s3_bucket else self.layer_zip_limit

    @property
    def layer_count_limit(self) -> int:
        if self.max_layers is not None:
            return self.max_layers
        return limits.MAX_LAYERS - len(self.extra_layers)

    def function_specs(self) -> tuple[FunctionSpec, ...]:
        """The functions to deploy: ``functions`` when set, else the one named ``function_name``."""
        if self.functions:
            return self.functions
        if self.function_name:
            return (FunctionSpec(self.function_name, self.handler),)
        return ()


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
_INTERNAL = {"output_dir"}


def setting_names() -> list[str]:
    """Every key users may set."""
    return sorted(set(_FIELDS) - _INTERNAL)


def settings_affecting(affects: Affects) -> list[str]:
    """The settings that shape ``affects`` (Affects.APP or Affects.LAYERS), by name."""
    return sorted(name for name, f in _FIELDS.items() if f.metadata["affects"] & affects)


def _parse(key: str, value: Any, source: str) -> Any:
    meta = _FIELDS[key].metadata
    if value is None and meta["optional"]:
        return None
    return meta["kind"](value, f"setting {key!r} (from {source})")


def normalise_keys(raw: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Accept ``layer-name`` and ``layer_name`` alike; refuse keys we do not know, suggesting the nearest."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in _FIELDS or name in _INTERNAL:
            near = difflib.get_close_matches(name, setting_names(), n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
            raise SettingsError(f"unknown setting {key!r}{hint}\n  in {source}\n"
                                "  the settings are listed in the README (Settings)")
        out[name] = value
    return out


def read_pyproject(directory: Path) -> dict[str, Any]:
    """The ``[tool.lambda-tasks]`` table of ``directory/pyproject.toml``, or {}."""
    path = directory / "pyproject.toml"
    if not path.is_file():
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path.name} is not valid TOML: {exc}\n  in {path}") from None
    table = data.get("tool", {}).get(PYPROJECT_TABLE, {})
    if not isinstance(table, dict):
        raise SettingsError(f"[tool.{PYPROJECT_TABLE}] in {path} must be a table")
    return table


def load_settings(
    cwd: Path | None = None,
    invoke_config: Mapping[str, Any] | None = None,
    flags: Mapping[str, Any] | None = None,
    fallback: Mapping[str, Any] | None = None,
) -> Settings:
    """Merge the sources, highest first: flags, Invoke's config, pyproject.toml, ``fallback``, defaults.

    ``pyproject.toml`` is the one where invoke runs; when ``project_dir`` points elsewhere, the project's own
    ``[tool.lambda-tasks]`` fills in what the others leave unset. ``None`` in a higher source means "not
    given" and never hides a lower one.
    """
    cwd = (cwd or Path.cwd()).resolve()
    layers = [
        (normalise_keys(read_pyproject(cwd), f"{cwd / 'pyproject.toml'} [tool.{PYPROJECT_TABLE}]"), "pyproject.toml"),
        (normalise_keys(dict(invoke_config or {}), "Invoke's config (lambda_tasks)"), "Invoke config"),
        (normalise_keys(dict(flags or {}), "the task's flags"), "a flag"),
    ]
    merged: dict[str, Any] = {}
    for values, source in layers:
        for key, value in values.items():
            if value is not None:
                merged[key] = _parse(key, value, source)
    project_dir = (cwd / merged.get("project_dir", ".")).resolve()
    if project_dir != cwd and project_dir.is_dir():
        where = f"{project_dir / 'pyproject.toml'} [tool.{PYPROJECT_TABLE}]"
        for key, value in normalise_keys(read_pyproject(project_dir), where).items():
            if key != "project_dir" and key not in merged and value is not None:
                merged[key] = _parse(key, value, where)
    for key, value in (fallback or {}).items():
        merged.setdefault(key, _parse(key, value, "the last build's manifest"))
    return finish(cwd, merged)


def finish(cwd: Path, values: dict[str, Any]) -> Settings:
    """Fill derived defaults."""
    project_dir = (cwd / values.pop("project_dir", ".")).resolve()
    if not project_dir.is_dir():
        raise SettingsError(f"project directory {project_dir} does not exist; check --project-dir")
    chosen = values.get("runtime") or default_runtime()
    if chosen is None:
        raise SettingsError(
            f"python{sys.version_info[0]}.{sys.version_info[1]} is not a Lambda runtime; "
            f"pass --runtime ({', '.join(RUNTIMES)})"
        )
    values["runtime"] = check_runtime(chosen)
    values.setdefault("arch", next(iter(ARCHITECTURES)))
    values.setdefault("layer_name", f"{_safe_name(project_dir.name)}-deps")
    return Settings(project_dir=project_dir, output_dir=cwd, **values)


def _safe_name(name: str) -> str:
    """A Lambda layer name may hold letters, digits, '-' and '_'."""
    cleaned = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name).strip("-")
    return cleaned or "app"
