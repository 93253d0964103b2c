"""The layers made anew: resolve -> closure -> collect -> paths -> guard -> exclude -> slim -> bytecode -> audit
-> strip. Loaded only when the layers are made (``layer_pipeline``): an app-only build keeps them and loads none
of the resolvers and checks this takes."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from ..checks import audit, exclude, guard, paths
from ..checks.slim import slim
from ..checks.strip import strip_binaries
from ..entries import APP_MOUNT, LAYER_MOUNT, LAYER_PREFIX, Entry
from ..package_index import PackageIndex
from ..report import Reporter, human_bytes
from ..sections import LayerSettings, ResolveSettings
from ..shared_libraries import other_abi_files
from ..target_lock import TargetLock
from . import collect
from .app_pipeline import with_bytecode
from .plan import BuildPlan, LayerInputs
from .wheel_resolution import resolve_wheels


def make(settings: LayerSettings, resolve: ResolveSettings, plan: BuildPlan, given: LayerInputs, index: PackageIndex,
         reporter: Reporter) -> tuple[list[Entry], list[Path] | None, TargetLock | None]:
    """The layers' checked entries, the wheels packed and the target lock."""
    resolved = resolve_wheels(resolve, given.declaration, given.framework, plan.force, reporter)
    mount = APP_MOUNT if plan.image_mode else LAYER_MOUNT
    # the audit's memo is filled as the wheels' CRCs are checked, from the same inflated bytes
    with audit.remembered_verdicts(settings.target) as memo:
        checked = resolved.early.finish(memo) if resolved.early is not None else set()
        entries = collect.layer_entries(resolved.wheels, given.vendor, settings.target, reporter, memo, checked)
        paths.check_paths(entries, "the layers")
        resolved.own.update(collect.vendored_wheel_units(entries, given.vendor_path))
        guard.check_files(entries, settings.include, resolved.own, reporter.warn)  # the index's are third-party
        entries = _slimmed(_excluded(entries, settings, given, reporter), settings, reporter)
        if plan.image_mode:  # an image has no /opt: the dependencies sit beside the app in /var/task
            entries = [dataclasses.replace(e, arcname=e.arcname.removeprefix(LAYER_PREFIX)) for e in entries]
        entries = with_bytecode(entries, settings, mount, reporter)
        verified = audit.audit(entries, settings.target, settings.audit_allow, memo, mount=mount,
                               extra_layers=settings.extra_layers, reporter=reporter, index=index)
    if settings.strip_binaries:
        entries, _ = strip_binaries(entries, verified, settings.target, reporter)
    return entries, resolved.used, resolved.locked


def _excluded(entries: list[Entry], settings: LayerSettings, given: LayerInputs,
              reporter: Reporter) -> list[Entry]:
    """Leave out what ``exclude`` and ``exclude_runtime_provided`` name, unless the app imports it."""
    if settings.exclude_runtime_provided:
        exclude.warn_pinned_runtime_provided(given.declaration.texts, given.declaration.shown, reporter)
    excluded = exclude.excluded_units(settings.exclude, settings.exclude_runtime_provided)
    if not excluded:
        return entries
    imports = exclude.app_imports((arcname, found.path) for arcname, found in given.app_files)
    return exclude.exclude(entries, excluded, imports, reporter)


def _slimmed(entries: Sequence[Entry], settings: LayerSettings, reporter: Reporter) -> list[Entry]:
    if not settings.slim:
        return list(entries)

    kept, saved = slim(entries, keep_pycache=settings.bytecode, target=settings.target)
    other_abi = len(other_abi_files((entry.arcname for entry in entries), settings.target))
    also = f" (with {other_abi} extension files for other Pythons)" if other_abi else ""
    reporter.info(f"slim: left out {len(entries) - len(kept)} files Lambda never uses{also}, "
                  f"{human_bytes(saved)} saved")
    return kept
