"""Running deploy's jobs side by side: at most ``max_parallel`` at once, a job may add jobs (a region's functions
once its layers are published), and a Ctrl-C returns at once.

The workers are daemon threads: after a Ctrl-C the command reports and exits without waiting for the calls in
flight (each is bounded by its deadline anyway, and the next run checks what they did before acting). With one
worker, jobs run in the calling thread, one after the other: exactly the sequential deploy.

A job handles its own failures (deploy records them per function and region); an exception that escapes a job
(a bug, or a KeyboardInterrupt raised inside one) stops the others from starting and is raised by :meth:`run`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

Job = Callable[[], None]
#: How often the waiting thread wakes up: a Ctrl-C is handled within this time.
POLL = 0.1


class Scheduler:
    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._jobs: deque[Job] = deque()
        self._lock = threading.Condition()
        self._pending = 0  # queued or running
        self._failure: BaseException | None = None
        self._stopped = False

    def submit(self, job: Job) -> None:
        with self._lock:
            if self._stopped:
                return
            self._jobs.append(job)
            self._pending += 1
            self._lock.notify_all()

    def run(self) -> None:
        """Run every job (and those they submit) to the end; re-raise what escaped a job."""
        if self.workers == 1:
            self._run_inline()
            return
        threads = [threading.Thread(target=self._work, name=f"lambda-tasks-deploy-{n}", daemon=True)
                   for n in range(self.workers)]
        for thread in threads:
            thread.start()
        try:
            with self._lock:
                while self._pending and self._failure is None:
                    self._lock.wait(POLL)  # a timeout keeps the main thread responsive to Ctrl-C
        except BaseException:
            self.stop()
            raise
        self.stop()
        if self._failure is not None:
            raise self._failure

    def stop(self) -> None:
        """No job starts after this; running ones finish on their own (or are abandoned at exit)."""
        with self._lock:
            self._stopped = True
            self._jobs.clear()
            self._lock.notify_all()

    def _run_inline(self) -> None:
        while True:
            with self._lock:
                if not self._jobs:
                    return
                job = self._jobs.popleft()
            try:
                job()
            finally:
                with self._lock:
                    self._pending -= 1

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._jobs and not self._stopped and self._pending:
                    self._lock.wait(POLL)
                if self._stopped or not self._jobs:
                    return
                job = self._jobs.popleft()
            try:
                job()
            except BaseException as exc:  # noqa: BLE001 - handed to the thread that called run()
                with self._lock:
                    if self._failure is None:
                        self._failure = exc
                    self._stopped = True
            finally:
                with self._lock:
                    self._pending -= 1
                    self._lock.notify_all()
