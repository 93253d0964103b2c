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
    "project-dir": "the app's directory (app.py, chalicelib/, requirements.txt, vendor/); default: from settings or '.'",
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
    from .report import Reporter
    from .verify import verify as run_verify

    with user_errors():
        settings = settings_for(c, project_dir=project_dir, runtime=runtime, arch=arch)
        run_verify(settings, Path(event) if event else None, Reporter())


ns = Collection(build)
# Every setting is declared (as None: "not given") so that Invoke also reads INVOKE_LAMBDA_TASKS_<KEY> variables.
ns.configure({"lambda_tasks": dict.fromkeys(setting_names())})
ns.add_task(verify)
