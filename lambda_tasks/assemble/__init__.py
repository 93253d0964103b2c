"""``build()``: the one place that knows the order of the stages. Settings in, Manifest out.

    app:     collect -> paths -> guard -> bytecode -> audit -> pack (limits)
    layers:  resolve -> closure -> collect -> paths -> guard -> exclude -> slim -> bytecode -> audit -> strip
             -> pack and split (limits)
    then:    total size -> write the layers, the app zip, the manifest

Each stage is a function that takes data and returns data; the heavy ones are imported only when a build
has something to do, so a no-op rebuild stays near start-up time.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .. import manifest as manifest_io
from ..config import Settings
from ..entries import APP_MOUNT, LAYER_MOUNT, LAYER_PREFIX, Entry
from ..files import Staged, commit, discard
from ..layer_cache import LayerCache
from ..manifest import Artifact, BillOfMaterials, LayerRecord, Manifest
from ..package_index import DEFAULT_INDEX, PackageIndex
from ..report import Reporter, build_summary, human_bytes
from ..sources.project import Source, find_source, generated_requirements, project_requirements
from ..sources.roots import Roots, declared_requirements
from ..target_lock import TargetLock
from ..targets import Target
from . import app_code
from . import chalice_runtime as chalice
from .fingerprint import app_fingerprint, image_fingerprint, layers_fingerprint, outputs_present, vendor_tree


def build(settings: Settings, force: bool = False, reporter: Reporter | None = None,
          cache: LayerCache | None = None) -> Manifest:
    """Build what is stale; return the manifest of the artifacts on disk. With a shared ``cache``, stale layers
    are looked up there before anything is resolved (not with ``force``), and stored there once built."""
    reporter = reporter or Reporter()
    started = time.monotonic()
    started_at = time.time()
    last = manifest_io.load(settings.manifest_path, settings.output_dir,
                            on_fault=lambda why: reporter.warn(f"{why}; building anew"))
    if last is not None:
        problem = manifest_io.layout_problem(last, settings.app_zip, settings.layers_dir, settings.layer_name,
                                             settings.image_dir)
        if problem:  # not what these settings build: its files are none of ours to keep, publish or remove
            reporter.info(f"{settings.manifest_path.name}: {problem}; building anew")
            last = None
    # Another target: its artifacts are of no use, but its layer assignment still is.
    same_target = last is not None and (last.runtime, last.architecture) == (settings.runtime, settings.arch)
    previous = last if same_target else None
    if last is not None and not same_target:
        reporter.info(f"target: {settings.target} (the last build was for {last.runtime}/{last.architecture})")
    settings, source = dependency_source(settings)
    framework = None
    if chalice.is_chalice_app(settings.project_dir):
        framework = chalice.runtime(settings, source, reporter, refresh=force)
    app_inputs = [f"{framework.wheel.parent.name}/{framework.wheel.name}"] if framework else []
    # the project's files, checked once here (inside the project, links resolved, regular files): every stage
    # below takes these values
    app_files = app_code.app_files(settings.project_dir, settings.app_paths)
    vendor = vendor_tree(settings)
    inputs = {"app": app_fingerprint(settings, app_files, app_inputs),
              "layers": layers_fingerprint(settings, *_source_inputs(source),
                                           framework=chalice.FRAMEWORK if framework else None, vendor_dir=vendor)}
    image_mode = settings.package_type == "image"
    if image_mode:
        inputs["image"] = image_fingerprint(settings)
    fresh = {
        which: previous is not None and not force and previous.inputs.get(which) == inputs[which]
        and outputs_present(previous, settings, which)
        for which in ("app", "layers")
    }
    same_image = previous is not None and previous.inputs.get("image") == inputs.get("image")
    if previous is not None and fresh["app"] and fresh["layers"] and same_image:
        what = previous.image.path if previous.image else f"{settings.app_zip} and {len(previous.layers)} layer(s)"
        reporter.info(f"up to date: {what} for {settings.target} ({time.monotonic() - started:.2f}s)")
        _used_cache(settings, started_at, None, reporter)
        return previous

    from ..checks import audit, guard, paths
    from . import collect, layers

    target = settings.target
    index = _package_index(settings.pip_args)  # asked only for advice, when a shared library is missing
    # -- the app
    app_code.check_imports(app_files, settings.project_dir, [settings.vendor_dir.split("/", 1)[0]])
    app_entries = app_code.app_entries(app_files)
    if framework is not None:
        reporter.info(chalice.describe(framework))
        app_entries += chalice.runtime_entries(framework, app_entries)
    paths.check_paths(app_entries, settings.app_zip)
    guard.check_files(app_entries, settings.include, warn=reporter.warn)
    app_entries = _with_bytecode(app_entries, settings, APP_MOUNT, reporter)
    audit.audit(app_entries, target, settings.audit_allow, mount=APP_MOUNT, extra_layers=settings.extra_layers,
                reporter=reporter, shipped=collect.vendor_libraries(vendor, image_mode), index=index)
    app = None if image_mode else layers.pack_app(app_entries, settings)

    # -- the layers
    entries: list[Entry] | None = None
    layer_records: list[LayerRecord] = []
    unit_bytes: dict[str, int] = {}
    hit = None if image_mode or force or cache is None or (previous is not None and fresh["layers"]) else \
        cache.fetch(inputs["layers"], settings)
    used: list[Path] | None = None  # the wheels packed (None: the layers are up to date)
    locked: TargetLock | None = None
    if previous is not None and fresh["layers"]:
        reporter.info("layers: up to date")
    elif hit is not None:
        layer_records, unit_bytes = _published_kept(hit.layers, previous.layers if previous else []), hit.unit_bytes
        layers.remove_stale(settings, layer_records)
        reporter.info(f"layers: from the shared cache ({hit.where}) in {hit.seconds:.2f}s, "
                      f"{len(layer_records)} layer(s), no resolver run")
    else:
        from ..checks import exclude
        from ..resolve import resolve
        from .early import EarlyChecks

        if source is not None:
            reporter.info(source.describe(settings.project_dir))
        early: EarlyChecks | None = None
        from .lock_stage import find_links_origins, target_lock

        roots = _roots(settings, source)
        own: set[str] = set()  # built from the project's own sources: the secret scan reads them
        if source is not None and source.is_lock:
            from ..resolve.lockfile import resolve_lock

            wheels, origins = resolve_lock(settings, source.kind, source.path, reporter, own)
            wheels, locked = target_lock(wheels, origins, roots, target, source.path.name, reporter,
                                         leave_out_unneeded=source.kind == "pylock")
        else:
            early = EarlyChecks(target)  # the wheels pip fetched are checked while it resolves
            try:
                wheels = resolve(settings, reporter, refresh=force, on_wheel=early.submit, own=own)
                origins = find_links_origins(wheels, _find_links(settings), settings.project_dir, "installer")
                wheels, locked = target_lock(wheels, origins, roots, target,
                                             source.path.name if source else "requirements.txt", reporter)
            except BaseException:
                early.cancel()
                raise
        used = [*wheels, *([framework.wheel] if framework else [])]
        if framework is not None:
            wheels = _without_framework(wheels, settings, source, reporter)
        # the audit's memo is filled as the wheels' CRCs are checked, from the same inflated bytes
        with audit.remembered_verdicts(target) as memo:
            checked = early.finish(memo) if early is not None else set()
            entries = collect.layer_entries(wheels, vendor, target, reporter, memo, checked)
            paths.check_paths(entries, "the layers")
            own.update(collect.vendored_wheel_units(entries, settings.vendor_path))
            guard.check_files(entries, settings.include, own, reporter.warn)  # the index's wheels are third-party
            if settings.exclude_runtime_provided:
                from ..sources.requirements import requirement_lines

                exclude.warn_pinned_runtime_provided(requirement_lines(settings.requirements_path),
                                                     settings.requirements or "requirements.txt", reporter)
            excluded = exclude.excluded_units(settings.exclude, settings.exclude_runtime_provided)
            if excluded:
                imports = exclude.app_imports((arcname, found.path) for arcname, found in app_files)
                entries = exclude.exclude(entries, excluded, imports, reporter)
            entries = _slimmed(entries, settings, reporter)
            if image_mode:  # an image has no /opt: the dependencies sit beside the app in /var/task
                entries = [dataclasses.replace(e, arcname=e.arcname.removeprefix(LAYER_PREFIX)) for e in entries]
            entries = _with_bytecode(entries, settings, APP_MOUNT if image_mode else LAYER_MOUNT, reporter)
            verified = audit.audit(entries, target, settings.audit_allow, memo,
                                   mount=APP_MOUNT if image_mode else LAYER_MOUNT,
                                   extra_layers=settings.extra_layers, reporter=reporter, index=index)
        if settings.strip_binaries:
            from ..checks.strip import strip_binaries

            entries, _ = strip_binaries(entries, verified, target, reporter)
    def bom() -> BillOfMaterials | None:  # written once everything else was, before the manifest
        kept = previous.bill_of_materials if previous is not None and fresh["layers"] else None
        return _bill_of_materials(settings, locked, entries, hit is not None, kept)

    if image_mode:
        manifest = _finish_image(settings, app_entries, entries, previous, last, inputs, force, reporter, started,
                                 bom)
        _used_cache(settings, started_at, used, reporter)
        return manifest
    assert app is not None
    plan = None
    if entries is not None:
        plan = layers.plan_layers(entries, settings, app.unzipped_bytes,
                                  last.layer_assignment() if last else {}, reporter)
        layers.check_total(settings, app.unzipped_bytes, plan.unzipped_bytes, plan.unit_bytes)
    elif hit is None:
        layer_records, unit_bytes = previous.layers, previous.unit_bytes  # type: ignore[union-attr]

    # -- write: every zip and the manifest to temp files, then renamed, the manifest last (files.commit): a full
    # disk or an error while writing leaves the old zips and the old manifest, in agreement
    if plan is None:
        layers.check_total(settings, app.unzipped_bytes, sum(r.unzipped_bytes for r in layer_records), unit_bytes)
    staged: list[Staged] = []
    try:
        if plan is not None:
            layer_records = layers.write_layers(settings, plan, previous.layers if previous else [], reporter, staged)
            unit_bytes = plan.unit_bytes
        written_app = app.write(settings, staged)
        result = Manifest(runtime=settings.runtime, architecture=settings.arch, app=written_app,
                          layers=layer_records, inputs=inputs, unit_bytes=unit_bytes, bill_of_materials=bom())
        staged.append(manifest_io.stage(result, settings.manifest_path))
        commit(staged)
    except BaseException:
        discard(staged)
        raise
    layers.remove_stale(settings, layer_records)
    if plan is not None and cache is not None:
        cache.store(inputs["layers"], settings, layer_records, unit_bytes)
    for line in build_summary(result, settings.layer_limit, settings.unzipped_limit, settings.extra_layers_bytes):
        reporter.info(line)
    reporter.info(f"built in {time.monotonic() - started:.2f}s; manifest: "
                  f"{settings.manifest_path.relative_to(settings.output_dir).as_posix()}")
    _used_cache(settings, started_at, used, reporter)
    return result


def _finish_image(settings: Settings, app_entries: Sequence[Entry], entries: Sequence[Entry] | None,
                  previous: Manifest | None, last: Manifest | None, inputs: dict[str, str], force: bool,
                  reporter: Reporter, started: float, bom: Callable[[], BillOfMaterials | None]) -> Manifest:
    """package_type = "image": the layers, the config and the OCI layout; the manifest records the image."""
    from . import oci_image as image

    record, unit_bytes = image.assemble(
        settings, app_entries, entries, previous.image if previous else None,
        image.previous_assignment(last.image if last else None), force, reporter)
    if entries is None and previous is not None:
        unit_bytes = previous.unit_bytes
    top = record.layers[-1]
    app = Artifact(f"{record.path}/blobs/sha256/{top.digest.removeprefix('sha256:')}",
                   top.digest.removeprefix("sha256:"), top.size, top.unzipped_bytes)
    result = Manifest(runtime=settings.runtime, architecture=settings.arch, app=app, layers=[], inputs=inputs,
                      unit_bytes=unit_bytes, image=record, bill_of_materials=bom())
    manifest_io.save(result, settings.manifest_path)
    for line in image.summary(record):
        reporter.info(line)
    reporter.info(f"built in {time.monotonic() - started:.2f}s; manifest: "
                  f"{settings.manifest_path.relative_to(settings.output_dir).as_posix()}")
    return result


def _bill_of_materials(settings: Settings, locked: TargetLock | None, entries: Sequence[Entry] | None,
                       from_cache: bool, kept: BillOfMaterials | None) -> BillOfMaterials | None:
    """Write layers/pylock.toml for what the layers hold; layers not rebuilt keep the last build's. Layers from
    the shared cache have none (the cache does not keep it): a stale one is removed rather than left to lie."""
    from .lock_stage import BOM_NAME, write_bom

    path = settings.layers_path / BOM_NAME
    if locked is None or entries is None:
        if from_cache:
            path.unlink(missing_ok=True)
        return None if from_cache else kept
    if not locked.distributions:
        path.unlink(missing_ok=True)
        return None
    return write_bom(locked, {entry.unit for entry in entries}, settings.layers_path, settings.output_dir)


def _published_kept(records: list[LayerRecord], previous: Sequence[LayerRecord]) -> list[LayerRecord]:
    """Layers from the shared cache keep the ARNs this project's manifest recorded for the same zip."""
    known = {(r.path, r.sha256): r.published for r in previous}
    for record in records:
        record.published = dict(known.get((record.path, record.sha256), {}))
    return records


def _used_cache(settings: Settings, started_at: float, wheels: Sequence[Path] | None, reporter: Reporter) -> None:
    """Record what this build used from the cache; once a day, prune what no build used for 30 days."""
    from ..cache_prune import prune_now_and_then, record_use
    from ..files import cache_dir

    record_use(cache_dir(), settings.layers_path, started_at, wheels)
    removed = prune_now_and_then(cache_dir(), settings.cache_max_bytes)
    if removed:
        reporter.info(f"cache: removed {len(removed)} entries no build used in 30 days "
                      f"({human_bytes(sum(e.size for e in removed))})")


def dependency_source(settings: Settings) -> tuple[Settings, Source | None]:
    """The file the dependencies come from; for a declaration other than a requirements file (pyproject.toml's
    [project] or [tool.poetry], a Pipfile), settings whose requirements file holds its lines."""
    source = find_source(settings.project_dir, settings.requirements)
    if source is None or source.is_lock:
        return settings, source
    if source.kind in {"pyproject", "poetry", "pipfile"}:
        lines = declared_requirements(source, settings.target.marker_environment(), settings.extras, settings.groups)
        return dataclasses.replace(settings, requirements=str(generated_requirements(lines))), source
    return dataclasses.replace(settings, requirements=settings.requirements or source.path.name), source


def _without_framework(wheels: Sequence[Path], settings: Settings, source: Source | None,
                       reporter: Reporter) -> list[Path]:
    """Chalice's command-line tool and what only it needs stay out of the layers (the function zip has the
    runtime); what the app's own requirements need stays."""
    from packaging.utils import canonicalize_name

    roots: list[str] | None
    pyproject = settings.project_dir / "pyproject.toml"
    if source is None or not source.is_lock:
        from ..sources.requirements import top_level_requirements

        roots = top_level_requirements(settings.requirements_path)[0]
    elif pyproject.is_file() and source.kind == "uv.lock":
        roots = project_requirements(pyproject, settings.extras, settings.groups)
    else:
        roots = None
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


def _source_inputs(source: Source | None) -> tuple[list[Path], list[Path]]:
    """A lock's files (the lock, and the declaration beside it) and the local directories it builds from."""
    if source is None or not source.is_lock:
        return [], []
    from ..sources.roots import lock_inputs

    return lock_inputs(source)


def _roots(settings: Settings, source: Source | None) -> Roots | None:
    """What the project declares it needs (the closure check's roots), for any source."""
    from ..sources.roots import declared_roots

    if source is None:
        return Roots((), settings.requirements or "requirements.txt")
    return declared_roots(source, settings.requirements_path, settings.target.marker_environment(),
                          settings.extras, settings.groups)


def _find_links(settings: Settings) -> list[str]:
    """The local --find-links directories of pip_args and the requirements file (wheels' origins)."""
    from ..sources.requirements import index_option_lines

    words = [*settings.pip_args, *(w for line in index_option_lines(settings.requirements_path) for w in line.split())]
    found = []
    for number, word in enumerate(words):
        value = word.split("=", 1)[1] if word.startswith("--find-links=") else \
            words[number + 1] if word in {"-f", "--find-links"} and number + 1 < len(words) else None
        if value and "://" not in value:
            found.append(value)
    return found


def _package_index(pip_args: Sequence[str]) -> PackageIndex:
    """The index pip would ask, as its configuration and ``pip_args`` say (not asked with --no-index)."""
    from ..resolve.pip_config import PipConfigError, command_line_settings, pip_settings

    try:
        pip = {**pip_settings(), **command_line_settings(pip_args)[0]}
    except PipConfigError:
        return PackageIndex(None, "pip's configuration could not be read")
    if pip.get("no-index", "").lower() not in ("", "0", "false", "no", "off"):
        return PackageIndex(None, "pip is told --no-index")
    return PackageIndex((pip.get("index-url") or DEFAULT_INDEX).split()[0])


def _slimmed(entries: Sequence[Entry], settings: Settings, reporter: Reporter) -> list[Entry]:
    if not settings.slim:
        return list(entries)
    from ..checks.slim import slim
    from ..shared_libraries import other_abi_files

    kept, saved = slim(entries, keep_pycache=settings.bytecode, target=settings.target)
    other_abi = len(other_abi_files((entry.arcname for entry in entries), settings.target))
    also = f" (with {other_abi} extension files for other Pythons)" if other_abi else ""
    reporter.info(f"slim: left out {len(entries) - len(kept)} files Lambda never uses{also}, "
                  f"{human_bytes(saved)} saved")
    return kept


def _with_bytecode(entries: Sequence[Entry], settings: Settings, mount: str, reporter: Reporter) -> list[Entry]:
    """Add unchecked-hash pycs when ``bytecode`` is on (compiled with the runtime's exact Python)."""
    if not settings.bytecode:
        return list(entries)
    from ..checks.bytecode import compile_entries, merge
    from ..host import find_interpreter

    target: Target = settings.target
    interpreter = find_interpreter(target, settings.bytecode_python)
    pycs = compile_entries(entries, target, interpreter, mount, reporter)
    what = "the app" if mount == APP_MOUNT else "the layers"
    version = ".".join(map(str, target.python_version))
    reporter.info(f"bytecode: {len(pycs)} unchecked-hash .pyc files for {what} ({version}, {interpreter})")
    return merge(entries, pycs)
