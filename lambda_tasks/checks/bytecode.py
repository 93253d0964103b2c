"""Bytecode: ``__pycache__/*.pyc`` compiled by the runtime's exact Python version, unchecked-hash (PEP 552).

Lambda's /var/task and /opt are read-only, so Python cannot cache bytecode there and compiles every
module again on every cold start. Timestamp-based pycs never validate against fixed zip timestamps;
unchecked-hash pycs are used as they are.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..deadlines import capture
from ..entries import APP_UNIT, FILE_MODE, BytesSource, Entry
from ..errors import BytecodeError
from ..report import Reporter
from ..targets import Target

#: Runs in the target interpreter: compile each listed source, report what failed, never stop halfway.
_COMPILER = r"""
import json, py_compile, sys
jobs = json.load(sys.stdin)
failed = {}
for source, cfile, dfile in jobs:
    try:
        py_compile.compile(source, cfile=cfile, dfile=dfile, doraise=True, optimize=0,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError as exc:
        failed[source] = exc.msg.strip().splitlines()[-1] if exc.msg.strip() else repr(exc)
json.dump({"cache_tag": sys.implementation.cache_tag, "failed": failed}, sys.stdout)
"""

def pyc_arcname(arcname: str, target: Target) -> str:
    """``python/pkg/mod.py`` -> ``python/pkg/__pycache__/mod.cpython-311.pyc``."""
    directory, name = posixpath.split(arcname)
    stem = name[: -len(".py")]
    return posixpath.join(directory, "__pycache__", f"{stem}.{target.cache_tag}.pyc")


def compile_entries(
    entries: Sequence[Entry], target: Target, interpreter: str, root: str, reporter: Reporter | None = None
) -> list[Entry]:
    """For each ``*.py`` entry, a ``__pycache__/<mod>.cpython-3XY.pyc`` entry (same unit, FILE_MODE).

    Compiled by ``interpreter`` in one subprocess, unchecked-hash, with the path the file has at run
    time (``root/arcname``: root is ``/opt`` for layers, ``/var/task`` for the app) as the file name in
    tracebacks. Deterministic: sorted order, fixed hash seed. A third-party file that does not compile
    (Python 2 leftovers, templates) gets no pyc; an app file that does not compile is an error.
    """
    sources = sorted((e for e in entries if e.arcname.endswith(".py") and "/__pycache__/" not in f"/{e.arcname}"),
                     key=lambda e: e.arcname)
    if not sources:
        return []
    with tempfile.TemporaryDirectory(prefix="lambda-tasks-pyc-") as scratch:
        jobs = _stage(sources, Path(scratch), root.rstrip("/"))
        report = _run_compiler(interpreter, jobs, scratch)
        if report["cache_tag"] != target.cache_tag:
            raise BytecodeError(f"{interpreter} is {report['cache_tag']}, {target.runtime} needs {target.cache_tag}")
        failed = _failures(jobs, sources, report["failed"], target, reporter)
        return [_pyc_entry(entry, Path(job[1]), target) for job, entry in zip(jobs, sources, strict=True)
                if job[0] not in failed]


def _stage(sources: Sequence[Entry], base: Path, root: str) -> list[list[str]]:
    """Each source copied into ``base``: the compiler's jobs (source, pyc file, file name in tracebacks)."""
    jobs = []
    (base / "src").mkdir(parents=True, exist_ok=True)
    for index, entry in enumerate(sources):
        source = base / "src" / f"{index}.py"
        with entry.open() as handle, open(source, "wb") as copy:
            shutil.copyfileobj(handle, copy)
        jobs.append([str(source), str(base / "pyc" / f"{index}.pyc"), f"{root}/{entry.arcname}"])
    return jobs


def _run_compiler(interpreter: str, jobs: list[list[str]], scratch: str) -> dict[str, Any]:
    """The compiler's report: the interpreter's cache tag and the sources that failed (source -> message)."""
    # Before 3.11, marshal writes frozenset constants in hash order: fix the seed (so no -E/-I, which would
    # ignore it; the other PYTHON* variables are dropped instead, and cwd is the scratch directory).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONHASHSEED"] = "0"
    done = capture([interpreter, "-s", "-c", _COMPILER], f"bytecode: compiling with {interpreter}",
                   stdin=json.dumps(jobs), env=env, cwd=scratch)
    if done.returncode != 0:
        raise BytecodeError(f"compiling bytecode with {interpreter} failed: {_last_line(done.stderr)}")
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _failures(jobs: Sequence[list[str]], sources: Sequence[Entry], messages: dict[str, str], target: Target,
              reporter: Reporter | None) -> set[str]:
    """The staged sources that did not compile; an app file among them is an error, third-party ones a note."""
    by_source = {job[0]: entry for job, entry in zip(jobs, sources, strict=True)}
    failed = {job[0]: messages[job[0]] for job in jobs if messages.get(job[0])}
    app_failures = [f"{by_source[s].arcname}: {m}" for s, m in failed.items() if by_source[s].unit == APP_UNIT]
    if app_failures:
        raise BytecodeError(f"app code does not compile with Python {target.python_version[0]}."
                            f"{target.python_version[1]}: {'; '.join(app_failures)}")
    if failed and reporter is not None:
        names = ", ".join(sorted(by_source[s].arcname for s in failed)[:5])
        reporter.info(f"bytecode: {len(failed)} third-party files do not compile and ship without a pyc ({names}"
                      f"{', ...' if len(failed) > 5 else ''})")
    return set(failed)


def _pyc_entry(entry: Entry, cfile: Path, target: Target) -> Entry:
    data = cfile.read_bytes()
    return Entry(pyc_arcname(entry.arcname, target), entry.unit, len(data), FILE_MODE, BytesSource(data))


def merge(entries: Sequence[Entry], pycs: Sequence[Entry]) -> list[Entry]:
    """``entries`` plus ``pycs``, a pyc replacing an entry of the same arcname (a wheel's own pyc)."""
    replaced = {pyc.arcname for pyc in pycs}
    return [e for e in entries if e.arcname not in replaced] + list(pycs)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"

