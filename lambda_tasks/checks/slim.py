"""Slimming: leave out of the layers what Lambda never uses (caches, tests, stubs, scripts)."""

from __future__ import annotations

from collections.abc import Sequence

from ..entries import APP_UNIT, LAYER_PREFIX, VENDOR_PREFIX, Entry
from ..shared_libraries import other_abi_files
from ..targets import Target

_TEST_DIRS = frozenset({"tests", "test"})


def slim(entries: Sequence[Entry], keep_pycache: bool, target: Target | None = None) -> tuple[list[Entry], int]:
    """Drop, from layer entries: ``__pycache__`` (unless ``keep_pycache``), third-party ``tests/`` and
    ``test/`` package directories, ``*.pyi`` stubs and top-level ``bin/`` scripts; with ``target``, extension
    modules built for another Python beside the ones ``target`` loads (``_cbson.cpython-39-...so`` next to
    ``_cbson.cpython-311-...so``).

    Every ``.dist-info`` file is kept (METADATA, entry_points.txt and RECORD are read at run time).
    Returns the kept entries and the bytes saved.
    """
    kept: list[Entry] = []
    saved = 0
    other = other_abi_files((e.arcname for e in entries if e.unit != APP_UNIT), target) if target else set()
    for entry in entries:
        if entry.arcname in other or droppable(entry, keep_pycache):
            saved += entry.size
        else:
            kept.append(entry)
    return kept, saved


def droppable(entry: Entry, keep_pycache: bool = False) -> bool:
    """True when Lambda never needs this layer entry."""
    if entry.unit == APP_UNIT:
        return False  # the app is never slimmed
    path = entry.arcname.removeprefix(LAYER_PREFIX)
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
