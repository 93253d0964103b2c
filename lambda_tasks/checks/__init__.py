"""The build-time checks and rewrites between collect and compress, in their order.

app:    guard (secret-looking files) -> bytecode -> audit
layers: runtime-provided pin warning -> slim -> bytecode -> audit -> strip
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Iterator, Sequence

from ..checks.audit import Memo, audit
from ..checks.guard import check_app_files
from ..config import Settings
from ..entries import Entry
from ..report import human_bytes
from ..targets import Target

# slim and bytecode are imported where a setting asks for them: an app-only rebuild stays near start-up time.

APP_ROOT = "/var/task"
LAYER_ROOT = "/opt"


def process_entries(entries: Sequence[Entry], settings: Settings, reporter, layer: bool) -> list[Entry]:
    """Check and rewrite the entries of the function zip (``layer=False``) or of the layers.

    Raises AppFileError, AuditError or BytecodeError (all LambdaTasksError) with one-line messages.
    """
    target = settings.target
    result = list(entries)
    if not layer:
        check_app_files(result, settings.include)
    else:
        if settings.exclude_runtime_provided:
            from ..checks.slim import drop_runtime_provided

            result, _ = drop_runtime_provided(result, settings.requirements_path, reporter)
        if settings.slim:
            from ..checks.slim import slim

            before = len(result)
            result, saved = slim(result, keep_pycache=settings.bytecode)
            reporter.info(f"slim: left out {before - len(result)} files Lambda never uses, {human_bytes(saved)} saved")
    if settings.bytecode:
        from ..checks.bytecode import compile_entries, find_interpreter, merge

        interpreter = find_interpreter(target, settings.bytecode_python)
        pycs = compile_entries(result, target, interpreter, LAYER_ROOT if layer else APP_ROOT, reporter)
        result = merge(result, pycs)
        reporter.info(f"bytecode: {len(pycs)} unchecked-hash .pyc files for {'the layers' if layer else 'the app'} "
                      f"({target.python_version[0]}.{target.python_version[1]}, {interpreter})")
    if layer:
        with audit_memo(target) as memo:
            verified = audit(result, target, settings.audit_allow, memo)
    else:
        verified = audit(result, target, settings.audit_allow)
    if layer and settings.strip_binaries:
        from ..checks.slim import strip_binaries

        result, _ = strip_binaries(result, verified, target, reporter)
    return result


@contextmanager
def audit_memo(target: Target) -> Iterator[Memo]:
    """The audit's verdicts on wheel members for ``target``, kept in lambda-tasks' cache between builds.

    Keyed by this version of lambda-tasks too: a newer audit looks at every file again.
    """
    from .. import __version__
    from ..manifest import write_atomic
    from ..resolve import cache_dir

    path = cache_dir() / "audit" / f"{target.runtime}-{target.arch}-{__version__}.json"
    try:
        memo: Memo = {key: (list(value[0]), bool(value[1])) for key, value in json.loads(path.read_text()).items()}
    except (OSError, ValueError, TypeError, IndexError, AttributeError):
        memo = {}
    before = len(memo)
    yield memo
    if len(memo) != before:
        write_atomic(path, json.dumps(memo, sort_keys=True).encode())
