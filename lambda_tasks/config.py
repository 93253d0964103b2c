"""Settings: one frozen dataclass, loaded from pyproject.toml, Invoke's config and task flags."""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from . import limits
from .errors import SettingsError
from .targets import Target, check_arch, check_runtime, default_runtime

PYPROJECT_TABLE = "lambda-tasks"


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function made from the app zip and the layers."""

    name: str
    handler: str | None = None  # None: the ``handler`` setting
    memory: int | None = None
    timeout: int | None = None
    environment: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Settings:
    """Everything a build, publish or deploy needs to know; paths are absolute."""

    # -- where things are
    project_dir: Path
    output_dir: Path  # where invoke runs: dist/ and layers/ are written below it
    requirements: str = "requirements.txt"
    vendor_dir: str = "vendor"
    app_zip: str = "dist/app.zip"
    layers_dir: str = "layers"
    # -- the target
    runtime: str = "python3.12"
    arch: str = "x86_64"
    # -- building
    layer_name: str = ""
    pip_args: tuple[str, ...] = ()
    installer: str = "pip"
    include: tuple[str, ...] = ()
    slim: bool = False
    strip_binaries: bool = False
    bytecode: bool = False
    bytecode_python: str | None = None
    exclude: tuple[str, ...] = ()
    exclude_runtime_provided: bool = False
    audit_allow: tuple[str, ...] = ()
    # -- limits (lowered in tests; raising them past Lambda's only defers the error to deploy time)
    layer_zip_limit: int = limits.INLINE_ZIP_BYTES
    unzipped_limit: int = limits.UNZIPPED_BYTES
    s3_layer_zip_limit: int = limits.UNZIPPED_BYTES
    # -- splitting
    max_layers: int | None = None
    extra_layers: tuple[str, ...] = ()
    extra_layers_bytes: int = 0
    layer_groups: Mapping[str, int] = field(default_factory=dict)
    # -- publishing and deploying
    s3_bucket: str | None = None
    s3_prefix: str = "lambda-tasks/"
    regions: tuple[str, ...] = ()
    function_name: str | None = None
    role: str | None = None
    handler: str = "app.handler"
    memory: int = 128
    timeout: int = 60
    environment: Mapping[str, str] = field(default_factory=dict)
    functions: tuple[FunctionSpec, ...] = ()
    publish_version: bool = False
    alias: str | None = None

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
        return self.project_dir / self.requirements

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
_PATH_KEYS = {"project_dir"}
_INTERNAL = {"output_dir"}


def setting_names() -> list[str]:
    """Every key users may set."""
    return sorted(set(_FIELDS) - _INTERNAL)


def _type_name(key: str) -> str:
    return str(_FIELDS[key].type)


def _coerce(key: str, value: Any, source: str) -> Any:
    """Check one value against its field's type; strings from the environment are parsed."""
    kind = _type_name(key)
    where = f"setting {key!r} (from {source})"
    if value is None and "None" in kind:
        return None
    if kind.startswith("bool"):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
            return value.lower() in {"1", "true", "yes", "on"}
        raise SettingsError(f"{where} must be true or false, not {value!r}")
    if kind.startswith("int"):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise SettingsError(f"{where} must be a whole number >= 0, not {value!r}")
        return value
    if kind.startswith("tuple[str"):
        if isinstance(value, str):
            value = value.split(",") if "," in value else value.split()
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise SettingsError(f"{where} must be a list of strings, not {value!r}")
        return tuple(v.strip() for v in value if v.strip())
    if kind.startswith("tuple[FunctionSpec"):
        return tuple(_function_spec(item, where) for item in _as_list(value, where))
    if kind.startswith("Mapping[str, int]"):
        if not isinstance(value, Mapping) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value.values()
        ):
            raise SettingsError(f"{where} must be a table of name = layer number (1, 2, ...), not {value!r}")
        return dict(value)
    if kind.startswith("Mapping[str, str]"):
        if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
            raise SettingsError(f"{where} must be a table of NAME = \"value\" strings, not {value!r}")
        return dict(value)
    if kind.startswith(("str", "Path")):
        if not isinstance(value, (str, os.PathLike)) or not str(value):
            raise SettingsError(f"{where} must be a non-empty string, not {value!r}")
        return str(value)
    raise AssertionError(f"no coercion for {key}: {kind}")  # a bug: a field without a rule


def _as_list(value: Any, where: str) -> list:
    if not isinstance(value, (list, tuple)):
        raise SettingsError(f"{where} must be a list of tables, not {value!r}")
    return list(value)


def _function_spec(item: Any, where: str) -> FunctionSpec:
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        raise SettingsError(f"{where}: each function needs at least name = \"...\" (got {item!r})")
    known = {f.name for f in dataclasses.fields(FunctionSpec)}
    unknown = sorted(set(item) - known)
    if unknown:
        raise SettingsError(f"{where}: unknown function key {unknown[0]!r}; known: {', '.join(sorted(known))}")
    return FunctionSpec(**{k: (dict(v) if isinstance(v, Mapping) else v) for k, v in item.items()})


def normalise_keys(raw: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Accept ``layer-name`` and ``layer_name`` alike; refuse keys we do not know."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in _FIELDS or name in _INTERNAL:
            known = ", ".join(sorted(set(_FIELDS) - _INTERNAL))
            raise SettingsError(f"unknown setting {key!r} in {source}; known settings: {known}")
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
        raise SettingsError(f"{path} is not valid TOML: {exc}") from None
    table = data.get("tool", {}).get(PYPROJECT_TABLE, {})
    if not isinstance(table, dict):
        raise SettingsError(f"[tool.{PYPROJECT_TABLE}] in {path} must be a table")
    return table


def load_settings(
    cwd: Path | None = None,
    invoke_config: Mapping[str, Any] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Settings:
    """Merge the sources, highest first: flags, Invoke's config, pyproject.toml, defaults.

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
            if value is None:
                continue
            merged[key] = _coerce(key, value, source)
    project_dir = (cwd / merged.get("project_dir", ".")).resolve()
    if project_dir != cwd and project_dir.is_dir():
        where = f"{project_dir / 'pyproject.toml'} [tool.{PYPROJECT_TABLE}]"
        for key, value in normalise_keys(read_pyproject(project_dir), where).items():
            if key != "project_dir" and key not in merged and value is not None:
                merged[key] = _coerce(key, value, where)
    return finish(cwd, merged)


def finish(cwd: Path, values: dict[str, Any]) -> Settings:
    """Fill derived defaults and check cross-field rules."""
    project_dir = (cwd / values.pop("project_dir", ".")).resolve()
    if not project_dir.is_dir():
        raise SettingsError(f"project directory {project_dir} does not exist; check --project-dir")
    runtime = values.get("runtime") or default_runtime()
    if runtime is None:
        raise SettingsError(
            f"python{sys.version_info[0]}.{sys.version_info[1]} is not a Lambda runtime; "
            "pass --runtime (python3.10 .. python3.14)"
        )
    values["runtime"] = check_runtime(runtime)
    values["arch"] = check_arch(values.get("arch", "x86_64"))
    values.setdefault("layer_name", f"{_safe_name(project_dir.name)}-deps")
    if values.get("installer", "pip") not in {"pip", "uv"}:
        raise SettingsError(f"setting 'installer' must be pip or uv, not {values['installer']!r}")
    max_layers = values.get("max_layers")
    if max_layers is not None and not 1 <= max_layers <= limits.MAX_LAYERS:
        raise SettingsError(f"setting 'max_layers' must be 1 to {limits.MAX_LAYERS}, not {max_layers}")
    if len(values.get("extra_layers", ())) >= limits.MAX_LAYERS:
        raise SettingsError(
            f"setting 'extra_layers' names {len(values['extra_layers'])} layers; a function takes at most "
            f"{limits.MAX_LAYERS} and the dependencies need at least one"
        )
    for key in ("layer_zip_limit", "unzipped_limit", "s3_layer_zip_limit"):
        if key in values and values[key] == 0:
            raise SettingsError(f"setting {key!r} must be greater than 0")
    return Settings(project_dir=project_dir, output_dir=cwd, **values)


def _safe_name(name: str) -> str:
    """A Lambda layer name may hold letters, digits, '-' and '_'."""
    cleaned = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name).strip("-")
    return cleaned or "app"
