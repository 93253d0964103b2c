"""Strip debug symbols from the ELF files the audit verified, with a strip tool for the target's machine."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from ..deadlines import capture
from ..entries import BytesSource, Entry
from ..host import find_strip
from ..report import Reporter, human_bytes
from ..targets import Target


def strip_binaries(
    entries: Sequence[Entry], verified: Sequence[Entry], target: Target, reporter: Reporter | None
) -> tuple[list[Entry], int]:
    """Replace each ``verified`` ELF entry (the audit's result) by a copy without debug symbols.

    Skipped with a note when no strip tool for the target is on the host. A file that strip cannot
    handle, or that does not get smaller, is kept as it was. Returns the entries and the bytes saved.
    """
    wanted = {entry.arcname for entry in verified}
    if not wanted:
        return list(entries), 0
    tool = find_strip(target)
    if tool is None:
        if reporter is not None:
            reporter.info(
                f"strip_binaries: skipped, no strip tool for {target.machine} on this host "
                f"(install binutils-{target.machine.replace('_', '-')}-linux-gnu or llvm)"
            )
        return list(entries), 0
    todo = [entry for entry in entries if entry.arcname in wanted]
    with tempfile.TemporaryDirectory(prefix="lambda-tasks-strip-") as scratch:
        jobs = [(entry, Path(scratch) / str(index)) for index, entry in enumerate(todo)]
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            results = pool.map(lambda job: _strip_one(tool, *job), jobs)
            stripped = dict(zip((e.arcname for e in todo), results, strict=True))
    result: list[Entry] = []
    saved = 0
    failed = 0
    for entry in entries:
        data = stripped.get(entry.arcname) if entry.arcname in wanted else None
        if entry.arcname in wanted and data is None:
            failed += 1
        if data is not None and len(data) < entry.size:
            saved += entry.size - len(data)
            entry = replace(entry, size=len(data), source=BytesSource(data))
        result.append(entry)
    if reporter is not None:
        note = f" ({failed} left as they were: strip refused them)" if failed else ""
        reporter.info(f"strip_binaries: {len(todo)} ELF files, {human_bytes(saved)} saved{note}")
    return result, saved


def _strip_one(tool: str, entry: Entry, path: Path) -> bytes | None:
    with entry.open() as source, open(path, "wb") as copy:
        shutil.copyfileobj(source, copy, 1024 * 1024)
    done = capture([tool, "--strip-debug", "--enable-deterministic-archives", str(path)],
                   f"strip_binaries: {tool} on {entry.arcname}", text=False)
    if done.returncode != 0:
        return None
    return path.read_bytes()
