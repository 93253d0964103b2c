"""Settings: one frozen dataclass, loaded from pyproject.toml, Invoke's config and task flags.

Each setting is declared once, in its section (:mod:`lambda_tasks.sections`): adding a setting is adding one
field there. :class:`Settings` is all the sections at once; the commands hand each stage its section.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from .errors import SettingsError
from .function_spec import PER_FUNCTION, FunctionSpec
from .kinds import text
from .lambda_values import loaded_problems
from .pyproject_table import PYPROJECT_TABLE, project_name, read_pyproject
from .sections import Affects as Affects
from .sections import (
    AppSettings,
    D,
    DeploySettings,
    FunctionSettings,
    ImageSettings,
    LayerSettings,
    ResolveSettings,
    SourceSettings,
    setting,
)
from .targets import ARCHITECTURES, RUNTIMES, check_runtime, default_runtime

__all__ = ["PER_FUNCTION", "PYPROJECT_TABLE", "Affects", "FunctionSpec", "Settings", "load_settings", "read_pyproject",
           "setting"]

S = TypeVar("S")


@dataclass(frozen=True)
class Settings(SourceSettings, ResolveSettings, AppSettings, LayerSettings, ImageSettings, FunctionSettings,
               DeploySettings):
    """Every setting, loaded and checked; paths are absolute. Only the commands hold it: each stage takes its
    section (:mod:`lambda_tasks.sections`)."""

    names_from: str = setting("", text, D)  # derived: where defaulted names came from (the build says it)

    @cached_property
    def sources(self) -> SourceSettings:
        return _section(self, SourceSettings)

    @cached_property
    def resolve(self) -> ResolveSettings:
        return _section(self, ResolveSettings)

    @cached_property
    def app(self) -> AppSettings:
        return _section(self, AppSettings)

    @cached_property
    def layers(self) -> LayerSettings:
        return _section(self, LayerSettings)

    @cached_property
    def image(self) -> ImageSettings:
        return _section(self, ImageSettings)

    @cached_property
    def function(self) -> FunctionSettings:
        return _section(self, FunctionSettings)

    @cached_property
    def deploy(self) -> DeploySettings:
        return _section(self, DeploySettings)


def _section(settings: Settings, section: type[S]) -> S:
    """A frozen copy of the fields ``section`` declares (and inherits)."""
    return section(**{f.name: getattr(settings, f.name) for f in dataclasses.fields(section)})  # type: ignore[arg-type]


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
_INTERNAL = {"output_dir", "names_from"}


def setting_names() -> list[str]:
    """Every key users may set."""
    return sorted(set(_FIELDS) - _INTERNAL)


def table_settings() -> list[str]:
    """The settings whose value is a table (``environment``, ``tags``, ...)."""
    return sorted(n for n, f in _FIELDS.items() if callable(f.default_factory) and f.default_factory() == {})


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
                                "  the settings are listed in docs/reference/settings.md")
        out[name] = value
    return out


def load_settings(
    cwd: Path | None = None,
    invoke_config: Mapping[str, Any] | None = None,
    flags: Mapping[str, Any] | None = None,
    fallbacks: Sequence[tuple[Mapping[str, Any], str]] = (),
) -> Settings:
    """Merge the sources, highest first: flags, Invoke's config, pyproject.toml, ``fallbacks`` (values and where
    they came from, highest first: .chalice/config.json, the last build's manifest), defaults.

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
    app_name_from = None
    for lower, source in fallbacks:
        for key, value in lower.items():
            if key not in merged and value is not None:
                merged[key] = _parse(key, value, source)
                app_name_from = source if key == "app_name" else app_name_from
    return finish(cwd, merged, app_name_from)


def finish(cwd: Path, values: dict[str, Any], app_name_from: str | None = None) -> Settings:
    """Fill derived defaults. ``app_name_from``: where ``app_name`` came from when a fallback gave it (Chalice's
    config), for the line saying where the names come from."""
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
    values["names_from"] = _default_names(values, project_dir, app_name_from)
    _check_names(values)
    return Settings(project_dir=project_dir, output_dir=cwd, **values)


def _default_names(values: dict[str, Any], project_dir: Path, app_name_from: str | None) -> str:
    """Fill ``app_name`` (Chalice's, else ``[project] name``, else the folder's) and ``layer_name``
    (``<app_name>-deps``) when not set; return the line saying where they came from ("" when both were set)."""
    if app_name_from is not None:
        origin = f"Chalice's app_name, {app_name_from}"
    elif "app_name" in values:
        origin = "the app_name setting" if "layer_name" not in values else ""
    elif (name := project_name(project_dir)) is not None:
        values["app_name"], origin = _safe_name(name), "[project] name in pyproject.toml"
    else:
        values["app_name"], origin = _safe_name(project_dir.name), "the folder's name: no [project] name, no app_name"
    values.setdefault("layer_name", f"{values['app_name'][:130]}-deps")
    return origin and f"names: app {values['app_name']}, layers {values['layer_name']}-N (from {origin})"


def _check_names(values: Mapping[str, Any]) -> None:
    """Names and ARNs as Lambda takes them, checked when the settings are loaded (lambda_values.py)."""
    for key, problem in loaded_problems(values):
        raise SettingsError(f"1 setting AWS would refuse: {key}\n  {key}: {problem}")  # as deploy's preflight



def _safe_name(name: str) -> str:
    """A Lambda layer name may hold letters, digits, '-' and '_'."""
    cleaned = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name).strip("-")
    return cleaned or "app"
