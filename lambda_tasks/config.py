"""Settings: one frozen dataclass, loaded from pyproject.toml, Invoke's config and task flags.

Each setting is declared once, with :func:`setting`: its default, the kind of value it takes (which parses and
checks it) and which artifacts it affects. Adding a setting is adding one field here.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import limits
from .errors import SettingsError
from .kinds import (
    Kind,
    arch,
    boolean,
    choice,
    extra_layer_arns,
    layer_numbers,
    runtime,
    text,
    texts,
    variables,
    whole,
)
from .targets import ARCHITECTURES, RUNTIMES, Target, check_runtime, default_runtime

PYPROJECT_TABLE = "lambda-tasks"


class Affects(enum.Flag):
    """Which artifacts a setting shapes: a change makes those stale. ``DEPLOY`` settings make nothing stale."""

    DEPLOY = 0
    APP = enum.auto()
    LAYERS = enum.auto()
    BOTH = APP | LAYERS


def setting(default: Any, kind: Kind, affects: Affects, *, optional: bool = False) -> Any:
    """Declare a setting: its default, its kind, what it affects, and whether ``None`` is a value."""
    metadata = {"kind": kind, "affects": affects, "optional": optional}
    if isinstance(default, (dict, list)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


#: The configuration a function takes, each either set per function (``FunctionSpec``) or for all (the setting of
#: the same name). ``None`` on a FunctionSpec means "the setting's value".
PER_FUNCTION = ("handler", "memory", "timeout", "environment", "role", "tags", "layers", "subnet_ids",
                "security_group_ids", "reserved_concurrency", "xray", "ephemeral_storage")


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function made from the app zip and the layers.

    ``short_name`` is how a user may pick it (``verify --function``), for Chalice the name given in app.py;
    ``not_deployed`` lists what belongs to it in its framework that deploy does not create (an API Gateway,
    an event source), one line each.
    """

    name: str
    handler: str | None = None  # None: the ``handler`` setting
    memory: int | None = None
    timeout: int | None = None
    environment: Mapping[str, str] | None = None
    role: str | None = None
    tags: Mapping[str, str] | None = None
    layers: tuple[str, ...] | None = None  # layer ARNs added after the built ones, before ``extra_layers``
    subnet_ids: tuple[str, ...] | None = None
    security_group_ids: tuple[str, ...] | None = None
    reserved_concurrency: int | None = None
    xray: bool | None = None
    ephemeral_storage: int | None = None  # MB of /tmp
    function_url: bool | None = None  # None: the ``function_url`` setting
    regions: tuple[str, ...] | None = None  # None: the ``regions`` setting
    short_name: str | None = None
    not_deployed: tuple[str, ...] = ()


def function_specs(value: Any, where: str) -> tuple[FunctionSpec, ...]:
    if not isinstance(value, (list, tuple)):
        raise SettingsError(f"{where} must be a list of tables, not {value!r}")
    if all(isinstance(item, FunctionSpec) for item in value):
        return tuple(value)
    known = {f.name for f in dataclasses.fields(FunctionSpec)} - {"not_deployed"}
    specs = []
    for item in value:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise SettingsError(f"{where}: each function needs at least name = \"...\" (got {item!r})")
        unknown = sorted(set(item) - known)
        if unknown:
            raise SettingsError(f"{where}: unknown function key {unknown[0]!r}; known: {', '.join(sorted(known))}")
        values: dict[str, Any] = {
            k: dict(v) if isinstance(v, Mapping) else tuple(v) if isinstance(v, list) else v for k, v in item.items()
        }
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
    installer: str = setting("auto", choice("auto", "pip", "uv"), L)  # auto: resolve/installer.py
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
    # -- container images (package_type = "image"; README "Container images")
    package_type: str = setting("zip", choice("zip", "image"), B)
    image_dir: str = setting("dist/image", text, B)
    image_base: str | None = setting(None, text, B, optional=True)  # None: AWS's base image for the runtime
    image_layer_bytes: int = setting(128 * limits.MB, whole(1), L)  # a dependency layer's uncompressed budget
    image_limit: int = setting(limits.IMAGE_BYTES, whole(1), B)
    image_gzip: str = setting("stream", choice("stream", "members"), B)  # how layers are gzipped (assemble/tar.py)
    image_repository: str | None = setting(None, text, D, optional=True)
    # Lambda's ImageConfig overrides of the image's ENTRYPOINT and WORKDIR (the command is the handler)
    image_entry_point: tuple[str, ...] = setting((), texts, D)
    image_working_directory: str | None = setting(None, text, D, optional=True)
    # -- publishing and deploying
    s3_bucket: str | None = setting(None, text, B, optional=True)
    s3_prefix: str = setting("lambda-tasks/", text, D)
    cache_bucket: str | None = setting(None, text, D, optional=True)  # the build cache runners share
    cache_prefix: str = setting("lambda-tasks/cache/", text, D)
    cache_required: bool = setting(False, boolean, D)  # layers come from the shared cache or the build fails
    max_parallel: int = setting(8, whole(1, 64), D)  # functions x regions deployed at once
    regions: tuple[str, ...] = setting((), texts, D)
    function_name: str | None = setting(None, text, D, optional=True)
    role: str | None = setting(None, text, D, optional=True)
    handler: str = setting("app.handler", text, D)
    memory: int = setting(128, whole(0), D)
    timeout: int = setting(60, whole(0), D)
    environment: Mapping[str, str] = setting({}, variables, D)
    tags: Mapping[str, str] = setting({}, variables, D)
    subnet_ids: tuple[str, ...] = setting((), texts, D)
    security_group_ids: tuple[str, ...] = setting((), texts, D)
    reserved_concurrency: int | None = setting(None, whole(0), D, optional=True)
    xray: bool = setting(False, boolean, D)
    ephemeral_storage: int | None = setting(None, whole(512, 10240), D, optional=True)
    manage_iam_role: bool = setting(True, boolean, D)  # no role given: deploy creates <app_name>-<stage>
    functions: tuple[FunctionSpec, ...] = setting((), function_specs, D)
    # -- Chalice (.chalice/config.json and app.py are read when app.py imports chalice)
    stage: str = setting("dev", text, D)
    chalice_version: str | None = setting(None, text, A, optional=True)
    app_name: str = setting("", text, D)  # default: Chalice's app_name, else the project directory's name
    # -- a function URL (an HTTPS endpoint of the function itself: any ASGI/WSGI app behind Mangum and the like)
    function_url: bool = setting(False, boolean, D)
    function_url_auth: str = setting("NONE", choice("NONE", "AWS_IAM"), D)  # NONE: public, anyone may call it
    function_url_invoke_mode: str = setting("BUFFERED", choice("BUFFERED", "RESPONSE_STREAM"), D)
    function_url_cors_origins: tuple[str, ...] = setting((), texts, D)  # none: no CORS headers from the URL
    # -- the REST API of an app with routes (config.json's keys of the same names)
    api_gateway_stage: str = setting("api", text, D)
    api_gateway_endpoint_type: str = setting("EDGE", choice("EDGE", "REGIONAL", "PRIVATE"), D)
    minimum_compression_size: int | None = setting(None, whole(0, 10485760), D, optional=True)
    publish_version: bool = setting(False, boolean, D)
    alias: str | None = setting(None, text, D, optional=True)
    # -- the cache (~/.cache/lambda-tasks): builds and `invoke clean --cache` prune it to this size
    cache_max_bytes: int = setting(5 * 1024**3, whole(0), D)

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
    def image_path(self) -> Path:
        return self.output_dir / self.image_dir

    @property
    def image_base_reference(self) -> str:
        """``image_base``, else AWS's Lambda base image for the runtime in Amazon ECR Public."""
        return self.image_base or f"public.ecr.aws/lambda/python:{self.runtime.removeprefix('python')}"

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
    for lower, source in fallbacks:
        for key, value in lower.items():
            if key not in merged and value is not None:
                merged[key] = _parse(key, value, source)
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
    values.setdefault("app_name", _safe_name(project_dir.name))
    return Settings(project_dir=project_dir, output_dir=cwd, **values)


def _safe_name(name: str) -> str:
    """A Lambda layer name may hold letters, digits, '-' and '_'."""
    cleaned = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name).strip("-")
    return cleaned or "app"
