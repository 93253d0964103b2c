"""The layers' pipeline: kept when up to date, else from the shared cache, else made:
resolve -> closure -> collect -> paths -> guard -> exclude -> slim -> bytecode -> audit -> strip.

Packing and splitting are the writer's (``zip_pipeline``, ``image_pipeline``); this returns checked entries.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..checks import audit, exclude, guard, paths
from ..checks.slim import slim
from ..checks.strip import strip_binaries
from ..entries import APP_MOUNT, LAYER_MOUNT, LAYER_PREFIX, Entry
from ..files import write_atomic
from ..layer_cache import Bom, CachedLayers, LayerCache
from ..manifest import BillOfMaterials, LayerRecord
from ..package_index import PackageIndex
from ..project_paths import ProjectPath
from ..report import Reporter, human_bytes
from ..sections import LayerSettings, ResolveSettings
from ..shared_libraries import other_abi_files
from ..sources.declaration import Declaration
from ..target_lock import TargetLock
from . import chalice_runtime as chalice
from . import collect, layers
from .app_pipeline import with_bytecode
from .lock_stage import BOM_NAME, write_bom
from .plan import BuildPlan
from .wheel_resolution import resolve_wheels


@dataclass(frozen=True)
class LayerInputs:
    """What the layers are made from, read before the plan."""

    declaration: Declaration
    framework: chalice.Runtime | None
    vendor: ProjectPath | None
    vendor_path: Path  # where vendor/ is (or would be): wheels dropped there are the project's own
    app_files: Sequence[tuple[str, ProjectPath]]


@dataclass(frozen=True)
class MadeLayers:
    """The layers' outcome: ``entries`` when they were made (None: kept, or from the shared cache), else the
    records and unit sizes to keep; the wheels used and the target lock when resolved."""

    entries: list[Entry] | None = None
    records: list[LayerRecord] = field(default_factory=list)
    unit_bytes: dict[str, int] = field(default_factory=dict)
    from_cache: bool = False
    used: list[Path] | None = None  # the wheels packed (None: the layers were not made)
    locked: TargetLock | None = None
    cached_bom: Bom | None = None  # from the shared cache: the BOM the building runner wrote


def make_layers(settings: LayerSettings, resolve: ResolveSettings, plan: BuildPlan, given: LayerInputs,
                index: PackageIndex, cache: LayerCache | None, reporter: Reporter) -> MadeLayers:
    """Keep the layers, take them from the shared cache, or make their checked entries."""
    previous = plan.previous
    hit = cache.fetch(plan.inputs["layers"], settings) if cache is not None and plan.ask_cache else None
    if previous is not None and plan.layers_fresh:
        reporter.info("layers: up to date")
        return MadeLayers(records=previous.layers, unit_bytes=previous.unit_bytes)
    if hit is not None:
        return _from_cache(settings, hit, previous.layers if previous else [], reporter)
    return _made(settings, resolve, plan, given, index, reporter)


def _from_cache(settings: LayerSettings, hit: CachedLayers, previous: Sequence[LayerRecord],
                reporter: Reporter) -> MadeLayers:
    records = _published_kept(hit.layers, previous)
    layers.remove_stale(settings, records)
    reporter.info(f"layers: from the shared cache ({hit.where}) in {hit.seconds:.2f}s, "
                  f"{len(records)} layer(s), no resolver run")
    return MadeLayers(records=records, unit_bytes=hit.unit_bytes, from_cache=True, cached_bom=hit.bill_of_materials)


def _published_kept(records: list[LayerRecord], previous: Sequence[LayerRecord]) -> list[LayerRecord]:
    """Layers from the shared cache keep the ARNs this project's manifest recorded for the same zip."""
    known = {(r.path, r.sha256): r.published for r in previous}
    for record in records:
        record.published = dict(known.get((record.path, record.sha256), {}))
    return records


def _made(settings: LayerSettings, resolve: ResolveSettings, plan: BuildPlan, given: LayerInputs,
          index: PackageIndex, reporter: Reporter) -> MadeLayers:
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
    return MadeLayers(entries, used=resolved.used, locked=resolved.locked)


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


def bill_of_materials(settings: LayerSettings, made: MadeLayers,
                      kept: BillOfMaterials | None) -> BillOfMaterials | None:
    """Write layers/pylock.toml for what the layers hold; layers not rebuilt keep the last build's (``kept``).
    Layers from the shared cache come with the BOM the runner that built them wrote, written here byte for byte
    (an entry without one removes a stale file rather than leave it to lie). Called once everything else was
    written, before the manifest."""
    path = settings.layers_path / BOM_NAME
    if made.from_cache:
        if made.cached_bom is None:
            path.unlink(missing_ok=True)
            return None
        data = made.cached_bom.text.encode("utf-8")
        write_atomic(path, data)
        return BillOfMaterials(path.relative_to(settings.output_dir).as_posix(), hashlib.sha256(data).hexdigest(),
                               made.cached_bom.distributions)
    if made.locked is None or made.entries is None:
        return kept
    if not made.locked.distributions:
        path.unlink(missing_ok=True)
        return None
    return write_bom(made.locked, {entry.unit for entry in made.entries}, settings.layers_path, settings.output_dir)
