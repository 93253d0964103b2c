"""The commands as every front end runs them (the Invoke tasks, the ``lambda-tasks`` console script, the Nox
sessions): parsed flag values -> Settings -> a command of ``commands.py`` -> its summary, or one short error and
an exit code.

A command is one function here under ``@command(<its flags>)`` (``flags.py``), its docstring its help; the
front ends are made from them (CONTRIBUTING.md, "How to add a command").
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, commands, framework
from .errors import INTERRUPTED, LambdaTasksError, SettingsError, file_system_error
from .flags import (
    ALIAS,
    ALL,
    BREAK_LOCK,
    BYTECODE,
    CACHE,
    COMMANDS,
    EVENT,
    FORCE,
    FORMAT,
    FUNCTION,
    FUNCTION_NAME,
    HANDLER,
    JSON,
    KEEP,
    KEEP_LAYERS,
    MAX_BYTES,
    MAX_PARALLEL,
    MEMORY,
    NO_VERIFY,
    NO_WAIT,
    OUT,
    OUTPUT,
    PASS_ENV,
    PLAN,
    PUBLISH_VERSION,
    QUIET,
    REGION,
    REPORT,
    REPOSITORY,
    ROLE,
    S3_BUCKET,
    STAGE,
    TARGET,
    TIMEOUT,
    UPLOAD,
    command,
)
from .flags import AWS as AWS_FLAGS
from .manifest import Manifest, load
from .report import Reporter

if TYPE_CHECKING:
    from .config import Settings
    from .deploy.functions import FunctionStep
    from .deploy.layer_publish import LayerStep, PublishResult



@dataclass(frozen=True)
class Run:
    """What a command's function gets: the settings (its flags over the other sources), its own options by flag
    key (``run.options["force"]``, the flag's default when not given) and the reporter for progress."""

    settings: Settings
    options: Mapping[str, Any]
    reporter: Reporter
    given: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # the settings flags gave

    @property
    def wait(self) -> bool:
        return not self.options.get("no_wait", False)


@dataclass(frozen=True)
class Outcome:
    """How a command ended: exit code 0, 1 (our error: ``message`` is it) or 130 (Ctrl-C)."""

    code: int = 0
    message: str = ""


def run(name: str, values: Mapping[str, Any], configured: Mapping[str, Any], cwd: Path | None = None) -> Outcome:
    """Run command ``name`` with its parsed flag ``values`` (by flag key) over Invoke's config (``configured``) and
    the project's settings. With ``--json`` the summary is printed on stdout and progress goes to stderr.

    Our errors and file-system errors become an Outcome with a short message; anything else is a bug and keeps
    its traceback."""
    # Invoke turns Python's bytecode cache off before it loads tasks.py (no tasks.pyc in the project) and leaves it
    # off, so every module a command imports later was compiled from source on every run (~50 ms of an app-only
    # build). A command imports only installed libraries (the app is parsed, never imported; verify runs it in a
    # child): the interpreter's own choice (-B, PYTHONDONTWRITEBYTECODE) holds while the command runs.
    invoke_choice, sys.dont_write_bytecode = sys.dont_write_bytecode, bool(sys.flags.dont_write_bytecode)
    try:
        return run_command(name, values, configured, cwd)
    finally:
        sys.dont_write_bytecode = invoke_choice


def run_command(name: str, values: Mapping[str, Any], configured: Mapping[str, Any], cwd: Path | None) -> Outcome:
    """``run`` with Python's bytecode cache as the interpreter was told."""
    declared = COMMANDS[name]
    flags, options = declared.split(values)
    as_json = bool(options.get("json"))
    try:
        settings = framework.project_settings(cwd or Path.cwd(), configured, flags, sticky=declared.sticky)
        reporter = Reporter(stream=sys.stderr if as_json else None, quiet=bool(options.get("quiet")))
        summary = declared.run(Run(settings, options, reporter, flags))
    except LambdaTasksError as exc:
        return Outcome(1, f"error: {exc}")
    except (OSError, UnicodeError) as exc:
        return Outcome(1, f"error: {file_system_error(exc)}")
    except KeyboardInterrupt:
        return Outcome(130, INTERRUPTED)
    if as_json:
        sys.stdout.write(json.dumps({"command": name, "lambda_tasks": __version__, **(summary or {})}, indent=2)
                         + "\n")
        sys.stdout.flush()
    return Outcome()


# ---------------------------------------------------------------- the commands, in the order help lists them


@command(*TARGET, FORCE, BYTECODE, REPORT, QUIET, JSON, NO_WAIT)
def build(run: Run) -> dict[str, Any]:
    """Build dist/app.zip and the dependency layer(s) under layers/, with layers/manifest.json.

    Does nothing when no input changed since the last build; rebuilds only the app zip when only app.py or
    chalicelib/ changed.
    """
    as_json = bool(run.options["json"])  # the summary is only printed with --json: the last manifest read for it
    before = load(run.settings.manifest_path, run.settings.output_dir) if as_json else None
    manifest = commands.build(run.settings, force=run.options["force"], reporter=run.reporter, wait=run.wait,
                              report=run.options["report"])
    return build_json(run.settings, manifest, before) if as_json else {}


@command(*TARGET, EVENT, FUNCTION, HANDLER.but(setting="", help="the handler to verify, module.attribute "
                                                                  "(instead of --function)"),
         STAGE.but(help="the Chalice stage whose environment variables the function gets (default: settings, "
                        "else dev)"), PASS_ENV, ALL, NO_WAIT, sticky=True)
def verify(run: Run) -> None:
    """Run the built handlers as Lambda does: the artifacts at /var/task and /opt, Lambda's runtime client.

    AWS's runtime interface client (awslambdaric) loads each handler against a local Runtime API, in a private
    mount namespace where the machine allows one, with Lambda's environment and only the function's configured
    variables (--pass-env adds one of yours), its timeout and memory size enforced; with --event, calls the
    handler and prints its answer (or Lambda's error document). Verifies the last build's target; says what
    this host cannot check (compiled modules, when its Python or CPU differs from the target).
    """
    event = run.options["event"]
    commands.verify(run.settings, event=Path(event) if event else None, reporter=run.reporter, wait=run.wait,
                    function=run.options["function"], handler=run.options["handler"],
                    pass_env=tuple(run.options["pass_env"]), all_functions=run.options["all"],
                    target_given="runtime" in run.given or "arch" in run.given)


@command(*TARGET, *AWS_FLAGS, QUIET, JSON, NO_WAIT, sticky=True)
def publish_layer(run: Run) -> dict[str, Any]:
    """Build if stale, then publish each dependency layer not yet published (found by content hash).

    The LayerVersionArns are recorded per region in layers/manifest.json ("published").
    """
    result = commands.publish(run.settings, plan=run.options["plan"], reporter=run.reporter, wait=run.wait)
    return {"plan": run.options["plan"], **publish_json(result)}


@command(FUNCTION_NAME, ROLE, HANDLER, *TARGET, *AWS_FLAGS, MEMORY, TIMEOUT, PUBLISH_VERSION, ALIAS, STAGE,
         MAX_PARALLEL, NO_VERIFY, BREAK_LOCK, QUIET, JSON, NO_WAIT, sticky=True)
def deploy(run: Run) -> dict[str, Any]:
    """publish-layer, then create the function(s) or update only what differs (code, configuration).

    Waits until each function is updated; retries conflicts and throttling. Nothing changed: no call is made.
    """
    result = commands.deploy(run.settings, plan=run.options["plan"], reporter=run.reporter,
                             verify=not run.options["no_verify"], wait=run.wait,
                             break_lock=run.options["break_lock"])
    functions = [function_json(step) for step in result.functions]
    wired = app_json(result.app)
    changed = result.changed or bool(result.app is not None and result.app.changed)
    if result.image is not None:  # a container image: no layers
        return {"plan": run.options["plan"], "changed": changed, "image": result.image.image_uri,
                "regions": result.layers.regions, "functions": functions, **wired}
    return {"plan": run.options["plan"], "changed": changed, **publish_json(result.layers),
            "functions": functions, **wired}


def app_json(app: Any) -> dict[str, Any]:
    """``urls``: the REST API's URL per region; ``rest_api``: its id and action; ``events``: each source wired;
    ``removed``: what the app no longer declares and the deploy took away; ``function_urls``: "name [region]" ->
    the function's URL; ``websocket_urls``: the websocket API's wss:// URL per region."""
    if app is None:
        return {"urls": {}, "rest_api": {}, "events": [], "removed": [], "function_urls": {}, "websocket_urls": {}}
    return {"urls": app.urls, "rest_api": {s.region: {"id": s.api_id, "action": s.action, "url": s.url}
                                           for s in app.apis},
            "events": [{"region": e.region, "kind": e.source.kind, "function": e.source.function,
                        "changed": e.changed} for e in app.events], "removed": app.removed,
            "function_urls": {f"{s.function} [{s.region}]": s.url for s in app.function_urls},
            "websocket_urls": {s.region: s.url for s in app.websockets if s.url}}


@command(*TARGET, REGION, PLAN.but(help="print what would be deleted, delete nothing"), STAGE, KEEP_LAYERS, QUIET,
         JSON)
def delete(run: Run) -> dict[str, Any]:
    """Delete what the deploys of a stage made: functions, REST API, event sources, the role, layer versions.

    From the deploy record (deployed/<stage>.json, written by deploy); in order, event sources first. --plan
    lists it first; --keep-layers leaves the layer versions.
    """
    result = commands.delete(run.settings, plan=run.options["plan"], keep_layers=run.options["keep_layers"],
                             reporter=run.reporter)
    return {"plan": run.options["plan"], "removed": result.removed}


@command(*TARGET, REPOSITORY, PLAN.but(help="print which blobs would be pushed, push nothing"), QUIET, JSON,
         NO_WAIT, sticky=True)
def publish_image(run: Run) -> dict[str, Any]:
    """Build the container image if stale (package_type = "image"), then push what the registry lacks.

    Blobs the registry has are skipped; the manifest is pushed by digest and tagged with its content hash.
    ECR credentials come from boto3 (ecr:GetAuthorizationToken).
    """
    result = commands.publish_image(run.settings, plan=run.options["plan"], reporter=run.reporter, wait=run.wait)
    return {"plan": run.options["plan"], "changed": result.changed, "image": result.image_uri,
            "uploaded": result.uploaded, "uploaded_bytes": result.uploaded_bytes, "mounted": result.mounted,
            "present": result.present}


@command(*TARGET, QUIET, JSON, NO_WAIT, sticky=True)
def report(run: Run) -> dict[str, Any]:
    """Write layers/report.html for the last build and print what is big and why it is there.

    For each distribution: its version, sizes (zipped and unzipped), the chain that pulled it in and what
    slimming would save (estimates); then the change since the previous build. The page is a treemap of the
    bytes (layer -> distribution -> top-level directory -> largest files), each zip against its limits, and a
    table. One self-contained file (nothing fetched); read from the built zips and layers/pylock.toml, nothing
    is rebuilt or resolved.
    """
    result = commands.report(run.settings, reporter=run.reporter, wait=run.wait)
    return {"report": result.path.relative_to(run.settings.output_dir).as_posix(), **result.data}


@command(*TARGET, CACHE, KEEP, MAX_BYTES, PLAN.but(help="print what would be removed, remove nothing"), QUIET,
         NO_WAIT)
def clean(run: Run) -> None:
    """Remove what the last build wrote (the zips its manifest names, the manifest, report.html), nothing else.

    With --cache, prune lambda-tasks' cache to what recent builds used; says what was removed and how much.
    """
    keep = run.options["keep"]
    if keep is not None and keep < 0:
        raise SettingsError(f"--keep takes a whole number of builds, 0 or more, not {keep}")
    commands.clean(run.settings, cache=run.options["cache"], keep=keep, plan=run.options["plan"],
                   reporter=run.reporter, wait=run.wait)


@command(FORMAT, OUT, UPLOAD, *TARGET, REGION.but(help="with --upload: a region to upload to; repeat for several "
                                                       "(default: settings' regions, else AWS_REGION)"),
         S3_BUCKET.but(help="the S3 bucket the template reads the zips from (may contain {region}); default: "
                            "s3_bucket"), STAGE, QUIET, NO_WAIT, sticky=True)
def package(run: Run) -> None:
    """Build if stale, then write a CloudFormation, SAM or Terraform template for the layers and functions.

    The zips are named by content in S3 (<s3_prefix><sha256>.zip, as publish-layer uploads them); --upload puts
    them there. Each function (a Chalice app's several) is a resource with its handler, memory, timeout,
    environment, role, tags, layers, VPC, concurrency, X-Ray and /tmp size.
    """
    out = run.options["out"]
    commands.package(run.settings, fmt=run.options["format"] or "cloudformation", out=Path(out) if out else None,
                     upload=run.options["upload"], reporter=run.reporter, wait=run.wait)


@command(*TARGET, OUTPUT, QUIET)
def lock(run: Run) -> None:
    """Write pylock.toml for the target from requirements.txt or pyproject.toml (resolved by uv for it).

    Commit it so the team builds what Lambda will get; builds read it when it is the dependency source
    (requirements = "pylock.toml", or found first in the search). It names its target: a build for
    another runtime or architecture refuses it.
    """
    commands.lock(run.settings, output=run.options["output"] or "pylock.toml", reporter=run.reporter)


# ---------------------------------------------------------------- --json summaries (README: "--json")


def build_json(settings: Settings, manifest: Manifest, before: Manifest | None) -> dict[str, Any]:
    """The artifacts on disk; ``changed``: a zip differs from the previous build's (or there was none)."""
    def shas(m: Manifest) -> list[str]:
        return [m.app.sha256, *(layer.sha256 for layer in m.layers)]

    layers = [{"name": layer.name, "path": layer.path, "sha256": layer.sha256, "zip_bytes": layer.zip_bytes,
               "unzipped_bytes": layer.unzipped_bytes, "distributions": layer.distributions}
              for layer in manifest.layers]
    return {
        "runtime": manifest.runtime,
        "architecture": manifest.architecture,
        "changed": before is None or shas(before) != shas(manifest),
        "manifest": os.path.relpath(settings.manifest_path, settings.output_dir),
        "app": asdict(manifest.app),
        "layers": layers,
        "unzipped_bytes": manifest.app.unzipped_bytes + sum(layer.unzipped_bytes for layer in manifest.layers),
    }


def publish_json(result: PublishResult) -> dict[str, Any]:
    return {"regions": list(result.regions), "layers": [layer_json(step) for step in result.steps]}


def layer_json(step: LayerStep) -> dict[str, Any]:
    """``action``: keep (recorded and still there), reuse (same content found published), publish (planned
    with --plan: ``arn`` is then null)."""
    return {"name": step.record.name, "region": step.region, "action": step.action, "arn": step.arn,
            "sha256": step.record.sha256, "zip_bytes": step.record.zip_bytes, "via_s3": step.via_s3}


def function_json(step: FunctionStep) -> dict[str, Any]:
    """``action``: create, update or none; ``configuration``: the keys that differ."""
    return {"name": step.spec.name, "region": step.region, "action": step.action, "code": step.code,
            "configuration": list(step.config), "version": step.version, "version_action": step.version_action,
            "alias": step.alias_name, "alias_action": step.alias_action}
