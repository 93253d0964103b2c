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
from .function_spec import PER_FUNCTION, FunctionSpec, function_specs
from .kinds import (
    Kind,
    arch,
    boolean,
    choice,
    extra_layer_arns,
    inside,
    insides,
    layer_numbers,
    runtime,
    text,
    texts,
    variables,
    whole,
)
from .lambda_values import loaded_problems
from .pyproject_table import PYPROJECT_TABLE, project_name, read_pyproject
from .targets import ARCHITECTURES, RUNTIMES, Target, check_runtime, default_runtime

__all__ = ["PER_FUNCTION", "PYPROJECT_TABLE", "Affects", "FunctionSpec", "Settings", "load_settings", "read_pyproject",
           "setting"]


class Affects(enum.Flag):
    """Which artifacts a setting shapes: a change makes those stale. ``DEPLOY`` settings make nothing stale."""

    DEPLOY = 0
    APP = enum.auto()
    LAYERS = enum.auto()
    BOTH = APP | LAYERS


def setting(default: Any, kind: Kind, affects: Affects, *, optional: bool = False, help: str = "",
            shown: str = "") -> Any:
    """Declare a setting: its default, kind, what it affects, whether ``None`` is a value; for the generated
    reference, ``help`` (one line) and ``shown``, the default users see where ``finish`` derives it."""
    metadata = {"kind": kind, "affects": affects, "optional": optional, "help": help, "shown": shown}
    if isinstance(default, (dict, list)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


A, L, B, D = Affects.APP, Affects.LAYERS, Affects.BOTH, Affects.DEPLOY


@dataclass(frozen=True)
class Settings:
    """Everything a build, publish or deploy needs to know; paths are absolute."""

    # -- where things are
    project_dir: Path = setting(Path("."), text, B, help="the app's directory (app.py, chalicelib/, the "
                                "dependency source, vendor/), relative to where the command runs")
    output_dir: Path = setting(Path("."), text, D)  # where invoke runs: dist/ and layers/ are written below it
    requirements: str | None = setting(None, text, L, optional=True, help="the dependency source, relative to "
                                       "the project: a requirements file, pyproject.toml, pylock.toml, uv.lock or "
                                       "poetry.lock; unset: the first of those found")  # sources/project.py
    extras: tuple[str, ...] = setting((), texts, L, help="optional-dependency extras to ship with the main "
                                      "dependencies")
    groups: tuple[str, ...] = setting((), texts, L, help="dependency groups to ship (PEP 735, uv's dev groups, "
                                      "Poetry groups); none ship unless named")
    vendor_dir: str = setting("vendor", inside, L, help="the directory whose contents go to the top of the layer, "
                              "relative to the project")
    app_zip: str = setting("dist/app.zip", inside, A, help="the function zip, relative to where the command runs")
    layers_dir: str = setting("layers", inside, L, help="where the layer zips and manifest.json go, relative to "
                              "where the command runs")
    app_paths: tuple[str, ...] = setting((), insides, A, help="files and packages shipped with app.py besides "
                                         "chalicelib/ (a FastAPI app's todo/), at the same paths")
    # -- the target
    runtime: str = setting("python3.12", runtime, B, shown="the last build's, else this Python's",
                           help="the Lambda Python runtime: python3.10 .. python3.14")
    arch: str = setting("x86_64", arch, B, help="the Lambda architecture: x86_64 or arm64")
    # -- building
    layer_name: str = setting("", text, L, shown="<app_name>-deps", help="names the layers: <layer_name>-1 .. -N")
    pip_args: tuple[str, ...] = setting((), texts, L, help="extra pip options for resolving and downloading "
                                        "(--index-url, --find-links, ...)")
    installer: str = setting("auto", choice("auto", "pip", "uv"), L, help="who resolves: auto (uv standing in "
                             "for pip, pip where uv cannot), pip or uv")  # auto: resolve/installer.py
    include: tuple[str, ...] = setting((), texts, B, help="globs of paths in the zips to ship although the secret "
                                       "check refuses them")
    slim: bool = setting(False, boolean, L, help="leave tests/, *.pyi, bin/ scripts and wheels' __pycache__ out "
                         "of the layers")
    strip_binaries: bool = setting(False, boolean, L, help="strip debug symbols from the ELF files in the layers")
    bytecode: bool = setting(False, boolean, B, help="ship unchecked-hash .pyc files (needs the runtime's exact "
                             "Python version on this host)")
    bytecode_python: str | None = setting(None, text, B, optional=True, help="the interpreter that compiles the "
                                          "bytecode (and that verify runs); unset: found on PATH, pyenv, uv")
    exclude: tuple[str, ...] = setting((), texts, L, help="distributions left out of the layers (a warning when "
                                       "the app imports them)")
    exclude_runtime_provided: bool = setting(False, boolean, L, help="leave out boto3, botocore, s3transfer and "
                                             "jmespath, which the runtime provides")
    audit_allow: tuple[str, ...] = setting((), texts, B, help="globs of ELF files to ship although the binary "
                                           "audit refuses them")
    # -- limits (lowered in tests; raising them past Lambda's only defers the error to deploy time)
    layer_zip_limit: int = setting(limits.INLINE_ZIP_BYTES, whole(1), B, help="the largest zip uploaded inline, "
                                   "in bytes (Lambda's); lower it to test splitting")
    unzipped_limit: int = setting(limits.UNZIPPED_BYTES, whole(1), B, help="the function and its layers, "
                                  "unzipped, in bytes (Lambda's)")
    s3_layer_zip_limit: int = setting(limits.UNZIPPED_BYTES, whole(1), B, help="the largest layer zip when "
                                      "s3_bucket carries the uploads, in bytes")
    # -- splitting
    max_layers: int | None = setting(None, whole(1, limits.MAX_LAYERS), L, optional=True, help="layers the "
                                     "dependencies may use; unset: 5 minus the extra_layers")
    extra_layers: tuple[str, ...] = setting((), extra_layer_arns, L, help="ARNs of other layers every function "
                                            "attaches after ours (an extension, ...); they take layer slots")
    extra_layers_bytes: int = setting(0, whole(0), L, help="the extra layers' unzipped size, reserved from "
                                      "Lambda's 250 MiB")
    layer_groups: Mapping[str, int] = setting({}, layer_numbers, L, help="distribution name = layer number: "
                                              "pins distributions to a layer")
    # -- container images (package_type = "image"; docs/guides/container-images.md)
    package_type: str = setting("zip", choice("zip", "image"), B, help="zip (a function zip and layers) or "
                                "image (an OCI container image)")
    image_dir: str = setting("dist/image", inside, B, help="the OCI image layout, relative to where the command "
                             "runs")
    image_base: str | None = setting(None, text, B, optional=True, help="the base image (a tag, or @sha256: to "
                                     "pin it); unset: AWS's Lambda base image for the runtime")
    image_layer_bytes: int = setting(128 * limits.MB, whole(1), L, help="a dependency layer's uncompressed "
                                     "budget in the image, in bytes")
    image_limit: int = setting(limits.IMAGE_BYTES, whole(1), B, help="the whole image, uncompressed, in bytes "
                               "(Lambda's 10 GB)")
    image_gzip: str = setting("stream", choice("stream", "members"), B, help="how image layers are gzipped: "
                              "stream (one gzip member) or members (one per reused file)")  # assemble/tar.py
    image_repository: str | None = setting(None, text, D, optional=True, help="where publish-image and deploy "
                                           "push the image: an ECR repository URI")
    # Lambda's ImageConfig overrides of the image's ENTRYPOINT and WORKDIR (the command is the handler)
    image_entry_point: tuple[str, ...] = setting((), texts, D, help="Lambda's ImageConfig EntryPoint for every "
                                                 "image function, overriding the image's")
    image_working_directory: str | None = setting(None, text, D, optional=True, help="Lambda's ImageConfig "
                                                  "WorkingDirectory for every image function (an absolute path)")
    # -- publishing and deploying
    s3_bucket: str | None = setting(None, text, B, optional=True, help="upload zips through this S3 bucket (in "
                                    "the function's region; may contain {region}); needed over 50 MiB")
    s3_prefix: str = setting("lambda-tasks/", text, D, help="the key prefix of the zips in s3_bucket")
    cache_bucket: str | None = setting(None, text, D, optional=True, help="an S3 bucket every runner shares as "
                                       "a build cache for the layers")
    cache_prefix: str = setting("lambda-tasks/cache/", text, D, help="where in cache_bucket the entries go")
    cache_required: bool = setting(False, boolean, D, help="the layers come from the shared cache or the build "
                                   "fails (for runners that must not resolve)")
    max_parallel: int = setting(8, whole(1, 64), D, help="functions x regions deployed at once (1: one after "
                                "the other)")
    regions: tuple[str, ...] = setting((), texts, D, help="where to publish and deploy; unset: boto3's region "
                                       "(AWS_REGION)")
    function_name: str | None = setting(None, text, D, optional=True, help="the one function to deploy (or "
                                        "set functions)")
    role: str | None = setting(None, text, D, optional=True, help="the IAM role ARN of every function; unset: "
                               "the role deploy creates (manage_iam_role)")
    handler: str = setting("app.handler", text, D, help="the handler, module.function")
    memory: int = setting(128, whole(0), D, help="memory in MB (128-10240), for every function without its own")
    timeout: int = setting(60, whole(0), D, help="timeout in seconds (1-900), for every function without its "
                           "own")
    environment: Mapping[str, str] = setting({}, variables, D, help="environment variables (NAME = \"value\"), "
                                             "for every function without its own")
    tags: Mapping[str, str] = setting({}, variables, D, help="the functions' tags, exactly (tags added by hand "
                                      "are removed)")
    subnet_ids: tuple[str, ...] = setting((), texts, D, help="run in a VPC: its subnets (with "
                                          "security_group_ids)")
    security_group_ids: tuple[str, ...] = setting((), texts, D, help="run in a VPC: its security groups (with "
                                                  "subnet_ids)")
    reserved_concurrency: int | None = setting(None, whole(0), D, optional=True, help="reserved concurrent "
                                               "executions (0 stops the function); unset: none reserved")
    xray: bool = setting(False, boolean, D, help="X-Ray tracing Active (else PassThrough)")
    ephemeral_storage: int | None = setting(None, whole(512, 10240), D, optional=True, help="MB of /tmp, "
                                            "512-10240; unset: Lambda's 512")
    manage_iam_role: bool = setting(True, boolean, D, help="without a role, create and reuse the role "
                                    "<app_name>-<stage>")  # as Chalice does
    functions: tuple[FunctionSpec, ...] = setting((), function_specs, D, help="several functions from one app "
                                                  "zip: a list of tables (name, handler, memory, ..., regions)")
    # -- Chalice (.chalice/config.json and app.py are read when app.py imports chalice)
    stage: str = setting("dev", text, D, help="the Chalice stage: names the functions and picks "
                         ".chalice/config.json's values")
    chalice_version: str | None = setting(None, text, A, optional=True, help="the chalice release whose runtime "
                                          "goes into the function zip; unset: the project's pin, else the newest")
    app_name: str = setting("", text, D, shown="Chalice's app_name, else [project] name, else the folder's",
                            help="names the managed role (<app_name>-<stage>), Chalice's functions and the layers")
    # -- a function URL (an HTTPS endpoint of the function itself: any ASGI/WSGI app behind Mangum and the like)
    function_url: bool = setting(False, boolean, D, help="give each function an HTTPS URL of its own (Lambda "
                                 "function URL); per function in functions")
    function_url_auth: str = setting("NONE", choice("NONE", "AWS_IAM"), D, help="who may call the function "
                                     "URL: NONE (public) or AWS_IAM (signed requests)")
    function_url_invoke_mode: str = setting("BUFFERED", choice("BUFFERED", "RESPONSE_STREAM"), D,
                                            help="BUFFERED, or RESPONSE_STREAM for streamed responses")
    function_url_cors_origins: tuple[str, ...] = setting((), texts, D, help="origins the function URL allows "
                                                         "(CORS); none: no CORS headers")
    # -- the REST API of an app with routes (config.json's keys of the same names)
    api_gateway_stage: str = setting("api", text, D, help="the REST API's stage, the first part of its URL path")
    api_gateway_endpoint_type: str = setting("EDGE", choice("EDGE", "REGIONAL", "PRIVATE"), D,
                                             help="the REST API's endpoint type")
    minimum_compression_size: int | None = setting(None, whole(0, 10485760), D, optional=True,
                                                   help="bytes above which the REST API compresses answers")
    publish_version: bool = setting(False, boolean, D, help="publish a function version after updating")
    alias: str | None = setting(None, text, D, optional=True, help="point this alias at the published version")
    # -- the cache (~/.cache/lambda-tasks): builds and `invoke clean --cache` prune it to this size
    cache_max_bytes: int = setting(5 * 1024**3, whole(0), D, help="builds and clean --cache prune lambda-tasks' "
                                   "cache to this size, in bytes")
    names_from: str = setting("", text, D)  # derived: where defaulted names came from (the build says it)

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
