"""The Invoke tasks. A project's own tasks.py is one line: ``from lambda_tasks.tasks import ns``.

Tasks stay thin: flags -> Settings -> the library -> printed summary. A ``LambdaTasksError`` becomes a
one-line ``error: ...`` on stderr and exit code 1; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from invoke import Collection, task
from invoke.exceptions import Exit

from .config import Settings, setting_names

COMMON_HELP = {
    "project-dir": "the app's directory (app.py, chalicelib/, requirements.txt, vendor/); default: settings, or '.'",
    "runtime": "Lambda runtime: python3.10 .. python3.14 (default: this interpreter's version)",
    "arch": "Lambda architecture: x86_64 (default) or arm64",
}


def settings_for(c: Any, **flags: Any) -> Settings:
    """Settings from the task's flags over Invoke's config (``lambda_tasks``) over pyproject.toml."""
    from .config import load_settings

    configured = c.config.get("lambda_tasks") or {}
    return load_settings(Path.cwd(), _plain(configured), flags)


def _plain(value: Any) -> Any:
    """Invoke's DataProxy -> plain dicts, so settings see ordinary values."""
    if hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    return value


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn our errors into one line and exit code 1, with no traceback."""
    from .errors import LambdaTasksError

    try:
        yield
    except LambdaTasksError as exc:
        raise Exit(f"error: {exc}", code=1) from None


@task(
    help={
        **COMMON_HELP,
        "force": "rebuild everything and resolve requirements again, even when nothing changed",
        "bytecode": "ship unchecked-hash .pyc files (needs the runtime's exact Python version on this host)",
        "quiet": "print only warnings and errors",
    }
)
def build(c, project_dir=None, runtime=None, arch=None, force=False, bytecode=False, quiet=False):
    """Build dist/app.zip and the dependency layer(s) under layers/, with layers/manifest.json.

    Does nothing when no input changed since the last build; rebuilds only the app zip when only app.py or
    chalicelib/ changed.
    """
    from .build import build as run_build
    from .report import Reporter

    with user_errors():
        settings = settings_for(c, project_dir=project_dir, runtime=runtime, arch=arch,
                                bytecode=True if bytecode else None)
        run_build(settings, force=force, reporter=Reporter(quiet=quiet))


@task(
    help={
        **COMMON_HELP,
        "event": "a JSON file: call the handler with it and print the result (default: only import and resolve it)",
    }
)
def verify(c, project_dir=None, runtime=None, arch=None, event=None):
    """Load the built function zip and layers as Lambda lays them out (/var/task, /opt) and import the handler.

    Runs a fresh isolated interpreter with Lambda's sys.path; with --event, calls the handler and prints its
    answer. Says what this host cannot check (compiled modules, when its Python or CPU differs from the target).
    """
    from .build import build as run_build
    from .report import Reporter
    from .verify import verify as run_verify

    with user_errors():
        settings = settings_for(c, project_dir=project_dir, runtime=runtime, arch=arch)
        run_build(settings, reporter=Reporter(quiet=True))  # verify what the sources make now, not a stale build
        run_verify(settings, Path(event) if event else None, Reporter())


AWS_HELP = {
    "region": "an AWS region to publish/deploy in; repeat for several (default: settings' regions, else AWS_REGION)",
    "s3-bucket": "upload zips through this S3 bucket (same region; may contain {region}); needed over 50 MiB",
    "plan": "print what would be published and updated, change nothing in AWS",
    "quiet": "print only warnings and errors",
}


def _aws_flags(region: list[str] | None, s3_bucket: str | None) -> dict[str, Any]:
    return {"regions": list(region) if region else None, "s3_bucket": s3_bucket}


@task(iterable=["region"], help={**COMMON_HELP, **AWS_HELP})
def publish_layer(c, project_dir=None, runtime=None, arch=None, region=None, s3_bucket=None, plan=False,
                  quiet=False):
    """Build if stale, then publish each dependency layer not yet published (found by content hash).

    The LayerVersionArns are recorded per region in layers/manifest.json ("published").
    """
    from .aws.deploy import run_publish
    from .report import Reporter

    with user_errors():
        settings = settings_for(c, project_dir=project_dir, runtime=runtime, arch=arch,
                                **_aws_flags(region, s3_bucket))
        run_publish(settings, plan=plan, reporter=Reporter(quiet=quiet))


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
    },
    auto_shortflags=False,
)
def deploy(c, function_name=None, role=None, handler=None, project_dir=None, runtime=None, arch=None, region=None,
           s3_bucket=None, memory=None, timeout=None, publish_version=False, alias=None, plan=False, quiet=False,
           no_verify=False):
    """publish-layer, then create the function(s) or update only what differs (code, configuration).

    Waits until each function is updated; retries conflicts and throttling. Nothing changed: no call is made.
    """
    from .aws.deploy import run_deploy
    from .report import Reporter

    with user_errors():
        settings = settings_for(c, project_dir=project_dir, runtime=runtime, arch=arch, function_name=function_name,
                                role=role, handler=handler, memory=memory, timeout=timeout, alias=alias,
                                publish_version=True if publish_version else None, **_aws_flags(region, s3_bucket))
        run_deploy(settings, plan=plan, reporter=Reporter(quiet=quiet), verify=not no_verify)


ns = Collection(build)
# Every setting is declared (as None: "not given") so that Invoke also reads INVOKE_LAMBDA_TASKS_<KEY> variables.
ns.configure({"lambda_tasks": dict.fromkeys(setting_names())})
ns.add_task(verify)
ns.add_task(publish_layer)
ns.add_task(deploy)
