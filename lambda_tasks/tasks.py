"""The Invoke tasks. A project's own tasks.py is one line: ``from lambda_tasks.tasks import ns``.

Tasks stay thin: flags -> Settings -> the library -> printed summary. A ``LambdaTasksError`` becomes a
one-line ``error: ...`` on stderr and exit code 1; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from . import commands
from .config import Settings, setting_names
from .kinds import whole
from .report import Reporter

COMMON_HELP = {
    "project-dir": "the app's directory (app.py, chalicelib/, requirements.txt, vendor/); default: settings, or '.'",
    "runtime": "Lambda runtime: python3.10 .. python3.14 (default: settings, else the last build's, else this Python)",
    "arch": "Lambda architecture: x86_64 (default) or arm64",
    "no-wait": "fail at once when another lambda-tasks command is using this output directory (default: wait)",
}


def settings_for(c: Any, *, sticky: bool = False, **flags: Any) -> Settings:
    """Settings from the task's flags over Invoke's config (``lambda_tasks``) over pyproject.toml.

    ``sticky``: the target of the existing build (its manifest) stands in for the host's default runtime and
    architecture, so ``verify``/``publish-layer``/``deploy`` act on what ``build --runtime/--arch`` made.
    """
    return commands.project_settings(Path.cwd(), _plain(c.config.get("lambda_tasks") or {}), flags, sticky=sticky)


def _plain(value: Any) -> Any:
    """Invoke's DataProxy -> plain dicts, so settings see ordinary values."""
    if hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    return value


@contextmanager
def user_errors() -> Iterator[None]:
    """Our errors and file-system errors become a short message and exit code 1, Ctrl-C exit code 130; no
    traceback. Anything else is a bug and keeps its traceback."""
    from .errors import LambdaTasksError, file_system_error

    try:
        yield
    except LambdaTasksError as exc:
        raise Exit(f"error: {exc}", code=1) from None
    except (OSError, UnicodeError) as exc:
        raise Exit(f"error: {file_system_error(exc)}", code=1) from None
    except KeyboardInterrupt:
        raise Exit("interrupted: nothing half-written was kept (zips and the manifest are replaced whole); "
                   "run the command again to finish", code=130) from None


@task(
    help={
        **COMMON_HELP,
        "force": "rebuild everything and resolve requirements again, even when nothing changed",
        "bytecode": "ship unchecked-hash .pyc files (needs the runtime's exact Python version on this host)",
        "quiet": "print only warnings and errors",
        "report": "also write layers/report.html, a treemap of what takes the space (as `invoke report`)",
    }
)
def build(c: Context, project_dir: str | None = None, runtime: str | None = None, arch: str | None = None,
          force: bool = False, bytecode: bool = False, quiet: bool = False, no_wait: bool = False,
          report: bool = False) -> None:
    """Build dist/app.zip and the dependency layer(s) under layers/, with layers/manifest.json.

    Does nothing when no input changed since the last build; rebuilds only the app zip when only app.py or
    chalicelib/ changed.
    """
    with user_errors():
        settings = settings_for(c, project_dir=project_dir, runtime=runtime, arch=arch,
                                bytecode=True if bytecode else None)
        commands.build(settings, force=force, reporter=Reporter(quiet=quiet), wait=not no_wait, report=report)


@task(
    help={
        **COMMON_HELP,
        "event": "a JSON file: call the handler with it and print the result (default: only import and resolve it)",
        "function": "the function to verify: its deployed name or short name (Chalice: crunch for "
                    "@app.lambda_function(name='crunch')); default: every function, the first called with --event",
        "handler": "the handler to verify, module.attribute (instead of --function)",
        "stage": "the Chalice stage whose environment variables the function gets (default: settings, else dev)",
    }
)
def verify(c: Context, project_dir: str | None = None, runtime: str | None = None, arch: str | None = None,
           event: str | None = None, function: str | None = None, handler: str | None = None,
           stage: str | None = None, no_wait: bool = False) -> None:
    """Load the built function zip and layers as Lambda lays them out (/var/task, /opt) and import the handlers.

    Runs a fresh isolated interpreter with Lambda's sys.path and the function's environment variables; with
    --event, calls the handler and prints its answer. Says what this host cannot check (compiled modules, when
    its Python or CPU differs from the target).
    """
    with user_errors():
        settings = settings_for(c, sticky=True, project_dir=project_dir, runtime=runtime, arch=arch, stage=stage)
        commands.verify(settings, event=Path(event) if event else None, wait=not no_wait, function=function,
                        handler=handler)


AWS_HELP = {
    "region": "an AWS region to publish/deploy in; repeat for several (default: settings' regions, else AWS_REGION)",
    "s3-bucket": "upload zips through this S3 bucket (same region; may contain {region}); needed over 50 MiB",
    "plan": "print what would be published and updated, change nothing in AWS",
    "quiet": "print only warnings and errors",
}


def _aws_flags(region: list[str] | None, s3_bucket: str | None) -> dict[str, Any]:
    return {"regions": list(region) if region else None, "s3_bucket": s3_bucket}


@task(iterable=["region"], help={**COMMON_HELP, **AWS_HELP})
def publish_layer(c: Context, project_dir: str | None = None, runtime: str | None = None, arch: str | None = None,
                  region: list[str] | None = None, s3_bucket: str | None = None, plan: bool = False,
                  quiet: bool = False, no_wait: bool = False) -> None:
    """Build if stale, then publish each dependency layer not yet published (found by content hash).

    The LayerVersionArns are recorded per region in layers/manifest.json ("published").
    """
    with user_errors():
        settings = settings_for(c, sticky=True, project_dir=project_dir, runtime=runtime, arch=arch,
                                **_aws_flags(region, s3_bucket))
        commands.publish(settings, plan=plan, reporter=Reporter(quiet=quiet), wait=not no_wait)


@task(
    iterable=["region"],
    help={
        **COMMON_HELP,
        **AWS_HELP,
        "function-name": "the Lambda function to create or update (or set function_name / functions)",
        "role": "IAM role ARN for a new function (required to create one)",
        "handler": "the handler, module.function (default: app.handler)",
        "memory": "memory size in MB (default: 128)",
        "timeout": "timeout in seconds (default: 60)",
        "publish-version": "publish a function version after updating (reused when nothing changed)",
        "alias": "point this alias at the published version (implies --publish-version)",
        "no-verify": "skip the Lambda-like import check of the handler before deploying",
        "stage": "the Chalice stage to deploy: names the functions and picks .chalice/config.json's values "
                 "(default: settings, else dev)",
    },
    auto_shortflags=False,
)
def deploy(c: Context, function_name: str | None = None, role: str | None = None, handler: str | None = None,
           project_dir: str | None = None, runtime: str | None = None, arch: str | None = None,
           region: list[str] | None = None, s3_bucket: str | None = None, memory: int | None = None,
           timeout: int | None = None, publish_version: bool = False, alias: str | None = None, plan: bool = False,
           quiet: bool = False, no_verify: bool = False, stage: str | None = None, no_wait: bool = False) -> None:
    """publish-layer, then create the function(s) or update only what differs (code, configuration).

    Waits until each function is updated; retries conflicts and throttling. Nothing changed: no call is made.
    """
    with user_errors():
        settings = settings_for(c, sticky=True, project_dir=project_dir, runtime=runtime, arch=arch,
                                function_name=function_name, stage=stage,
                                role=role, handler=handler, memory=memory, timeout=timeout, alias=alias,
                                publish_version=True if publish_version else None, **_aws_flags(region, s3_bucket))
        commands.deploy(settings, plan=plan, reporter=Reporter(quiet=quiet), verify=not no_verify,
                        wait=not no_wait)


@task(
    help={
        **{key: text for key, text in COMMON_HELP.items() if key != "no-wait"},
        "output": "the file to write, pylock.toml or pylock.<name>.toml (default: pylock.toml)",
        "quiet": "print only warnings and errors",
    }
)
def lock(c: Context, project_dir: str | None = None, runtime: str | None = None, arch: str | None = None,
         output: str = "pylock.toml", quiet: bool = False) -> None:
    """Write pylock.toml for the target from requirements.txt or pyproject.toml (resolved by uv for it).

    Commit it so the team builds what Lambda will get; builds read it when it is the dependency source
    (requirements = "pylock.toml", or found first in the search). It names its target: a build for
    another runtime or architecture refuses it.
    """
    with user_errors():
        settings = settings_for(c, project_dir=project_dir, runtime=runtime, arch=arch)
        commands.lock(settings, output=output, reporter=Reporter(quiet=quiet))


@task(name="report", help={**COMMON_HELP, "quiet": "print only warnings and errors"})
def report_(c: Context, project_dir: str | None = None, runtime: str | None = None, arch: str | None = None,
            quiet: bool = False, no_wait: bool = False) -> None:
    """Write layers/report.html for the last build: a treemap of the bytes (zipped and unzipped), layer ->
    distribution -> top-level directory -> largest files, each zip against its limits, and a table.

    One self-contained file (nothing fetched); read from the built zips, nothing is rebuilt.
    """
    with user_errors():
        settings = settings_for(c, sticky=True, project_dir=project_dir, runtime=runtime, arch=arch)
        commands.report(settings, reporter=Reporter(quiet=quiet), wait=not no_wait)


@task(
    help={
        **COMMON_HELP,
        "cache": "prune lambda-tasks' cache (~/.cache/lambda-tasks) instead: to cache_max_bytes, or with --keep",
        "keep": "with --cache: keep only what the last N builds used (wheels, resolutions)",
        "max-bytes": "with --cache: the size to prune the cache to (default: cache_max_bytes, 5 GiB)",
        "plan": "print what would be removed, remove nothing",
        "quiet": "print only warnings and errors",
    }
)
def clean(c: Context, project_dir: str | None = None, runtime: str | None = None, arch: str | None = None,
          cache: bool = False, keep: int | None = None, max_bytes: int | None = None, plan: bool = False,
          quiet: bool = False, no_wait: bool = False) -> None:
    """Remove what the last build wrote (the zips its manifest names, the manifest, report.html), nothing else.

    With --cache, prune lambda-tasks' cache to what recent builds used; says what was removed and how much.
    """
    with user_errors():
        settings = settings_for(c, project_dir=project_dir, runtime=runtime, arch=arch, cache_max_bytes=max_bytes)
        builds = None if keep is None else whole(0)(keep, "--keep")
        commands.clean(settings, cache=cache, keep=builds, plan=plan, reporter=Reporter(quiet=quiet),
                       wait=not no_wait)


@task(
    iterable=["region"],
    help={
        **COMMON_HELP,
        "format": "cloudformation, sam or terraform (a *.tf.json file)",
        "out": "the directory to write the template to (default: the layers directory)",
        "upload": "upload the zips to s3_bucket at the keys the template names (by content hash)",
        "region": "with --upload: a region to upload to; repeat for several (default: settings' regions, else "
                  "AWS_REGION)",
        "s3-bucket": "the S3 bucket the template reads the zips from (may contain {region}); default: s3_bucket",
        "stage": "the Chalice stage: names the functions and picks .chalice/config.json's values (default: dev)",
        "quiet": "print only warnings and errors",
    },
)
def package(c: Context, format: str = "cloudformation", out: str | None = None, upload: bool = False,
            project_dir: str | None = None, runtime: str | None = None, arch: str | None = None,
            region: list[str] | None = None, s3_bucket: str | None = None, stage: str | None = None,
            quiet: bool = False, no_wait: bool = False) -> None:
    """Build if stale, then write a CloudFormation, SAM or Terraform template for the layers and functions.

    The zips are named by content in S3 (<s3_prefix><sha256>.zip, as publish-layer uploads them); --upload puts
    them there. Each function (a Chalice app's several) is a resource with its handler, memory, timeout,
    environment, role, tags, layers, VPC, concurrency, X-Ray and /tmp size.
    """
    with user_errors():
        settings = settings_for(c, sticky=True, project_dir=project_dir, runtime=runtime, arch=arch, stage=stage,
                                **_aws_flags(region, s3_bucket))
        commands.package(settings, fmt=format, out=Path(out) if out else None, upload=upload,
                         reporter=Reporter(quiet=quiet), wait=not no_wait)


ns = Collection(build)
# Every setting is declared (as None: "not given") so that Invoke also reads INVOKE_LAMBDA_TASKS_<KEY> variables.
ns.configure({"lambda_tasks": dict.fromkeys(setting_names())})
ns.add_task(verify)
ns.add_task(publish_layer)
ns.add_task(deploy)
ns.add_task(lock)
ns.add_task(report_)
ns.add_task(clean)
ns.add_task(package)
