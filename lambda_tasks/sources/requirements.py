"""Reading requirements files: their requirement lines, and a digest that covers the files they include."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

#: pip's environment variables that change what a resolve finds.
PIP_INDEX_VARIABLES = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX", "PIP_CONFIG_FILE")

# pip's own syntax for including another file: -r/--requirement (requirements) and -c/--constraint
_INCLUDE = re.compile(r"^(?:-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?=\S))(\S+)")


def requirement_lines(path: Path) -> list[str]:
    """The lines of a requirements file that say something (comments and blanks left out)."""
    if not path.is_file():
        return []
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def included_files(path: Path) -> list[Path]:
    """``path`` and every local file it includes with -r/-c, recursively, each once."""
    found: list[Path] = []
    pending = [path]
    while pending:
        current = pending.pop(0)
        if current in found or not current.is_file():
            continue
        found.append(current)
        for line in requirement_lines(current):
            match = _INCLUDE.match(line)
            if match and "://" not in match.group(1):
                pending.append((current.parent / match.group(1)).resolve())
    return found


def requirements_digest(path: Path) -> str | None:
    """A hash of the bytes of ``path`` and the files it includes; None when there is no requirements file."""
    files = included_files(path)
    if not files:
        return None
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file.relative_to(path.parent) if file.is_relative_to(path.parent) else file).encode())
        digest.update(b"\0" + hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()
