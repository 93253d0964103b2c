"""Slimming: leave out of the layers what Lambda never uses, and strip debug symbols from binaries."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from packaging.utils import canonicalize_name

from ..entries import APP_UNIT, VENDOR_PREFIX, BytesSource, Entry
from ..report import human_bytes
from ..targets import RUNTIME_PROVIDED, Target

#: Distributions every Lambda Python runtime already has (its version varies by region).

LAYER_ROOT = "python/"
_TEST_DIRS = frozenset({"tests", "test"})


def slim(entries: Sequence[Entry], keep_pycache: bool) -> tuple[list[Entry], int]:
    """Drop, from layer entries: ``__pycache__`` (unless ``keep_pycache``), third-party ``tests/`` and
    ``test/`` package directories, ``*.pyi`` stubs and top-level ``bin/`` scripts.

    Every ``.dist-info`` file is kept (METADATA, entry_points.txt and RECORD are read at run time).
    Returns the kept entries and the bytes saved.
    """
    kept: list[Entry] = []
    saved = 0
    for entry in entries:
        if droppable(entry, keep_pycache):
            saved += entry.size
        else:
            kept.append(entry)
    return kept, saved


def droppable(entry: Entry, keep_pycache: bool = False) -> bool:
    """True when Lambda never needs this layer entry."""
    if entry.unit == APP_UNIT:
        return False  # the app is never slimmed
    path = entry.arcname[len(LAYER_ROOT):] if entry.arcname.startswith(LAYER_ROOT) else entry.arcname
    parts = path.split("/")
    directories = parts[:-1]
    if any(part.endswith(".dist-info") for part in directories):
        return False
    if not keep_pycache and "__pycache__" in directories:
        return True
    if parts[-1].endswith(".pyi"):
        return True
    if directories and directories[0] == "bin":
        return True
    third_party = not entry.unit.startswith(VENDOR_PREFIX)
    # a tests/ directory inside a package (numpy/tests, numpy/core/tests) or a top-level one a wheel
    # shipped by mistake; "site-packages"-style layouts are handled by looking at every level
    return third_party and any(part in _TEST_DIRS for part in directories)


def drop_runtime_provided(
    entries: Sequence[Entry], requirements: Path | None = None, reporter=None
) -> tuple[list[Entry], int]:
    """Leave out boto3, botocore, s3transfer and jmespath (the runtime has them).

    Warns (through ``reporter``) when ``requirements`` pins one of them: that pin will not be honoured.
    Returns the kept entries and the bytes saved.
    """
    kept: list[Entry] = []
    saved = 0
    dropped: set[str] = set()
    for entry in entries:
        if canonicalize_name(entry.unit) in RUNTIME_PROVIDED:
            saved += entry.size
            dropped.add(entry.unit)
        else:
            kept.append(entry)
    if reporter is not None and requirements is not None:
        for line in pinned_runtime_provided(requirements):
            reporter.warn(
                f"{requirements.name} pins {line}, but exclude_runtime_provided leaves it out: Lambda's own "
                f"version (which varies by region) is used instead; remove the pin or turn the setting off"
            )
    if reporter is not None and dropped:
        reporter.info(
            f"left out {', '.join(sorted(dropped))} (provided by the Lambda runtime): {human_bytes(saved)} saved"
        )
    return kept, saved


def pinned_runtime_provided(requirements: Path) -> list[str]:
    """The requirement lines of ``requirements`` that put a version specifier on a runtime-provided package."""
    from packaging.requirements import InvalidRequirement, Requirement  # not on the no-op path

    from ..sources.requirements import requirement_lines

    found: list[str] = []
    for line in requirement_lines(requirements):
        if line.startswith("-"):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) in RUNTIME_PROVIDED and (requirement.specifier or requirement.url):
            found.append(line)
    return found


def find_strip(target: Target) -> str | None:
    """A strip tool that handles the target's machine: the host's ``strip`` when the host is the same
    machine, else ``<machine>-linux-gnu-strip``; ``llvm-strip`` handles both."""
    host = platform.machine().lower()
    host = {"amd64": "x86_64", "arm64": "aarch64"}.get(host, host)
    candidates = [f"{target.machine}-linux-gnu-strip"]
    if host == target.machine:
        candidates.insert(0, "strip")
    candidates.append("llvm-strip")
    for name in candidates:
        path = shutil.which(name)
        if path:
            return path
    return None


def strip_binaries(
    entries: Sequence[Entry], verified: Sequence[Entry], target: Target, reporter
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
            stripped = dict(zip((e.arcname for e in todo), pool.map(lambda job: _strip_one(tool, *job), jobs)))
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
    done = subprocess.run(
        [tool, "--strip-debug", "--enable-deterministic-archives", str(path)],
        capture_output=True,
    )
    if done.returncode != 0:
        return None
    return path.read_bytes()
