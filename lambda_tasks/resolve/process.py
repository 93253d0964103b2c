"""Running pip and uv: their progress shown on a terminal, their output kept for error messages.

Output is kept with the credentials of URLs (``https://user:token@host``) masked: everything lambda-tasks
prints or raises from it is safe to show.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from ..report import Reporter

# user[:password]@ right after a scheme: pip masks passwords as user:****@, a token alone stays visible
_CREDENTIALS = re.compile(r"(?<=://)[^\s/@'\"<>]+@")


def redact(text: str) -> str:
    """``text`` with the credentials in URLs replaced: ``https://user:token@host`` -> ``https://***@host``."""
    return _CREDENTIALS.sub("***@", text)


def pip_command(*args: str) -> list[str]:
    """pip in a subprocess (see fastpip for the shortcuts it takes). runpy warns that importing the package
    imported fastpip before running it, which is harmless and would only clutter the output kept for errors."""
    return [sys.executable, "-W", "ignore::RuntimeWarning:runpy", "-m", "lambda_tasks.resolve.fastpip",
            "--disable-pip-version-check", "--no-input", *args]


def run(command: list[str], cwd: Path, reporter: Reporter, label: str,
         env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run pip, showing its progress on a terminal; its output (credentials masked) is kept for error messages."""
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
    returncode = process.wait()
    reporter.status_done()
    return returncode, "".join(lines)
