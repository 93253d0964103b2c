"""Checking wheels while pip is still resolving.

pip resolves on one core. fastpip hard-links each wheel pip has fetched (and checked against the index's hash,
when the index gave one) into a directory as soon as it has it; ``resolve`` hands each one to
:meth:`EarlyChecks.submit`, and a worker thread runs the CRC check and the binary audit on it there and then
(``collect.check_wheel_file``), instead of after pip is done.

Nothing is trusted from this: a result counts for the wheel of the same sha256 among the wheels finally
resolved, and only for it (and only when the file did not change while it was checked). A wheel pip fetched
but then did not choose costs a check and nothing else; a damaged one is left for the regular check, which
fails the build only when that wheel is in the layer.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ..checks.audit import Memo
from ..errors import LambdaTasksError
from ..files import file_sha256
from ..targets import Target
from .collect import check_wheel_file, checked_contents


class EarlyChecks:
    """A worker thread that checks the wheels pip fetched, as they come."""

    def __init__(self, target: Target) -> None:
        self._target = target
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="early-check")
        self._futures: list[Future[str | None]] = []
        self._verdicts: Memo = {}
        self._known: set[str] | None = None  # contents checked by earlier builds: not checked again

    def submit(self, wheel: Path) -> None:
        self._futures.append(self._pool.submit(self._check, wheel))

    def _check(self, wheel: Path) -> str | None:
        if self._known is None:
            self._known = set(checked_contents())
        verdicts: Memo = {}
        try:
            before = _identity(wheel)
            digest = file_sha256(wheel)
            if digest in self._known:
                return None  # as after the resolve: the audit reads what its memo does not know
            check_wheel_file(wheel, wheel.name, self._target, verdicts)
            if _identity(wheel) != before:
                return None  # written to meanwhile: the digest may not be of the bytes checked
        except (LambdaTasksError, OSError, ValueError):
            return None  # checked again after the resolve, and reported there if it is shipped
        self._verdicts.update(verdicts)
        return digest

    def finish(self, verdicts: Memo) -> set[str]:
        """Wait for the checks; the sha256 of the wheels that passed (their audit verdicts go to ``verdicts``)."""
        self._pool.shutdown(wait=True)
        verdicts.update(self._verdicts)
        return {digest for future in self._futures if (digest := future.result()) is not None}

    def cancel(self) -> None:
        """After a failure: the checks not started are dropped, the running one is waited for."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _identity(path: Path) -> tuple[int, int, int, int]:
    """What changes when a file's bytes do (ctime too: no one can set it back)."""
    info = path.stat()
    return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns
