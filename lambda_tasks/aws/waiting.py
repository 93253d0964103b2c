"""Bounded waiting on AWS: timeouts per kind of call, a deadline per call, and a progress line while waiting.

botocore alone bounds a call only by attempts x read timeout: 6 x 120 s against an endpoint that accepts the
connection and never answers. Here every client gets the timeouts of its kind of call and a ``needs-retry`` hook
that starts no new attempt once the call's deadline has passed; it raises :class:`NoAnswer` instead, which
``clients.translate`` turns into one line naming the endpoint and the step.

- ``api`` (reads, configuration updates, versions, aliases, waiter polls): AWS answers in well under a second;
  read timeout 20 s, deadline 60 s (three silent attempts). A silent endpoint fails in about 60 s.
- ``cache`` (the shared build cache in S3, which a build can do without): read timeout 5 s, deadline 10 s,
  two attempts: a silent cache costs a build about 10 s when reading and nothing more (``s3_cache`` stops
  using it), however many layers it holds.
- ``upload`` (PublishLayerVersion, CreateFunction and UpdateFunctionCode carry the zip, up to 50 MB inline, or
  name an S3 object Lambda then fetches and unpacks; S3 parts of 16 MB): Lambda answers only once it has
  checked the archive, so the read timeout is 120 s, and so is the deadline (one silent attempt). Sending the
  body is bounded per socket operation (the connect timeout, 10 s without progress), not in total: a slow
  link that keeps moving is never cut off.

``LAMBDA_TASKS_AWS_TIMEOUT=N`` sets the api deadline to N seconds and scales the rest with it (api read N/3,
upload read and deadline 2N, cache read N/12 and deadline N/6, connect min(10, N/3), waiters 5N): raise it on a
slow link, lower it in tests.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import SettingsError
from ..report import Reporter

ENV = "LAMBDA_TASKS_AWS_TIMEOUT"
DEFAULT_DEADLINE = 60.0
CONNECT_TIMEOUT = 10.0
WAITER_DELAY = 2
#: The progress line: every TICK seconds on a terminal (after the first), every CI_EVERY seconds in CI.
TICK = 1.0
CI_EVERY = 10.0

Kind = Literal["api", "upload", "cache"]
API: Kind = "api"
UPLOAD: Kind = "upload"
#: The shared build cache: optional, so a silent S3 costs little (read 5 s, deadline 10 s, two attempts).
CACHE: Kind = "cache"
CACHE_ATTEMPTS = 2


@dataclass(frozen=True)
class Timeouts:
    connect: float
    read: float
    #: no new attempt starts once this many seconds have passed since the call's first attempt began
    deadline: float


def base_deadline() -> float:
    """The api deadline in seconds: LAMBDA_TASKS_AWS_TIMEOUT, else 60."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return DEFAULT_DEADLINE
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0.1 <= value <= 3600:
        raise SettingsError(f"{ENV} must be a number of seconds from 0.1 to 3600, not {raw!r}")
    return value


def timeouts(kind: Kind = API) -> Timeouts:
    deadline = base_deadline()
    connect = min(CONNECT_TIMEOUT, deadline / 3)
    if kind == UPLOAD:
        return Timeouts(connect, 2 * deadline, 2 * deadline)
    if kind == CACHE:
        return Timeouts(min(connect, deadline / 12), deadline / 12, deadline / 6)
    return Timeouts(connect, deadline / 3, deadline)


def waiter_attempts() -> int:
    """MaxAttempts for the Lambda waiters (polls WAITER_DELAY s apart): 150, i.e. 300 s, by default."""
    return max(1, round(5 * base_deadline() / WAITER_DELAY))


def ci_every() -> float:
    """Seconds between progress lines in CI: 10, or less when the deadline is shorter (tests)."""
    return min(CI_EVERY, base_deadline() / 6)


# ---------------------------------------------------------------- the deadline, as botocore event hooks


class NoAnswer(Exception):
    """A call's deadline (or its attempts) ran out without an answer: no further attempt is made.

    ``clients.translate`` words it, naming the endpoint without credentials."""

    def __init__(self, endpoint: str, seconds: float, attempts: int, cause: str) -> None:
        self.endpoint, self.seconds, self.attempts, self.cause = endpoint, seconds, attempts, cause
        super().__init__(f"no answer after {seconds:.0f} s ({cause}, {attempts} attempts)")


_STARTED = "lambda_tasks_started"


def install(client: Any, kind: Kind, max_attempts: int) -> None:
    """Give a boto3 client the deadline of its kind: no attempt starts after it, NoAnswer is raised instead."""
    limits = timeouts(kind)
    service = client.meta.service_model.service_id.hyphenize()

    def started(context: dict[str, Any], **_: Any) -> None:
        context.setdefault(_STARTED, time.monotonic())

    def check(caught_exception: BaseException | None, attempts: int, endpoint: Any, request_dict: dict[str, Any],
              **_: Any) -> None:
        if caught_exception is None or not _is_connection_failure(caught_exception):
            return  # an answer (throttling, 5xx): botocore's own attempts bound it
        began = request_dict.get("context", {}).get(_STARTED)
        elapsed = time.monotonic() - began if began is not None else 0.0
        silent = type(caught_exception).__name__ in ("ReadTimeoutError", "ConnectTimeoutError")
        if elapsed >= limits.deadline or (silent and attempts >= max_attempts):
            raise NoAnswer(str(getattr(endpoint, "host", "") or ""), elapsed, attempts,
                           type(caught_exception).__name__)

    client.meta.events.register_first(f"before-call.{service}", started)
    client.meta.events.register_first(f"needs-retry.{service}", check)


def _is_connection_failure(exc: BaseException) -> bool:
    # lazy: boto3/botocore (~280 ms) load only when AWS is called
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError

    return isinstance(exc, (BotoConnectionError, HTTPClientError))


# ---------------------------------------------------------------- progress while waiting


@dataclass
class _Step:
    label: str
    live: bool
    start: float
    next_line: float


class _Ticker:
    """One background thread printing how long the innermost step has been waiting."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.steps: list[_Step] = []
        self.reporter: Reporter | None = None
        self.users = 0
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.status_open = False
        self.interrupted: str | None = None

    def begin(self, reporter: Reporter) -> None:
        with self.lock:
            self.users += 1
            if self.users > 1:
                return
            self.reporter, self.interrupted = reporter, None
            self.stop = threading.Event()
            self.thread = threading.Thread(target=self._run, args=(self.stop,), name="lambda-tasks-wait",
                                           daemon=True)
            self.thread.start()

    def end(self) -> None:
        with self.lock:
            self.users -= 1
            if self.users > 0:
                return
            self.stop.set()
            thread, self.thread = self.thread, None
        if thread is not None:
            thread.join(timeout=2)
        with self.lock:
            self._clear_status()
            self.reporter = None

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(TICK):
            with self.lock:
                self._tick(time.monotonic())

    def _tick(self, now: float) -> None:
        reporter = self.reporter
        if reporter is None or not self.steps or reporter.quiet:
            return
        step = self.steps[-1]
        elapsed = now - step.start
        text = f"waiting for AWS ({step.label}) {int(elapsed)}s..."
        if reporter.live:
            if step.live and elapsed >= 2 * TICK:
                reporter.status(text)
                self.status_open = True
        elif elapsed >= step.next_line:
            reporter.info(text)
            step.next_line += ci_every()

    def _clear_status(self) -> None:
        if self.status_open and self.reporter is not None:
            self.reporter.status_done()
        self.status_open = False

    def push(self, label: str, live: bool) -> _Step:
        now = time.monotonic()
        step = _Step(label, live, now, ci_every())
        with self.lock:
            self.steps.append(step)
        return step

    def pop(self, step: _Step, interrupted: bool) -> None:
        with self.lock:
            if interrupted and self.interrupted is None:
                self.interrupted = step.label  # the innermost step exits first
            if step in self.steps:
                self.steps.remove(step)
            self._clear_status()


_TICKER = _Ticker()


@contextmanager
def watching(reporter: Reporter) -> Iterator[None]:
    """While inside, a step that takes long prints ``waiting for AWS (<step>) <n>s...`` (nested use is fine)."""
    _TICKER.begin(reporter)
    try:
        yield
    finally:
        _TICKER.end()


@contextmanager
def step(label: str, *, live: bool = True) -> Iterator[None]:
    """One step of talking to AWS (``label`` reads as what it does: "publish layer x in us-east-1").

    ``live=False``: the step draws its own progress on a terminal (an upload), so only CI gets the lines.
    """
    entry = _TICKER.push(label, live)
    interrupted = False
    try:
        yield
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        _TICKER.pop(entry, interrupted)


def active_steps() -> list[str]:
    """The steps in progress now, in every thread (a parallel deploy has several)."""
    with _TICKER.lock:
        return list(dict.fromkeys(step.label for step in _TICKER.steps))


def interrupted_step() -> str | None:
    """The innermost step a Ctrl-C went through during the last ``watching``, if any."""
    return _TICKER.interrupted
