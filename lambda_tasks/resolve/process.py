"""Running pip and uv: their progress shown on a terminal, their output kept for error messages.

Output is kept with the credentials of URLs (``https://user:token@host``) masked: everything lambda-tasks
prints or raises from it is safe to show.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from .. import deadlines
from ..deadlines import pip_network_args
from ..errors import DeadlineError
from ..report import Reporter

# user[:password]@ right after a scheme: pip masks passwords as user:****@, a token alone stays visible
_CREDENTIALS = re.compile(r"(?<=://)[^\s/@'\"<>]+@")


def redact(text: str) -> str:
    """``text`` with the credentials in URLs replaced: ``https://user:token@host`` -> ``https://***@host``."""
    return _CREDENTIALS.sub("***@", text)


def pip_command(*args: str) -> list[str]:
    """pip in a subprocess (see fastpip for the shortcuts it takes), started from fastpip's file so that
    lambda-tasks' packages are not imported there; with the network timeout of ``deadlines`` (``pip_args``,
    which come later, can raise it)."""
    return [sys.executable, str(Path(__file__).with_name("fastpip.py")), "--disable-pip-version-check",
            "--no-input", *pip_network_args(), *args]


#: pip's last retry after a connection that timed out: the endpoint is silent, so pip is stopped here.
_LAST_RETRY = re.compile(r"Retrying \(Retry\(total=0\b.*?(ReadTimeout|ConnectTimeout)Error")
_HOST = re.compile(r"host='([^']+)', port=(\d+)|Connection to (\S+) timed out")
_URL_PATH = re.compile(r"'\)?: (/\S*)\s*$")


def silent_index(line: str) -> str | None:
    """What pip's line says when it is the last retry against a silent endpoint (None otherwise)."""
    match = _LAST_RETRY.search(line)
    if match is None:
        return None
    host = _HOST.search(line)
    where = (f"{host.group(1)}:{host.group(2)}" if host.group(1) else host.group(3)) if host else "(unnamed)"
    path = _URL_PATH.search(line)
    seconds = (deadlines.ATTEMPTS - 1) * deadlines.network_timeout()
    kind = "read" if match.group(1) == "ReadTimeout" else "connect"
    return (f"the package index {where} did not answer in {seconds:g} s ({deadlines.ATTEMPTS - 1} attempts timed "
            f"out on {kind}){' for ' + path.group(1)[:60] if path else ''}")


def run(command: list[str], cwd: Path, reporter: Reporter, label: str,
        env: dict[str, str] | None = None, on_line: Callable[[], None] | None = None) -> tuple[int, str]:
    """Run pip, showing its progress on a terminal; its output (credentials masked) is kept for error messages.
    ``on_line`` is called after each line of output and once at the end.

    pip runs within the process deadline, in a process group killed on any failure (``deadlines``); an index
    that stays silent through pip's attempts stops it at once, reported as :class:`DeadlineError` naming the
    endpoint and ``label`` (the step), never as "not found"."""
    silent: list[str] = []

    def line_seen(line: str, child: deadlines.Child) -> None:
        reason = None if silent else silent_index(line)
        if reason is not None:
            silent.append(reason)
            child.stop(reason)
        if reporter.live and line.strip():
            reporter.status(f"{label}: {redact(line).strip()[:100]}")
        if on_line is not None:
            on_line()

    try:
        returncode, output = deadlines.run(command, cwd, {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                                           f"{label} (pip)", line_seen)
    except DeadlineError as error:
        if silent:
            raise DeadlineError(redact(f"{label}: {silent[0]}\n"
                                       f"  check the index URL, the network or the proxy; pip waits "
                                       f"{deadlines.network_timeout():g} s per attempt "
                                       f"({deadlines.NETWORK_ENV})")) from None
        raise DeadlineError(redact(str(error))) from None
    finally:
        if on_line is not None:
            on_line()
        reporter.status_done()
    return returncode, redact(output)
