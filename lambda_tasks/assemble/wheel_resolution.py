"""The layers' wheels: resolve (a lock read as locked, or pip/uv resolving a declaration) -> the target lock.

Imported only when the layers must be made (not up to date, not from the shared cache).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from ..config import Settings
from ..report import Reporter
from ..resolve import resolver  # resolver.resolve looked up at the call: the closure tests stand in one
from ..resolve.lockfile import resolve_lock
from ..sources.project import Source, project_requirements
from ..sources.requirements import index_option_lines, top_level_requirements
from ..sources.roots import Roots, declared_roots
from ..target_lock import TargetLock
from . import chalice_runtime as chalice
from .early import EarlyChecks
from .lock_stage import find_links_origins, target_lock


@dataclass(frozen=True)
class Resolved:
    """The wheels that go into the layers, the wheels this build used (for the cache's record), the checked
    target lock, the early checks of a resolution (None for a lock) and what was built from the project's own
    sources (the secret scan reads those)."""

    wheels: list[Path]
    used: list[Path]
    locked: TargetLock
    early: EarlyChecks | None
    own: set[str]


def resolve_wheels(settings: Settings, source: Source | None, framework: chalice.Runtime | None, force: bool,
                   reporter: Reporter) -> Resolved:
    """Resolve the dependencies for the target and check the result (closure, Requires-Python, hashes)."""
    if source is not None:
        reporter.info(source.describe(settings.project_dir))
    roots = _roots(settings, source)
    own: set[str] = set()
    early: EarlyChecks | None = None
    if source is not None and source.is_lock:
        wheels, origins = resolve_lock(settings, source.kind, source.path, reporter, own)
        wheels, locked = target_lock(wheels, origins, roots, settings.target, source.path.name, reporter,
                                     leave_out_unneeded=source.kind == "pylock")
    else:
        early = EarlyChecks(settings.target)  # the wheels pip fetched are checked while it resolves
        try:
            wheels = resolver.resolve(settings, reporter, refresh=force, on_wheel=early.submit, own=own)
            origins = find_links_origins(wheels, _find_links(settings), settings.project_dir, "installer")
            wheels, locked = target_lock(wheels, origins, roots, settings.target,
                                         source.path.name if source else "requirements.txt", reporter)
        except BaseException:
            early.cancel()
            raise
    used = [*wheels, *([framework.wheel] if framework else [])]
    if framework is not None:
        wheels = _without_framework(wheels, settings, source, reporter)
    return Resolved(wheels, used, locked, early, own)


def _without_framework(wheels: Sequence[Path], settings: Settings, source: Source | None,
                       reporter: Reporter) -> list[Path]:
    """Chalice's command-line tool and what only it needs stay out of the layers (the function zip has the
    runtime); what the app's own requirements need stays."""
    roots = _app_roots(settings, source)
    dropped = set(chalice.framework_only(roots, settings.target.marker_environment(), wheels))
    if not dropped:
        return list(wheels)
    kept = [wheel for wheel in wheels if canonicalize_name(wheel.name.split("-", 1)[0]) not in dropped]
    others = sorted(dropped - {chalice.FRAMEWORK})
    more = f" and what only it needs ({', '.join(others)})" if others else ""
    why = "" if roots is not None else f" ({source.path.name if source else 'the lock'} does not say what the app " \
        "needs, so chalice's dependencies stay)"
    reporter.info(f"layers: left out chalice{more}: Chalice's command-line tool; the function zip has its "
                  f"runtime{why}")
    return kept


def _app_roots(settings: Settings, source: Source | None) -> list[str] | None:
    """The app's own top-level requirements (None: the lock does not say)."""
    pyproject = settings.project_dir / "pyproject.toml"
    if source is None or not source.is_lock:
        return top_level_requirements(settings.requirements_path)[0]
    if pyproject.is_file() and source.kind == "uv.lock":
        return project_requirements(pyproject, settings.extras, settings.groups)
    return None


def _roots(settings: Settings, source: Source | None) -> Roots | None:
    """What the project declares it needs (the closure check's roots), for any source."""
    if source is None:
        return Roots((), settings.requirements or "requirements.txt")
    return declared_roots(source, settings.requirements_path, settings.target.marker_environment(),
                          settings.extras, settings.groups)


def _find_links(settings: Settings) -> list[str]:
    """The local --find-links directories of pip_args and the requirements file (wheels' origins)."""
    words = [*settings.pip_args, *(w for line in index_option_lines(settings.requirements_path) for w in line.split())]
    found = []
    for number, word in enumerate(words):
        value = word.split("=", 1)[1] if word.startswith("--find-links=") else \
            words[number + 1] if word in {"-f", "--find-links"} and number + 1 < len(words) else None
        if value and "://" not in value:
            found.append(value)
    return found
