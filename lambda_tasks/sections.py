"""The settings, declared once each, in the sections the stages take.

Each setting is declared with :func:`setting`: its default, the kind of value it takes (which parses and checks
it), which artifacts it affects and one line of help (the generated reference). A stage takes the section it
needs (``settings.layers``, ``settings.deploy``, ...), never the whole :class:`~lambda_tasks.config.Settings`;
a section is a frozen copy of its fields, so a stage cannot read what it was not given. Sections that share
facts (where the project is, the target, the zip limits) inherit them from one small base, declared once.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import limits
from .function_spec import FunctionSpec, function_specs
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
from .targets import Target


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
class Where:
    """Where the project is, where the command runs (artifacts are written below it) and where the build's manifest
    is; absolute paths."""

    project_dir: Path = setting(Path("."), text, B, help="the app's directory (app.py, chalicelib/, the "
                                "dependency source, vendor/), relative to where the command runs")
    output_dir: Path = setting(Path("."), text, D)  # where invoke runs: dist/ and layers/ are written below it
    # here, not in LayerSettings: every stage that reads or writes the build's manifest finds it through this
    layers_dir: str = setting("layers", inside, L, help="where the layer zips and manifest.json go, relative to "
                              "where the command runs")

    @property
    def layers_path(self) -> Path:
        return self.output_dir / self.layers_dir

    @property
    def manifest_path(self) -> Path:
        return self.layers_path / "manifest.json"


@dataclass(frozen=True)
class TargetSection:
    """The Lambda runtime and architecture everything is made for."""

    runtime: str = setting("python3.12", runtime, B, shown="the last build's, else this Python's",
                           help="the Lambda Python runtime: python3.10 .. python3.14")
    arch: str = setting("x86_64", arch, B, help="the Lambda architecture: x86_64 or arm64")

    @property
    def target(self) -> Target:
        return Target(self.runtime, self.arch)


@dataclass(frozen=True)
class Uploads(Where):
    """The S3 bucket that carries zips too big to upload inline."""

    s3_bucket: str | None = setting(None, text, B, optional=True, help="upload zips through this S3 bucket (in "
                                    "the function's region; may contain {region}); needed over 50 MiB")
    s3_prefix: str = setting("lambda-tasks/", text, D, help="the key prefix of the zips in s3_bucket")


@dataclass(frozen=True)
class Shipping(Uploads, TargetSection):
    """What every artifact obeys: files shipped despite the checks, bytecode, Lambda's size limits (lowered in
    tests; raising them past Lambda's only defers the error to deploy time)."""

    include: tuple[str, ...] = setting((), texts, B, help="globs of paths in the zips to ship although the secret "
                                       "check refuses them")
    audit_allow: tuple[str, ...] = setting((), texts, B, help="globs of ELF files to ship although the binary "
                                           "audit refuses them")
    bytecode: bool = setting(False, boolean, B, help="ship unchecked-hash .pyc files (needs the runtime's exact "
                             "Python version on this host)")
    bytecode_python: str | None = setting(None, text, B, optional=True, help="the interpreter that compiles the "
                                          "bytecode (and that verify runs); unset: found on PATH, pyenv, uv")
    layer_zip_limit: int = setting(limits.INLINE_ZIP_BYTES, whole(1), B, help="the largest zip uploaded inline, "
                                   "in bytes (Lambda's); lower it to test splitting")
    unzipped_limit: int = setting(limits.UNZIPPED_BYTES, whole(1), B, help="the function and its layers, "
                                  "unzipped, in bytes (Lambda's)")
    s3_layer_zip_limit: int = setting(limits.UNZIPPED_BYTES, whole(1), B, help="the largest layer zip when "
                                      "s3_bucket carries the uploads, in bytes")

    @property
    def layer_limit(self) -> int:
        """The zipped size one layer may have: inline unless an S3 bucket carries the uploads."""
        return self.s3_layer_zip_limit if self.s3_bucket else self.layer_zip_limit


@dataclass(frozen=True)
class SourceSettings(Where, TargetSection):
    """The project's sources: the dependency declaration or lock, vendor/, the app's code."""

    requirements: str | None = setting(None, text, L, optional=True, help="the dependency source, relative to "
                                       "the project: a requirements file, pyproject.toml, pylock.toml, uv.lock or "
                                       "poetry.lock; unset: the first of those found")  # sources/project.py
    extras: tuple[str, ...] = setting((), texts, L, help="optional-dependency extras to ship with the main "
                                      "dependencies")
    groups: tuple[str, ...] = setting((), texts, L, help="dependency groups to ship (PEP 735, uv's dev groups, "
                                      "Poetry groups); none ship unless named")
    vendor_dir: str = setting("vendor", inside, L, help="the directory whose contents go to the top of the layer, "
                              "relative to the project")
    app_paths: tuple[str, ...] = setting((), insides, A, help="files and packages shipped with app.py besides "
                                         "chalicelib/ (a FastAPI app's todo/), at the same paths")
    chalice_version: str | None = setting(None, text, A, optional=True, help="the chalice release whose runtime "
                                          "goes into the function zip; unset: the project's pin, else the newest")

    @property
    def requirements_path(self) -> Path:
        return self.project_dir / (self.requirements or "requirements.txt")

    @property
    def vendor_path(self) -> Path:
        return self.project_dir / self.vendor_dir


@dataclass(frozen=True)
class ResolveSettings(Where, TargetSection):
    """How the dependencies are resolved and fetched."""

    pip_args: tuple[str, ...] = setting((), texts, L, help="extra pip options for resolving and downloading "
                                        "(--index-url, --find-links, ...)")
    installer: str = setting("auto", choice("auto", "pip", "uv"), L, help="who resolves: auto (uv standing in "
                             "for pip, pip where uv cannot), pip or uv")  # auto: resolve/installer.py


@dataclass(frozen=True)
class AppSettings(Shipping):
    """The function zip: app.py, chalicelib/ and the app_paths."""

    app_zip: str = setting("dist/app.zip", inside, A, help="the function zip, relative to where the command runs")

    @property
    def app_zip_path(self) -> Path:
        return self.output_dir / self.app_zip


@dataclass(frozen=True)
class LayerSettings(Shipping):
    """The dependency layers: what goes in, how it is trimmed, how it is split."""

    layer_name: str = setting("", text, L, shown="<app_name>-deps", help="names the layers: <layer_name>-1 .. -N")
    slim: bool = setting(False, boolean, L, help="leave tests/, *.pyi, bin/ scripts and wheels' __pycache__ out "
                         "of the layers")
    strip_binaries: bool = setting(False, boolean, L, help="strip debug symbols from the ELF files in the layers")
    exclude: tuple[str, ...] = setting((), texts, L, help="distributions left out of the layers (a warning when "
                                       "the app imports them)")
    exclude_runtime_provided: bool = setting(False, boolean, L, help="leave out boto3, botocore, s3transfer and "
                                             "jmespath, which the runtime provides")
    max_layers: int | None = setting(None, whole(1, limits.MAX_LAYERS), L, optional=True, help="layers the "
                                     "dependencies may use; unset: 5 minus the extra_layers")
    extra_layers: tuple[str, ...] = setting((), extra_layer_arns, L, help="ARNs of other layers every function "
                                            "attaches after ours (an extension, ...); they take layer slots")
    extra_layers_bytes: int = setting(0, whole(0), L, help="the extra layers' unzipped size, reserved from "
                                      "Lambda's 250 MiB")
    layer_groups: Mapping[str, int] = setting({}, layer_numbers, L, help="distribution name = layer number: "
                                              "pins distributions to a layer")

    @property
    def layer_count_limit(self) -> int:
        if self.max_layers is not None:
            return self.max_layers
        return limits.MAX_LAYERS - len(self.extra_layers)


@dataclass(frozen=True)
class ImageSettings(Shipping):
    """Container images (package_type = "image"; docs/guides/container-images.md): how the image is made and where
    it is pushed (its command is the handler)."""

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

    @property
    def image_path(self) -> Path:
        return self.output_dir / self.image_dir

    @property
    def image_base_reference(self) -> str:
        """``image_base``, else AWS's Lambda base image for the runtime in Amazon ECR Public."""
        return self.image_base or f"public.ecr.aws/lambda/python:{self.runtime.removeprefix('python')}"


@dataclass(frozen=True)
class FunctionSettings(TargetSection):
    """The functions' configuration in Lambda: handler, memory, environment, URL, versions."""

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
    function_url: bool = setting(False, boolean, D, help="give each function an HTTPS URL of its own (Lambda "
                                 "function URL); per function in functions")
    function_url_auth: str = setting("NONE", choice("NONE", "AWS_IAM"), D, help="who may call the function "
                                     "URL: NONE (public) or AWS_IAM (signed requests)")
    function_url_invoke_mode: str = setting("BUFFERED", choice("BUFFERED", "RESPONSE_STREAM"), D,
                                            help="BUFFERED, or RESPONSE_STREAM for streamed responses")
    function_url_cors_origins: tuple[str, ...] = setting((), texts, D, help="origins the function URL allows "
                                                         "(CORS); none: no CORS headers")
    # Lambda's ImageConfig overrides of the image's: function configuration, which the image does not hold
    image_entry_point: tuple[str, ...] = setting((), texts, D, help="Lambda's ImageConfig EntryPoint for every "
                                                 "image function, overriding the image's")
    image_working_directory: str | None = setting(None, text, D, optional=True, help="Lambda's ImageConfig "
                                                  "WorkingDirectory for every image function (an absolute path)")
    publish_version: bool = setting(False, boolean, D, help="publish a function version after updating")
    alias: str | None = setting(None, text, D, optional=True, help="point this alias at the published version")

    def function_specs(self) -> tuple[FunctionSpec, ...]:
        """The functions to deploy: ``functions`` when set, else the one named ``function_name``."""
        if self.functions:
            return self.functions
        if self.function_name:
            return (FunctionSpec(self.function_name, self.handler),)
        return ()


@dataclass(frozen=True)
class DeploySettings(Uploads):
    """Publishing and deploying: where, the shared cache, the stage and its names, Chalice's REST API."""

    regions: tuple[str, ...] = setting((), texts, D, help="where to publish and deploy; unset: boto3's region "
                                       "(AWS_REGION)")
    max_parallel: int = setting(8, whole(1, 64), D, help="functions x regions deployed at once (1: one after "
                                "the other)")
    cache_bucket: str | None = setting(None, text, D, optional=True, help="an S3 bucket every runner shares as "
                                       "a build cache for the layers")
    cache_prefix: str = setting("lambda-tasks/cache/", text, D, help="where in cache_bucket the entries go")
    cache_required: bool = setting(False, boolean, D, help="the layers come from the shared cache or the build "
                                   "fails (for runners that must not resolve)")
    cache_max_bytes: int = setting(5 * 1024**3, whole(0), D, help="builds and clean --cache prune lambda-tasks' "
                                   "cache to this size, in bytes")
    stage: str = setting("dev", text, D, help="the Chalice stage: names the functions and picks "
                         ".chalice/config.json's values")
    app_name: str = setting("", text, D, shown="Chalice's app_name, else [project] name, else the folder's",
                            help="names the managed role (<app_name>-<stage>), Chalice's functions and the layers")
    api_gateway_stage: str = setting("api", text, D, help="the REST API's stage, the first part of its URL path")
    api_gateway_endpoint_type: str = setting("EDGE", choice("EDGE", "REGIONAL", "PRIVATE"), D,
                                             help="the REST API's endpoint type")
    minimum_compression_size: int | None = setting(None, whole(0, 10485760), D, optional=True,
                                                   help="bytes above which the REST API compresses answers")
