"""The layers' wheels: resolve (a lock read as locked, or pip/uv resolving a declaration) -> the target lock.

Imported only when the layers must be made (not up to date, not from the shared cache).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from ..report import Reporter
from ..resolve import resolver  # resolver.resolve looked up at the call: the closure tests stand in one
from ..resolve.lock_plan import check_agrees, plan_lock
from ..resolve.lockfile import resolve_lock
from ..sections import ResolveSettings
from ..sources.declaration import Declaration
from ..target_lock import TargetLock
from ..targets import Target
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


def resolve_wheels(settings: ResolveSettings, declaration: Declaration, framework: chalice.Runtime | None,
                   force: bool, reporter: Reporter) -> Resolved:
    """Resolve the dependencies for the target and check the result (closure, Requires-Python, hashes)."""
    if declaration.source is not None:
        reporter.info(declaration.describe(settings.project_dir))
        if declaration.unread_lock is not None:
            reporter.warn(declaration.unread_lock)
    own: set[str] = set()
    early: EarlyChecks | None = None
    if declaration.is_lock:
        # the lock for the target before anything is fetched (files, sha256, Requires-Python, markers); the
        # fetch is held to it, then the closure is checked on the wheels' metadata
        plan = plan_lock(declaration, settings.target, settings.project_dir)
        reporter.info(plan.describe(declaration.shown))
        wheels, origins = resolve_lock(settings, declaration, plan, reporter, own)
        wheels, locked = target_lock(wheels, origins, declaration.roots, settings.target, declaration.shown, reporter,
                                     leave_out_unneeded=declaration.source is not None
                                     and declaration.source.kind == "pylock")
        check_agrees(plan, locked)
    else:
        early = EarlyChecks(settings.target)  # the wheels pip fetched are checked while it resolves
        try:
            wheels = resolver.resolve(settings, declaration, reporter, refresh=force, on_wheel=early.submit, own=own)
            origins = find_links_origins(wheels, declaration.find_links, settings.project_dir, "installer")
            wheels, locked = target_lock(wheels, origins, declaration.roots, settings.target, declaration.shown,
                                         reporter)
        except BaseException:
            early.cancel()
            raise
    used = [*wheels, *([framework.wheel] if framework else [])]
    if framework is not None:
        wheels = _without_framework(wheels, settings.target, declaration, reporter)
    return Resolved(wheels, used, locked, early, own)


def _without_framework(wheels: Sequence[Path], target: Target, declaration: Declaration,
                       reporter: Reporter) -> list[Path]:
    """Chalice's command-line tool and what only it needs stay out of the layers (the function zip has the
    runtime); what the app's own requirements need stays."""
    roots = declaration.app_roots
    dropped = set(chalice.framework_only(roots, target.marker_environment(), wheels))
    if not dropped:
        return list(wheels)
    kept = [wheel for wheel in wheels if canonicalize_name(wheel.name.split("-", 1)[0]) not in dropped]
    others = sorted(dropped - {chalice.FRAMEWORK})
    more = f" and what only it needs ({', '.join(others)})" if others else ""
    why = "" if roots is not None else f" ({declaration.shown} does not say what the app needs, so chalice's " \
        "dependencies stay)"
    reporter.info(f"layers: left out chalice{more}: Chalice's command-line tool; the function zip has its "
                  f"runtime{why}")
    return kept
