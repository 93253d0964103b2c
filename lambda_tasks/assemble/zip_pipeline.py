"""The zip path's writer: split the layers (sticky to the last assignment), check the total against Lambda's
limit, then write and commit: every zip and the manifest to temp files, renamed with the manifest last."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .. import manifest as manifest_io
from ..config import Settings
from ..files import Staged, commit, discard
from ..layer_cache import LayerCache
from ..manifest import BillOfMaterials, LayerRecord, Manifest
from ..report import Reporter, build_summary
from . import layers
from .layer_pipeline import MadeLayers
from .plan import BuildPlan


def finish_zip(settings: Settings, plan: BuildPlan, last: Manifest | None, app: layers.AppPlan, made: MadeLayers,
               cache: LayerCache | None, reporter: Reporter,
               bom: Callable[[], BillOfMaterials | None]) -> tuple[Manifest, list[str]]:
    """Write the layers that changed, the app zip and the manifest; return the manifest and the summary."""
    split = None
    if made.entries is not None:
        split = layers.plan_layers(made.entries, settings, app.unzipped_bytes,
                                   last.layer_assignment() if last else {}, reporter)
        layers.check_total(settings, app.unzipped_bytes, split.unzipped_bytes, split.unit_bytes)
    else:
        layers.check_total(settings, app.unzipped_bytes, sum(r.unzipped_bytes for r in made.records),
                           made.unit_bytes)
    previous = plan.previous.layers if plan.previous else []
    result = _write_and_commit(settings, plan, app, split, made, previous, reporter, bom)
    layers.remove_stale(settings, result.layers)
    if split is not None and cache is not None:
        cache.store(plan.inputs["layers"], settings.layers, result.layers, result.unit_bytes, result.bill_of_materials)
    return result, build_summary(result, settings.layer_limit, settings.unzipped_limit, settings.extra_layers_bytes)


def _write_and_commit(settings: Settings, plan: BuildPlan, app: layers.AppPlan, split: layers.LayerPlan | None,
                      made: MadeLayers, previous: Sequence[LayerRecord], reporter: Reporter,
                      bom: Callable[[], BillOfMaterials | None]) -> Manifest:
    """A full disk or an error while writing leaves the old zips and the old manifest, in agreement
    (files.commit)."""
    records, unit_bytes = made.records, made.unit_bytes
    staged: list[Staged] = []
    try:
        if split is not None:
            records = layers.write_layers(settings, split, previous, reporter, staged)
            unit_bytes = split.unit_bytes
        written_app = app.write(staged)
        result = Manifest(runtime=settings.runtime, architecture=settings.arch, app=written_app,
                          layers=records, inputs=dict(plan.inputs), unit_bytes=unit_bytes, bill_of_materials=bom())
        staged.append(manifest_io.stage(result, settings.manifest_path))
        commit(staged)
    except BaseException:
        discard(staged)
        raise
    return result
