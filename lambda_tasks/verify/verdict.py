"""What one run means (pure): answered, failed as it would on Lambda, or not checkable on this host; and the
``verify --all`` table.

A failure after a compiled module was refused (another CPU by its ELF header, another Python) is "not checked
on this host", whichever package re-raised it: the refusal is recorded when it happens, and the whole cause
chain is walked, so a package that re-raises without the cause (pandas re-raising numpy's error) does not hide it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .execution import Outcome


@dataclass(frozen=True)
class Verdict:
    """``status``: "ok", "not checked", "failed" or "warning" (a failure under another Python version);
    ``line``: what to say; ``unchecked``: what this host could not check."""

    status: str
    line: str
    unchecked: tuple[str, ...] = ()


def judge(outcome: Outcome, *, handler: str, module: str, called: bool, target_machine: str, host_machine: str,
          same_version: bool, host_python: str, runtime: str, extra_layers: int = 0) -> Verdict:
    """The verdict on one run of ``handler``."""
    if outcome.error is None and (outcome.answered or not called):
        extra = ((f"{module} went on without {', '.join(outcome.blocked)}, so on Lambda it may behave "
                  f"differently",) if outcome.blocked else ())
        return Verdict("ok", "", extra)
    error = outcome.error or {}
    if outcome.stopped in ("memory", "timeout", "init timeout"):
        detail = f"\n  {outcome.detail}" if outcome.detail else ""
        return Verdict("failed", f"{handler}: {error.get('errorType')}: {_short(error.get('errorMessage'))}{detail}")
    wrong = [f for f in outcome.foreign if f.get("machine") != target_machine]
    if wrong:
        first = wrong[0]
        return Verdict("failed", f"{handler}: {first['file']} is built for {first['machine']}, but the function runs "
                                 f"on {target_machine}: Lambda cannot load it either")
    failure = outcome.failure or {}
    missing = failure.get("missing")
    # a module missing from everywhere fails on Lambda too, refused compiled modules or not (unless it is one)
    really_missing = missing is not None and not any(
        name == missing or name.startswith(f"{missing}.") or missing.startswith(f"{name}.") for name in outcome.blocked)
    refused = failure.get("not_checkable") or outcome.foreign or (outcome.blocked and not really_missing)
    if really_missing and extra_layers:
        return Verdict("not checked", "", (f"the import of {module} after {missing}, which is not in the artifacts "
                                           f"(one of the {extra_layers} extra layers may provide it)",))
    if refused:
        stopped = failure.get("stopped_at") or (outcome.blocked[-1] if outcome.blocked else None)
        if stopped is None and outcome.foreign:
            stopped = outcome.foreign[0]["file"]
        what = f"the rest of the import of {module} after {stopped}"
        if called and not outcome.init_error:
            what = f"the call of {handler} after {stopped}"
        elif called:
            what += f" and the call of {handler}"
        return Verdict("not checked", "", (what,))
    stage = "init" if outcome.init_error or not called else "invocation"
    message = f"{handler}: {stage} failed: {error.get('errorType')}: {_short(error.get('errorMessage'))}"
    if not same_version:
        return Verdict("warning", f"{message} under this host's Python {host_python}; it may work on {runtime}, "
                                  "which this host cannot run")
    if missing:
        message += f"\n  module {missing!r} is in neither the function zip nor the layers"
    if failure.get("where"):
        message += f"\n  at {failure['where']}"
    return Verdict("failed", message)


def _short(text: object, limit: int = 100) -> str:
    """The first line of a message, cut to fit the error's first line (the whole of it is printed above)."""
    first = str(text or "").strip().splitlines()[0] if str(text or "").strip() else ""
    first = re.sub(r"^RequestId: \S+ (Error: )?", "", first)  # the document above has the request id
    return first if len(first) <= limit else first[: limit - 3] + "..."


def error_document(outcome: Outcome) -> str:
    """Lambda's error document as the Invoke API returns it (errorMessage, errorType, requestId, stackTrace)."""
    return json.dumps(outcome.error, indent=2)


@dataclass(frozen=True)
class Row:
    """One line of ``verify --all``'s table."""

    function: str
    event: str
    status: str
    init_seconds: float | None
    call_seconds: float | None
    peak: int
    memory: int


def status_of(outcome: Outcome, verdict: Verdict) -> str:
    """What the table's status column says: the HTTP status of a proxy answer, else ok / the error type."""
    if verdict.status == "not checked":
        return "not checked"
    if outcome.error is not None:
        return str(outcome.error.get("errorType") or "error")
    answer = outcome.answer
    if isinstance(answer, dict) and isinstance(answer.get("statusCode"), int):
        return f"ok ({answer['statusCode']})"
    return "ok"


def table(rows: Sequence[Row]) -> list[str]:
    """The rows, aligned: function, event, status, init duration, duration, peak memory of memory size."""
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1000:.0f} ms"

    header = ("function", "event", "status", "init", "duration", "peak memory")
    cells = [header] + [(r.function, r.event, r.status, ms(r.init_seconds), ms(r.call_seconds),
                         f"{r.peak / 1048576:.0f} of {r.memory} MB") for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells]


class LogEcho:
    """The function's log, echoed as Lambda logs it: one record a line (the runtime joins a record's lines with
    \\r). The runtime's report of an unhandled exception (its warning and the error record after it) is held until
    the run's end: when the import stopped at a compiled module verify refused (``blocked``), it is left out, since
    verify says that once as "not checked on this host" and an ERROR record above "verify: ok" reads as a failure."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.held: list[str] = []

    def __call__(self, line: str) -> None:
        if len(self.held) == 1:  # the error record the warning announced
            self.held.append(line)
            return
        self.finish(keep=True)
        if "LAMBDA_WARNING: Unhandled exception" in line:
            self.held.append(line)
            return
        self._say(line.rstrip("\r\n").split("\r"))

    def finish(self, keep: bool) -> None:
        """The run ended: say what is held (``keep``), or drop it."""
        held, self.held = self.held, []
        for line in held if keep else ():
            self._say(line.rstrip("\r\n").split("\r"))

    def _say(self, parts: Sequence[str]) -> None:
        for part in parts:
            self.say(f"  | {part}")
