"""One build at a time per output directory, and the leftovers of a build that was killed.

The lock is ``flock`` on ``<layers_dir>/.lambda-tasks.lock``: the kernel releases it when its holder exits, however
it exits, so a lock left by a dead process never blocks anyone. The file names the holder's pid for the message.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import BusyError

LOCK_NAME = ".lambda-tasks.lock"
#: Temp files of write_zip and write_atomic: ``.<name>.<random>.tmp`` beside the file they become.
_TEMP_GLOB = ".*.tmp"
#: Scratch directories in the cache: ``<kind>-<pid>-<random>`` (resolve, sdist builds).
CACHE_SCRATCH_KINDS = ("resolve",)


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        return "another process"
    return f"pid {pid}" if pid.isdigit() else "another process"


@contextlib.contextmanager
def build_lock(directory: Path, wait: bool = True, on_wait: Callable[[str], None] | None = None,
               poll: float = 0.2) -> Iterator[None]:
    """Hold the output directory's lock; wait for it (saying so once) or, with ``wait=False``, fail at once."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                holder = _holder(path)
                if not wait:
                    raise BusyError(f"another lambda-tasks command ({holder}) is using {directory}\n"
                                    "  wait for it to finish, or run without --no-wait to wait") from None
                if not told and on_wait is not None:
                    on_wait(f"waiting for another lambda-tasks command ({holder}) using {directory} to finish")
                    told = True
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)  # closing releases the lock


def clean_leftovers(directories: list[Path], cache: Path) -> int:
    """Remove what a killed build left: temp files in the output directories (call with the lock held) and cache
    scratch directories whose process is gone. Returns the bytes freed."""
    freed = 0
    for directory in directories:
        for temp in directory.glob(_TEMP_GLOB) if directory.is_dir() else []:
            with contextlib.suppress(OSError):
                size = temp.stat().st_size
                temp.unlink()
                freed += size
    for kind in CACHE_SCRATCH_KINDS:
        for scratch in cache.glob(f"{kind}-*-*") if cache.is_dir() else []:
            pid = scratch.name.split("-")[1]
            if pid.isdigit() and not _alive(int(pid)):
                freed += _tree_size(scratch)
                shutil.rmtree(scratch, ignore_errors=True)
    return freed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tree_size(root: Path) -> int:
    total = 0
    for directory, _dirs, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_size
    return total
