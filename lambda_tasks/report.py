"""Progress and summaries: live updates on a terminal, plain lines in CI and pipes."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from .manifest import Manifest


class Reporter:
    """Prints what the tools are doing. ``quiet`` keeps only warnings. Thread-safe: a parallel deploy's workers
    share one (each message is written whole, a status line is closed before a line is printed)."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.quiet = quiet
        self.live = _is_terminal(self.stream)
        self._open_line = False
        self._last_progress = 0.0
        self._lock = threading.RLock()
        self.said: list[str] = []  # the info lines printed (a no-op's, replayed by the stamp: up_to_date.py)
        self.warned = False

    def info(self, message: str) -> None:
        if not self.quiet:
            self.said.append(message)
            self._write(message)

    def warn(self, message: str) -> None:
        self.warned = True
        self._write(f"warning: {message}", stream=sys.stderr)

    def progress(self, label: str, done: int, total: int, unit: str = "") -> None:
        """A counter that rewrites itself on a terminal; in CI only the end is printed."""
        if self.quiet:
            return
        with self._lock:
            self._progress(label, done, total, unit)

    def _progress(self, label: str, done: int, total: int, unit: str) -> None:
        if self.live:
            now = time.monotonic()
            if done < total and now - self._last_progress < 0.1:
                return
            self._last_progress = now
            self.stream.write(f"\r{label}: {done}/{total}{unit}\x1b[K")
            self.stream.flush()
            self._open_line = done < total
            if done >= total:
                self.stream.write("\n")
        elif done >= total:
            self._write(f"{label}: {done}/{total}{unit}")

    def status(self, message: str) -> None:
        """A transient line on a terminal (what a subprocess is doing); nothing in CI."""
        if self.live and not self.quiet:
            with self._lock:
                self.stream.write(f"\r{message}\x1b[K")
                self.stream.flush()
                self._open_line = True

    def status_done(self) -> None:
        with self._lock:
            if self.live and self._open_line:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self._open_line = False

    def _write(self, message: str, stream: TextIO | None = None) -> None:
        with self._lock:
            if self._open_line:
                self.stream.write("\n")
                self._open_line = False
            target = stream or self.stream
            target.write(message + "\n")
            target.flush()


def _is_terminal(stream: TextIO) -> bool:
    if os.environ.get("CI") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def counted(count: int, noun: str) -> str:
    """``1 wheel``, ``3 wheels``: a count with its noun (an ``s`` added for any count but one)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def human_bytes(size: int) -> str:
    """1,048,576-based units, as AWS writes its limits."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def layer_table(rows: Sequence[tuple[str, int, int, list[str]]], zip_cap: int) -> list[str]:
    """rows: (layer name, zip bytes, unzipped bytes, unit names) -> printable lines."""
    header = ("layer", "zipped", "unzipped", "% cap", "distributions")
    cells = [
        (name, human_bytes(zipped), human_bytes(unzipped),
         f"{zipped * 100 // zip_cap}%" if zip_cap > 0 else "-", sorted(names))
        for name, zipped, unzipped, names in rows
    ]
    widths = [max([len(header[i])] + [len(c[i]) for c in cells]) for i in range(4)]
    indent = sum(widths) + 2 * 4

    def line(a: str, b: str, c: str, d: str, rest: str) -> str:
        return (f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}  {d:>{widths[3]}}  {rest}").rstrip()

    lines = [line(*header)]
    for name, zipped, unzipped, pct, names in cells:
        chunks = _wrap(names, max(30, 100 - indent)) or [""]
        lines.append(line(name, zipped, unzipped, pct, chunks[0]))
        lines += [" " * indent + chunk for chunk in chunks[1:]]
    if len(rows) > 1:
        count = sum(len(r[3]) for r in rows)
        lines.append(line("total", human_bytes(sum(r[1] for r in rows)), human_bytes(sum(r[2] for r in rows)),
                          "", f"{count} distributions in {len(rows)} layers"))
    return lines


def _wrap(names: list[str], width: int) -> list[str]:
    """Comma-separated names on lines of about ``width`` characters."""
    lines: list[str] = []
    current = ""
    for name in names:
        candidate = f"{current}, {name}" if current else name
        if current and len(candidate) > width:
            lines.append(current + ",")
            current = name
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def build_summary(manifest: Manifest, zip_cap: int, unzipped_cap: int, extra_layers_bytes: int) -> list[str]:
    """The lines a build ends with: the app zip, the layer table and the total against Lambda's limit."""
    app = manifest.app
    lines = [f"{app.path}: {human_bytes(app.zip_bytes)} zipped, {human_bytes(app.unzipped_bytes)} unzipped "
             f"({100 * app.zip_bytes / zip_cap:.1f}% of the {human_bytes(zip_cap)} zip limit)"]
    rows = [(layer.path, layer.zip_bytes, layer.unzipped_bytes, layer.distributions) for layer in manifest.layers]
    if rows:
        lines += layer_table(rows, zip_cap)
    else:
        lines.append("layers: none (no dependencies and no vendor/)")
    total = app.unzipped_bytes + sum(layer.unzipped_bytes for layer in manifest.layers) + extra_layers_bytes
    lines.append(f"total unzipped: {human_bytes(total)} ({100 * total / unzipped_cap:.1f}% of "
                 f"{human_bytes(unzipped_cap)})")
    return lines


def largest_listing(sizes: dict[str, int], shown: int = 10) -> str:
    """The ``shown`` largest of ``sizes``, one indented line each (size, name): what a size error lists."""
    largest = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))[:shown]
    return "\n".join(f"    {human_bytes(size):>10}  {name}" for name, size in largest)
