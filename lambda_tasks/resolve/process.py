"""Running pip and uv: their progress shown on a terminal, their output kept for error messages.

Output is kept with the credentials of URLs (``https://user:token@host``) masked: everything lambda-tasks
prints or raises from it is safe to show.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from ..report import Reporter

# user[:password]@ right after a scheme: pip masks passwords as user:****@, a token alone stays visible
_CREDENTIALS = re.compile(r"(?<=://)[^\s/@'\"<>]+@")


def redact(text: str) -> str:
    """``text`` with the credentials in URLs replaced: ``https://user:token@host`` -> ``https://***@host``."""
    return _CREDENTIALS.sub("***@", text)


def pip_command(*args: str) -> list[str]:
    """pip in a subprocess (see fastpip for the shortcuts it takes), started from fastpip's file so that
    lambda-tasks' packages are not imported there."""
    return [sys.executable, str(Path(__file__).with_name("fastpip.py")), "--disable-pip-version-check",
            "--no-input", *args]


def run(command: list[str], cwd: Path, reporter: Reporter, label: str,
         env: dict[str, str] | None = None, on_line: Callable[[], None] | None = None) -> tuple[int, str]:
    """Run pip, showing its progress on a terminal; its output (credentials masked) is kept for error messages.
    ``on_line`` is called after each line of output and once at the end."""
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        line = redact(line)
        lines.append(line)
        if reporter.live and line.strip():
            reporter.status(f"{label}: {line.strip()[:100]}")
        if on_line is not None:
            on_line()
    returncode = process.wait()
    if on_line is not None:
        on_line()
    reporter.status_done()
    return returncode, "".join(lines)
