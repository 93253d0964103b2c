"""``build()``: the one place that knows the order of the stages. Settings in, Manifest out.

    plan:    the last build -> the dependency source -> the app's files -> fingerprints -> plan (plan.py)
    app:     collect -> paths -> guard -> bytecode -> audit -> pack (limits)              (app_pipeline.py)
    layers:  kept, or from the shared cache, or resolve -> target lock -> collect -> paths -> guard -> exclude
             -> slim -> bytecode -> audit -> strip                       (layer_pipeline.py, wheel_resolution.py)
    write:   zip: split -> total size -> the layers, the app zip, the BOM, the manifest last (zip_pipeline.py);
             image: the OCI layout, the BOM, the manifest (image_pipeline.py)

Each stage is a function that takes data and returns data; the pipelines are imported only when a build has
something to make, so a no-op rebuild stays near start-up time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from .. import up_to_date
from ..cache_prune import prune_now_and_then, record_use
from ..files import cache_dir
from ..layer_cache import LayerCache
from ..manifest import BillOfMaterials, Manifest
from ..report import Reporter, human_bytes
from ..sections import BuildSections
from . import app_code, build_stamp
from . import chalice_runtime as chalice
from .fingerprint import outputs_present, vendor_tree
from .plan import LayerInputs, dependency_source, fingerprints, last_build, plan_build

__all__ = ["build", "dependency_source"]

#: Written when a --force build starts, removed when a build succeeds: while it is there, the artifacts on
#: disk are not known to be what their manifest's inputs make (a forced build failed after the cache or the
#: index gave other bytes), so the next build is forced too.
FORCE_PENDING = ".force-pending"


def build(sections: BuildSections, force: bool = False, reporter: Reporter | None = None,
          cache: LayerCache | None = None) -> Manifest:
    """Build what is stale; return the manifest of the artifacts on disk. With a shared ``cache``, stale layers
    are looked up there before anything is resolved (not with ``force``), and stored there once built. Each
    stage takes its section of ``sections`` (``settings.building``)."""
    reporter = reporter or Reporter()
    prelude = tuple(reporter.said)  # printed before this build: a no-op the stamp decides prints it again
    started, started_at, started_ns = time.monotonic(), time.time(), time.time_ns()
    sources, layers, image = sections.sources, sections.layers, sections.image
    last, previous = last_build(layers, sections.app.app_zip, image.image_dir, reporter)
    pending = layers.layers_path / FORCE_PENDING
    if not force and pending.is_file():
        reporter.info("build: the last --force build did not finish; building anew, as --force would")
        force = True
    # the dependency source, read once: every stage below takes this value, none reads the source again
    declaration = dependency_source(sources, sections.resolve.pip_args)
    # the project's files, checked once here (inside the project, links resolved, regular files): every stage
    # below takes these values
    image_mode = image.package_type == "image"
    # what this build writes: inside nothing that ships, or the next build ships it
    outputs = {"layers_dir": (layers.layers_dir, layers.layers_path), **(
        {"image_dir": (image.image_dir, image.image_path)} if image_mode else
        {"app_zip": (sections.app.app_zip, sections.app.app_zip_path)})}
    app_files = app_code.app_files(sources.project_dir, sources.app_paths, outputs, reporter.warn)
    vendor = vendor_tree(sources)
    app_code.check_outputs([vendor] if vendor else [], outputs, "the layers")
    framework = chalice.runtime(sources, sections.resolve, declaration, reporter, refresh=force) \
        if chalice.is_chalice_app(sources.project_dir) or app_code.imports_chalice(app_files) else None
    plan = plan_build(fingerprints(sections, declaration, framework, app_files, vendor), previous,
                      lambda which: previous is not None and outputs_present(previous, layers.output_dir, which),
                      force=force, image_mode=image_mode, shared_cache=cache is not None)
    if plan.up_to_date and previous is not None:
        reporter.info(f"{build_stamp.up_to_date_line(previous, sections)} ({time.monotonic() - started:.2f}s)")
        _used_cache(layers.layers_path, sections.cache_max_bytes, started_at, None, reporter)
        build_stamp.write(sections, declaration, framework, previous, reporter, prelude, started_ns)
        return previous
    up_to_date.forget()  # until this build succeeds, the stamp speaks for nothing
    if force:  # until this build succeeds, nothing on disk is taken as up to date
        pending.parent.mkdir(parents=True, exist_ok=True)
        pending.touch()

    # lazy: the checks and packers: a no-op build never loads them (start-up time)
    from . import app_pipeline, layer_pipeline

    index = app_pipeline.package_index(sections.resolve.pip_args)
    app_entries, app = app_pipeline.make_app(sections.app, app_files, framework, vendor, index, reporter,
                                             image_mode=image_mode, vendor_dir=sources.vendor_dir,
                                             extra_layers=layers.extra_layers)
    given = LayerInputs(declaration, framework, vendor, sources.vendor_path, app_files)
    made = layer_pipeline.make_layers(layers, sections.resolve, plan, given, index, cache, reporter)
    # the app's modules against the dependencies' (an image's kept layers are not read again: not checked)
    if made.entries is not None:
        app_code.warn_shadowing(app_entries, app_code.entry_modules(made.entries, image_mode), image_mode,
                                reporter.warn)
    elif not image_mode:
        kept = [(record.name, layers.output_dir / record.path) for record in made.records]
        app_code.warn_shadowing(app_entries, app_code.zip_modules(kept), image_mode, reporter.warn)

    def bom() -> BillOfMaterials | None:  # written once everything else was, before the manifest
        return layer_pipeline.bill_of_materials(layers, made, plan.kept_bill_of_materials)

    if app is None:
        # lazy: not loaded by a no-op build (start-up time)
        from .image_pipeline import finish_image

        result, summary = finish_image(image, sections.handler, plan, last, app_entries, made, reporter, bom)
    else:
        # lazy: not loaded by a no-op build (start-up time)
        from .zip_pipeline import finish_zip

        result, summary = finish_zip(layers, plan, last, app, made, cache, reporter, bom)
    for line in summary:
        reporter.info(line)
    reporter.info(f"built in {time.monotonic() - started:.2f}s; manifest: "
                  f"{layers.manifest_path.relative_to(layers.output_dir).as_posix()}")
    pending.unlink(missing_ok=True)
    _used_cache(layers.layers_path, sections.cache_max_bytes, started_at, made.used, reporter)
    build_stamp.write(sections, declaration, framework, result, reporter, prelude, started_ns)
    return result


def _used_cache(layers_path: Path, cache_max_bytes: int, started_at: float, wheels: Sequence[Path] | None,
                reporter: Reporter) -> None:
    """Record what this build used from the cache; once a day, prune what no build used for 30 days."""
    record_use(cache_dir(), layers_path, started_at, wheels)
    removed = prune_now_and_then(cache_dir(), cache_max_bytes)
    if removed:
        reporter.info(f"cache: removed {len(removed)} entries no build used in 30 days "
                      f"({human_bytes(sum(e.size for e in removed))})")
