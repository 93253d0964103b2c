"""Writing the no-op stamp (``up_to_date.py`` reads it): what a build read, kept by :func:`record` while the
build holds the output directory, written by :func:`commit` once the command has succeeded.

Not written for a build whose inputs may have changed unseen (an mtime within a clock tick of the build's start,
or later), nor when another command took the output directory since this one left it, nor for ``invoke build``
through a tasks.py that does more than import our tasks, nor for a project elsewhere than the working directory
that the command line does not name.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from . import __version__, up_to_date
from .up_to_date import (
    STAMP,
    Command,
    Invocation,
    config_files,
    environment,
    inside,
    named_project,
    snapshot,
    stamp_path,
)

#: a file written this close to the build's start (or after it) may have changed unseen within one clock tick
RACY_NS = 20_000_000
#: the same for an mtime in whole seconds: a file system that keeps no finer (FAT: 2 s; HFS+, ext4 with small
#: inodes: 1 s), where a same-size edit in place within that second leaves the whole stat unchanged
COARSE_RACY_NS = 2_000_000_000


def record(layers_path: Path, roots: Iterable[Path], paths: Iterable[Path], env_names: Sequence[str],
           lines: Sequence[str], started_ns: int, outputs: Sequence[Path], shipped: Iterable[Path] = (),
           project: Path | None = None, lock: Path | None = None) -> None:
    """Keep what the stamp for :data:`pending` records (none: a library call, nothing to write); ``lines``: what
    the next no-op prints (the last one gets its time); ``project``: the project directory the build read;
    ``lock``: the output directory's lock file (``assemble/output_lock.py``), which the build held.
    :func:`commit` writes it once the command has succeeded. Not written when an input changed within a clock
    tick of the build's start or after it (it may have changed unseen: the next build decides by content and
    writes it), nor for a project elsewhere than the working directory that --project-dir does not name."""
    global ready
    if up_to_date.pending is not None:
        ready = (layers_path, list(roots), list(paths), list(env_names), list(lines), started_ns, list(outputs),
                 list(shipped), project, lock)


#: what :func:`record` kept for :func:`commit`
ready: tuple[Any, ...] | None = None


def replayable(command: Command) -> bool:
    """Whether the stamp may hold ``command``: the flag values come from the command line it records anyway, but
    Invoke's config may hold a secret (an index URL with a token, from INVOKE_LAMBDA_TASKS_PIP_ARGS), and the stamp
    holds none, so only a command whose Invoke config sets nothing (the settings are in the project's files) is
    kept; and only one JSON gives back exactly."""
    _, _, configured = command
    if any(value is not None for value in configured.values()):
        return False
    return bool(json.loads(json.dumps(list(command), default=str)) == list(command))


def commit(command: Command | None = None) -> None:
    """The command succeeded (and wrote all it writes): write the stamp :func:`record` prepared, if any, with
    ``command`` (what the front end ran) when JSON holds it exactly, for :func:`replay`."""
    global ready
    invocation, kept, ready = up_to_date.pending, ready, None
    if invocation is None or kept is None:
        return
    if invocation.program == "invoke" and not plain_tasks(invocation.tasks_file):
        return
    layers_path, project, lock = kept[0], kept[-2], kept[-1]
    target = stamp_path(invocation.cwd)
    if Path(layers_path).resolve() != target.parent.resolve():  # found only at the default place: no stamp
        return
    named = named_project(invocation)
    if project is None or str(project) != (named or invocation.cwd):  # from a setting, maybe through a link
        return
    if lock is not None:
        _under_lock(lock, lambda: _write(invocation, kept, command))


def _under_lock(mutex: Path, then: Callable[[], None]) -> None:
    """Run ``then`` holding the output directory's lock again, if no other command took it since this one
    released it (its pid is in the file then): one that did may have written other outputs, or half of them,
    which this stamp would record as this build's. ``mutex``: the output directory's lock file (not a lock
    file of dependencies)."""
    # lazy: only a build that writes the stamp takes the lock again
    import fcntl

    try:
        handle = os.open(mutex, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.pread(handle, 32, 0) == str(os.getpid()).encode():
            then()
    except OSError:  # another command holds it
        return
    finally:
        os.close(handle)  # releases the lock


def _write(invocation: Invocation, kept: tuple[Any, ...], command: Command | None) -> None:
    """Stat what :func:`record` kept and write the stamp (not when an input's mtime is racy)."""
    _, roots, paths, env_names, lines, started_ns, outputs, shipped, _, _ = kept
    started_ns = min(started_ns, invocation.started_ns)  # the settings were read before the build started
    target = stamp_path(invocation.cwd)
    roots_ = sorted({str(root) for root in roots})
    paths_ = sorted({str(path) for path in paths} | set(config_files(invocation.cwd)))
    shipped_ = sorted({str(root) for root in shipped})
    try:
        stats = snapshot(roots_, paths_, str(target.parent), shipped_)
    except OverflowError:
        return
    if any(racy(path, found, started_ns) for path, found in stats.items() if not _written(path, outputs, stats)):
        target.unlink(missing_ok=True)
        return
    body = {"version": __version__, "python": [sys.version, sys.executable, invocation.sys_path],
            "invocation": [invocation.program, list(invocation.argv), invocation.cwd],
            "project": named_project(invocation),
            "env": environment(env_names), "env_names": sorted(set(env_names)), "lines": list(lines),
            "roots": roots_, "paths": paths_, "shipped": shipped_, "stats": stats}
    if command is not None and replayable(command):
        body["command"] = list(command)
    # lazy: only a build that writes the stamp
    import tempfile

    # a new file of a name no one can plant a link at beforehand (O_EXCL), renamed over the stamp
    try:
        handle, name = tempfile.mkstemp(prefix=f"{STAMP}.", suffix=".tmp", dir=target.parent)
    except OSError:
        return
    temporary = Path(name)
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(json.dumps(body))
        os.replace(temporary, target)
    except OSError:
        temporary.unlink(missing_ok=True)


def plain_tasks(tasks_file: str | None) -> bool:
    """Whether the project's tasks.py only imports our tasks (``from lambda_tasks.tasks import ns``). Any other
    code there may wrap ``build`` with steps of its own, or configure it from what the stamp does not watch: a
    no-op that exits before it runs would skip them, so `invoke build` takes no stamp then."""
    # lazy: only a build that writes the stamp for `invoke` parses tasks.py
    import ast

    try:
        body = ast.parse(Path(tasks_file or "").read_text()).body
    except (OSError, SyntaxError, ValueError):
        return False
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return (len(body) == 1 and isinstance(body[0], ast.ImportFrom) and body[0].module == "lambda_tasks.tasks"
            and body[0].level == 0)


def _written(path: str, outputs: Sequence[Path], stats: dict[str, Any]) -> bool:
    """Whether the build itself may have changed ``path`` (never an input): an output or below one, or the
    directory an output was put in when it holds nothing but outputs (dist/, not the project holding app.zip)."""
    made = [str(output) for output in outputs]
    if any(inside(path, output) for output in made):
        return True
    holds = [os.path.dirname(output) for output in made]
    return path in holds and all(any(inside(other, output) for output in made)
                                 for other in stats if other != path and inside(other, path))


def racy(path: str, found: Any, started_ns: int) -> bool:
    """An input written this close to the build's start, or after it: it may have changed unseen. By its mtime
    or its ctime: a file replaced while the build ran by a copy keeping its old times (``cp -p``, ``tar x``,
    ``rsync -t``) has an old mtime, but the ctime of the change, which no one can set back."""
    if not isinstance(found, list):
        return False
    coarse = found[1] % 1_000_000_000 == 0
    return bool(max(found[1], found[4]) >= started_ns - (COARSE_RACY_NS if coarse else RACY_NS))
