"""Leaving distributions out of the layers on purpose: the ``exclude`` setting and ``exclude_runtime_provided``.

Both are applied here, once, before any other check: an excluded distribution is never slimmed, compiled or
audited. The app's imports are read so that leaving out something it needs is said before it fails on Lambda.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from ..entries import LAYER_PREFIX, Entry, unit_key
from ..report import Reporter, human_bytes
from ..targets import RUNTIME_PROVIDED


def excluded_units(exclude: Iterable[str], runtime_provided: bool) -> frozenset[str]:
    """The canonical unit names to leave out."""
    names = {unit_key(name) for name in exclude}
    return frozenset(names | RUNTIME_PROVIDED) if runtime_provided else frozenset(names)


def exclude(
    entries: Sequence[Entry], excluded: frozenset[str], app_imports: set[str], reporter: Reporter
) -> list[Entry]:
    """``entries`` without the excluded units; says what was left out and warns when the app imports it."""
    kept: list[Entry] = []
    dropped: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        (dropped[entry.unit] if unit_key(entry.unit) in excluded else kept).append(entry)
    if not dropped:
        return kept
    runtime = sorted(unit for unit in dropped if unit_key(unit) in RUNTIME_PROVIDED)
    chosen = sorted(unit for unit in dropped if unit_key(unit) not in RUNTIME_PROVIDED)
    if chosen:
        reporter.info(f"exclude: left out {', '.join(chosen)}")
    if runtime:
        saved = sum(entry.size for unit in runtime for entry in dropped[unit])
        reporter.info(f"left out {', '.join(runtime)} (provided by the Lambda runtime): {human_bytes(saved)} saved")
    for unit, unit_entries in sorted(dropped.items()):
        hit = sorted(top_level_names(unit_entries) & app_imports)
        if hit and unit_key(unit) not in RUNTIME_PROVIDED:
            reporter.warn(f"{unit} is excluded but the app imports {', '.join(hit)}; it will fail to import on Lambda "
                          "unless another layer provides it")
        elif hit:
            reporter.warn(f"{unit} is excluded: the app's `import {hit[0]}` gets the Lambda runtime's own version")
    return kept


def warn_pinned_runtime_provided(requirement_lines: Iterable[str], source: str, reporter: Reporter) -> None:
    """A pin on boto3 & co. is not honoured when the runtime's copy is used: say so."""
    for line in requirement_lines:
        if line.startswith("-"):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if unit_key(requirement.name) in RUNTIME_PROVIDED and (requirement.specifier or requirement.url):
            reporter.warn(
                f"{source} pins {line}, but exclude_runtime_provided leaves it out: Lambda's own "
                f"version (which varies by region) is used instead; remove the pin or turn the setting off"
            )


def top_level_names(entries: Iterable[Entry]) -> set[str]:
    """The importable top-level names a unit's layer entries provide."""
    names = set()
    for entry in entries:
        path = entry.arcname.removeprefix(LAYER_PREFIX)
        first = path.split("/", 1)[0]
        if not first.endswith((".dist-info", ".data")):
            names.add(first.split(".", 1)[0])
    return names


def app_imports(files: Iterable[tuple[str, Path]]) -> set[str]:
    """Top-level module names that the app's Python files import (any import statement, anywhere)."""
    found: set[str] = set()
    for arcname, path in files:
        if not arcname.endswith(".py"):
            continue
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".", 1)[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".", 1)[0])
    return found
