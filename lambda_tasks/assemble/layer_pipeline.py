"""The layers' pipeline: kept when up to date, else from the shared cache, else made:
resolve -> closure -> collect -> paths -> guard -> exclude -> slim -> bytecode -> audit -> strip.

Packing and splitting are the writer's (``zip_pipeline``, ``image_pipeline``); this returns checked entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..entries import Entry
from ..files import write_atomic
from ..layer_cache import Bom, CachedLayers, LayerCache
from ..manifest import BillOfMaterials, LayerRecord
from ..package_index import PackageIndex
from ..report import Reporter
from ..sections import LayerSettings, ResolveSettings
from ..target_lock import TargetLock
from . import layers
from .lock_stage import BOM_NAME, write_bom
from .plan import BuildPlan, LayerInputs


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
    # lazy: resolving and the layers' checks, only when the layers are made (an app-only build keeps them)
    from .layer_making import make

    entries, used, locked = make(settings, resolve, plan, given, index, reporter)
    return MadeLayers(entries, used=used, locked=locked)


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
