"""Running pip and uv: their progress shown on a terminal, their output kept for error messages."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..report import Reporter


def run(command: list[str], cwd: Path, reporter: Reporter, label: str,
         env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run pip, showing its progress on a terminal; its output is kept for error messages."""
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if reporter.live and line.strip():
            reporter.status(f"{label}: {line.strip()[:100]}")
    returncode = process.wait()
    reporter.status_done()
    return returncode, "".join(lines)
