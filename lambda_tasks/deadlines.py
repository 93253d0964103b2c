"""Every wait bounded: the network timeouts of pip, uv and the registry client, and child processes with a deadline.

- ``LAMBDA_TASKS_NETWORK_TIMEOUT=N`` (default 20): seconds a connection to a package index, a wheel URL or a
  registry may stay silent. pip gets ``--timeout N --retries 2`` and is stopped at its last retry after
  timeouts (so a silent index is reported in about 2N s, naming it); uv gets ``UV_HTTP_TIMEOUT=N`` and
  ``UV_HTTP_RETRIES=1``; the registry client N per read, two attempts.
- ``LAMBDA_TASKS_PROCESS_TIMEOUT=N`` (default 3600): seconds any child (pip, uv, a build backend, the bytecode
  compiler, strip) may run. Each child runs in a process group of its own, killed whole at its deadline and on any
  failure of ours, Ctrl-C included; the error names the step.

AWS has its own (``aws/waiting.py``, ``LAMBDA_TASKS_AWS_TIMEOUT``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import DeadlineError, SettingsError

NETWORK_ENV = "LAMBDA_TASKS_NETWORK_TIMEOUT"
PROCESS_ENV = "LAMBDA_TASKS_PROCESS_TIMEOUT"
DEFAULT_NETWORK = 20.0
DEFAULT_PROCESS = 3600.0
#: Seconds the output of an ended child is still read (what it left running is then killed).
_GRACE = 2.0
#: Attempts pip and the registry client make against a silent endpoint (uv: its first try and one retry).
ATTEMPTS = 3


def _seconds(name: str, default: float, low: float, high: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not low <= value <= high:
        raise SettingsError(f"{name} must be a number of seconds from {low:g} to {high:g}, not {raw[:40]!r}")
    return value


def network_timeout() -> float:
    """Seconds a network connection may stay silent (``LAMBDA_TASKS_NETWORK_TIMEOUT``, default 20)."""
    return _seconds(NETWORK_ENV, DEFAULT_NETWORK, 0.5, 600)


def process_deadline() -> float:
    """Seconds a child process may run (``LAMBDA_TASKS_PROCESS_TIMEOUT``, default 3600)."""
    return _seconds(PROCESS_ENV, DEFAULT_PROCESS, 1, 86400)


def uv_network_env() -> dict[str, str]:
    """uv's variables for the same bound: a silent index fails in about two timeouts."""
    seconds = max(1, round(network_timeout()))
    return {"UV_HTTP_TIMEOUT": str(seconds), "UV_HTTP_RETRIES": "1"}


def pip_network_args() -> list[str]:
    """pip's options for the same bound (a later ``--timeout`` in ``pip_args`` wins)."""
    return ["--timeout", f"{network_timeout():g}", "--retries", str(ATTEMPTS - 1)]


# ------------------------------------------------------------------------------------------- children


class Child:
    """A child process in a process group of its own, whose output is read line by line.

    ``stop(reason)`` kills the whole group (a build backend's compilers with it); the deadline calls it.
    """

    def __init__(self, command: Sequence[str], cwd: Path, env: Mapping[str, str], step: str,
                 deadline: float | None = None) -> None:
        self.step = step
        self.deadline = process_deadline() if deadline is None else deadline
        self.reason: str | None = None  # why it was stopped: set before the kill
        self.process = subprocess.Popen(
            list(command), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            text=True, errors="replace", env=dict(env), start_new_session=True)
        self.started = time.monotonic()
        self._timer = threading.Timer(self.deadline, self.stop, args=(f"did not finish in {self.deadline:g} s",))
        self._timer.daemon = True
        self._timer.start()
        self._closed = threading.Event()
        threading.Thread(target=self._after_exit, daemon=True, name=f"reap {step[:40]}").start()

    def _after_exit(self) -> None:
        """Once the child has ended, what it left running must not hold its output open: killed after a grace."""
        self.process.wait()
        if not self._closed.wait(_GRACE):
            kill_group(self.process)

    def lines(self) -> Iterator[str]:
        assert self.process.stdout is not None
        yield from self.process.stdout

    def stop(self, reason: str) -> None:
        """Kill the child's process group (later reasons are not kept). A child that has just ended finished in
        time: its group (what it left running) is killed, and no reason is kept."""
        if self.reason is None and self.process.poll() is None:
            self.reason = reason
        kill_group(self.process)

    def wait(self) -> int:
        self._timer.cancel()
        code = self.process.wait()
        if self.reason is not None:
            raise DeadlineError(f"{self.step}: {self.reason}\n"
                                f"  the child was stopped with its process group; {_ADVICE}")
        return code

    def close(self) -> None:
        """At the end, and after any failure of ours: nothing of the child outlives us."""
        self._closed.set()
        self._timer.cancel()
        kill_group(self.process)  # what the child left running too (the group's id is not reused while it lives)
        with contextlib.suppress(OSError, ValueError):
            if self.process.stdout is not None:
                self.process.stdout.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


_ADVICE = (f"check the network (or set {NETWORK_ENV}) and run again; a step that needs longer: "
           f"set {PROCESS_ENV}")


def kill_group(process: subprocess.Popen[str]) -> None:
    """SIGKILL to the process group ``process`` leads (its children too); nothing if it is gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def run(command: Sequence[str], cwd: Path, env: Mapping[str, str], step: str,
        on_line: Callable[[str, Child], None] | None = None, deadline: float | None = None) -> tuple[int, str]:
    """Run a child to its end within its deadline; its exit code and output (stdout and stderr together).
    ``on_line(line, child)`` sees each line as it comes and may ``child.stop(reason)`` it."""
    child = Child(command, cwd, env, step, deadline)
    lines: list[str] = []
    try:
        for line in child.lines():
            lines.append(line)
            if on_line is not None:
                on_line(line, child)
        return child.wait(), "".join(lines)
    finally:
        child.close()


def capture(command: Sequence[str], step: str, *, deadline: float | None = None, stdin: str | None = None,
            cwd: Path | str | None = None, env: Mapping[str, str] | None = None,
            text: bool = True) -> subprocess.CompletedProcess[Any]:
    """Run a short child to its end, its stdout and stderr apart (``stdin`` written to it), within ``deadline``
    (default: the process deadline), in a process group of its own killed whole when it is late and on any
    failure of ours. Late: :class:`DeadlineError` naming ``step``, in one line."""
    limit = process_deadline() if deadline is None else deadline
    process = subprocess.Popen(
        list(command), cwd=cwd, env=None if env is None else dict(env), start_new_session=True,
        stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=text, errors="replace" if text else None)
    try:
        out, err = process.communicate(stdin, timeout=limit)
    except subprocess.TimeoutExpired:
        kill_group(process)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.communicate(timeout=_GRACE)
        raise DeadlineError(f"{step}: did not finish in {limit:g} s\n"
                            f"  the child was stopped with its process group; {_ADVICE}") from None
    finally:
        kill_group(process)  # on any failure of ours (Ctrl-C too), and what an ended child left running
    return subprocess.CompletedProcess(list(command), process.returncode, out, err)
