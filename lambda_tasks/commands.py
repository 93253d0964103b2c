"""The commands' orders: what ``build``, ``verify``, ``publish-layer``, ``deploy`` and ``lock`` do, and in which
order.

The tasks (Invoke, the console script) parse flags into Settings and call one of these; nothing else calls them.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from . import cache_prune as cache_io
from . import up_to_date
from .assemble import build as stage_build
from .assemble.output_lock import build_lock, clean_leftovers
from .config import Settings
from .errors import DeployError, LambdaTasksError, ResolveError
from .files import cache_dir
from .framework import app_wiring, chalice_notes
from .manifest import Manifest, load, require
from .report import Reporter, human_bytes
from .sources.chalice_app import read_app
from .sources.project import SEARCH_ORDER, find_source
from .treemap.figures import keep_previous, read_figures

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .deploy.functions import DeployResult
    from .deploy.layer_publish import PublishResult
    from .deploy.stage_lock import StageLock
    from .deploy.teardown import DeleteResult
    from .iac.package import PackageResult
    from .push.image_push import PushResult
    from .treemap.writer import Report
    from .verify import VerifyResult


@contextmanager
def exclusive(settings: Settings, reporter: Reporter, wait: bool = True) -> Iterator[None]:
    """Hold the output directory for one command (other commands wait, or fail with ``wait=False``), and clear
    what a killed build left there first."""
    with build_lock(settings.layers_path, wait, on_wait=reporter.info):
        freed = clean_leftovers([settings.layers_path, settings.app_zip_path.parent], cache_dir())
        if freed:
            reporter.info(f"removed {human_bytes(freed)} left by an interrupted build")
        yield


def run_build(settings: Settings, *, force: bool = False, reporter: Reporter | None = None) -> Manifest:
    """Build what is stale, with the shared cache when ``cache_bucket`` is set.

    The cache is made here and handed to ``build()`` (which knows only ``layer_cache.LayerCache``): build stays
    free of AWS, and aws free of build; boto3 is imported only when the layers are stale."""
    if settings.names_from and reporter is not None:  # where the layer and role names came from, when defaulted
        reporter.info(settings.names_from)
    cache = None
    if settings.cache_bucket:
        # lazy: the S3 cache (and boto3 behind it) only when cache_bucket is set
        from .aws.s3_cache import S3LayerCache

        cache = S3LayerCache(settings.deploy, reporter or Reporter())
    before = read_figures(settings.manifest_path, settings.output_dir)  # kept for the report when it changes
    manifest = stage_build(settings.building, force=force, reporter=reporter, cache=cache)
    keep_previous(settings.layers_path, before, manifest)
    return manifest


def build(settings: Settings, *, force: bool = False, reporter: Reporter | None = None,
          wait: bool = True, report: bool = False) -> Manifest:
    """``invoke build``: build what is stale (and, with ``report``, write layers/report.html)."""
    reporter = reporter or Reporter()
    with exclusive(settings, reporter, wait):
        manifest = run_build(settings, force=force, reporter=reporter)
        if report:
            _write_report(settings, manifest, reporter, lines=False)
        return manifest


def report(settings: Settings, *, reporter: Reporter | None = None, wait: bool = True) -> Report:
    """``invoke report``: layers/report.html and its short form for the last build (nothing is rebuilt)."""
    reporter = reporter or Reporter()
    with exclusive(settings, reporter, wait):
        # the report checks each file it reads against the manifest itself (treemap), with its own words
        return _write_report(settings, require(settings.manifest_path, settings.output_dir, check_files=False),
                             reporter, lines=True)


def _write_report(settings: Settings, manifest: Manifest, reporter: Reporter, *, lines: bool) -> Report:
    # lazy: this command's own modules; a no-op build must not load them (start-up time)
    from .checks.slim import droppable
    from .treemap.writer import ReportInputs, Slimming, write_report

    rules = Slimming(settings.slim, settings.strip_binaries, settings.exclude_runtime_provided, droppable,
                     settings.bytecode, settings.target)
    report = write_report(ReportInputs(settings.output_dir, settings.layers_path, settings.app_name,
                                       settings.layer_limit, settings.unzipped_limit, settings.extra_layers_bytes,
                                       settings.image_limit, rules), manifest)
    wrote = f"report: wrote {report.path.relative_to(settings.output_dir).as_posix()} (open it in a browser)"
    reporter.info("\n".join([*(report.lines if lines else []), wrote]))
    return report


def verify(settings: Settings, *, event: Path | None = None, reporter: Reporter | None = None,
           wait: bool = True, function: str | None = None, handler: str | None = None,
           pass_env: tuple[str, ...] = (), all_functions: bool = False, target_given: bool = False) -> VerifyResult:
    """``invoke verify``: verify the last build's target (another one only when ``--runtime``/``--arch`` ask for
    it), brought up to date when the project changed since, said in one line; then verify it."""
    # lazy: this command's own modules; a no-op build must not load them (start-up time)
    from .verify import verify as run_verify

    reporter = reporter or Reporter()
    with exclusive(settings, reporter, wait):
        built = load(settings.manifest_path, settings.output_dir)
        if built is not None and (built.runtime, built.architecture) != (settings.runtime, settings.arch):
            if target_given:
                reporter.info(f"verify: building for {settings.target} as asked; the last build was for "
                              f"{built.runtime}/{built.architecture}")
            else:
                reporter.info(f"verify: {built.runtime}/{built.architecture}, the last build's target (the settings "
                              f"say {settings.target}; --runtime/--arch verify another)")
                settings = dataclasses.replace(settings, runtime=built.runtime, arch=built.architecture)
        after = run_build(settings, reporter=Reporter(quiet=True))
        if built is None:
            reporter.info(f"verify: no build yet: built for {settings.target} first")
        elif (built.runtime, built.architecture) == (after.runtime, after.architecture) and \
                built.inputs != after.inputs:
            changed = " and ".join(k for k in ("app", "layers", "image") if built.inputs.get(k) != after.inputs.get(k))
            reporter.info(f"verify: rebuilt {changed or 'the artifacts'} for {settings.target} first: the project "
                          "changed since the last build")
        return run_verify(settings.layers, settings.function, event, reporter, function, handler, pass_env=pass_env,
                          all_functions=all_functions, kinds=_function_kinds(settings) if all_functions else None,
                          regions=settings.regions)


def _function_kinds(settings: Settings) -> dict[str, str]:
    """A Chalice app's functions' kinds (rest_api, sqs, schedule ...) by short name: the event verify --all gives."""
    app = read_app(settings.project_dir / "app.py") if (settings.project_dir / "app.py").is_file() else None
    return {function.short_name: function.kind for function in app.functions} if app is not None else {}


def publish(settings: Settings, *, plan: bool = False, reporter: Reporter | None = None,
            wait: bool = True) -> PublishResult:
    """``invoke publish-layer``: check what AWS would refuse, build if stale, then publish what is not yet published.

    Ctrl-C prints what was done and what was not, then goes on as KeyboardInterrupt."""
    # lazy: this command's own modules; a no-op build must not load them (start-up time)
    from .deploy.interrupt import report_interrupted
    from .deploy.layer_publish import PublishResult, publish_layers
    from .deploy.preflight import check_publish

    if settings.package_type == "image":
        raise DeployError("package_type is \"image\": an image has no Lambda layers to publish\n"
                          "  run `invoke publish-image` (or `invoke deploy`) instead")
    check_publish(settings.layers, settings.regions)
    reporter = reporter or Reporter()
    with exclusive(settings, reporter, wait):
        manifest = run_build(settings, reporter=reporter)
        result = PublishResult()
        try:
            return publish_layers(settings.layers, manifest, reporter=reporter, plan=plan, result=result,
                                  regions=settings.regions)
        except KeyboardInterrupt:
            report_interrupted(reporter, settings.function, settings.deploy, manifest, result, plan=plan)
            raise


def deploy(settings: Settings, *, plan: bool = False, reporter: Reporter | None = None,
           verify: bool = True, wait: bool = True, break_lock: bool = False) -> DeployResult:
    """``invoke deploy``: check what AWS would refuse, build if stale, verify, publish the layers, create or update
    the function(s). Ctrl-C prints what was done and what was not, then goes on as KeyboardInterrupt."""
    # lazy: this command's own modules; a no-op build must not load them (start-up time)
    from .aws.clients import Clients
    from .deploy.app_wiring import deploy_app, record_functions
    from .deploy.functions import DeployResult, deploy_functions, say_outcome
    from .deploy.interrupt import report_interrupted
    from .deploy.preflight import check_deploy, check_manifest
    from .deploy.stage_lock import stage_lock

    if not settings.function_specs():
        raise DeployError("no function to deploy: pass --function-name NAME, or set function_name or functions")
    # before building: --memory 0 builds and publishes nothing
    check_deploy(settings.function, settings.deploy, settings.layers, settings.package_type)
    reporter = reporter or Reporter()
    for note in chalice_notes(settings.deploy):
        reporter.info(f"note: {note}")
    if settings.package_type == "image":
        return _deploy_image(settings, plan=plan, reporter=reporter, verify=verify, wait=wait)
    with exclusive(settings, reporter, wait):
        manifest = run_build(settings, reporter=reporter)
        # each handler's module is in the app zip (or a layer)
        check_manifest(settings.layers, settings.function, manifest, deploy=True)
        if verify:  # a handler that cannot import is caught here, not at the first invocation
            # lazy: this command's own modules; a no-op build must not load them (start-up time)
            from .verify import verify as run_verify

            run_verify(settings.layers, settings.function, None, reporter, remembered=True, regions=settings.regions)
        result = DeployResult(wired_after=True)  # said after the wiring: say_outcome
        wiring = app_wiring(settings.deploy, settings.function, settings.layers, reporter)
        # the functions and the app's wiring (API, rules, mappings) under one stage lock: the wiring has no revision
        with stage_lock(None if plan else deploy_lock(settings, reporter), break_lock=break_lock):
            try:
                deploy_functions(settings.function, settings.deploy, settings.layers, manifest, reporter=reporter,
                                 plan=plan, result=result)
            except KeyboardInterrupt:
                report_interrupted(reporter, settings.function, settings.deploy, manifest, result, plan=plan)
                raise
            except LambdaTasksError:
                if not plan:
                    record_functions(wiring, result)  # what was made is in the record, for `invoke delete`
                raise
            result.app = deploy_app(wiring, result, clients=Clients(), reporter=reporter, plan=plan)
        say_outcome(reporter, result, plan, result.app.changed)
        return result


def delete(settings: Settings, *, plan: bool = False, keep_layers: bool = False,
           reporter: Reporter | None = None) -> DeleteResult:
    """``invoke delete``: remove what the deploys of the stage made, from its deploy record."""
    # lazy: this command's own modules; a no-op build must not load them (start-up time)
    from .aws.clients import Clients
    from .deploy.deploy_record import record_path
    from .deploy.teardown import delete as run_delete

    return run_delete(record_path(settings.output_dir, settings.stage), settings.stage, clients=Clients(),
                      reporter=reporter or Reporter(), plan=plan, keep_layers=keep_layers)


def deploy_lock(settings: Settings, reporter: Reporter) -> StageLock | None:
    """The lease deploys of one stage share in the cache bucket (deploy/stage_lock.py), or None without one."""
    # lazy: this command's own modules; a no-op build must not load them (start-up time)
    from .aws.clients import Clients
    from .deploy.stage_lock import StageLock, lock_key

    if not settings.cache_bucket:
        return None
    clients = Clients()
    region = next(iter(settings.regions), None) or clients.default_region() or "us-east-1"
    return StageLock(clients.s3(region), settings.cache_bucket,
                     lock_key(settings.cache_prefix, settings.app_name, settings.stage), reporter)


def _deploy_image(settings: Settings, *, plan: bool, reporter: Reporter, verify: bool,
                  wait: bool) -> DeployResult:
    """``deploy`` with package_type = "image": build, verify, push, then the functions (aws/image_deploy.py)."""
    # lazy: this command's own modules; a no-op build must not load them (start-up time)
    from .aws.clients import Clients
    from .deploy.app_wiring import deploy_app, record_functions
    from .deploy.functions import DeployResult, say_outcome
    from .deploy.image_functions import deploy_image, image_matrix
    from .deploy.interrupt import report_interrupted

    clients = Clients()
    # before building: a repository Lambda can pull from
    image_matrix(settings.image_repository, settings.regions, settings.function_specs(), clients)
    with exclusive(settings, reporter, wait):
        manifest = run_build(settings, reporter=reporter)
        if verify:
            # lazy: this command's own modules; a no-op build must not load them (start-up time)
            from .verify import verify as run_verify

            run_verify(settings.layers, settings.function, None, reporter, remembered=True, regions=settings.regions)
        result = DeployResult(wired_after=True)  # said after the wiring: say_outcome
        wiring = app_wiring(settings.deploy, settings.function, settings.layers, reporter)
        try:
            deploy_image(settings.function, settings.deploy, settings.layers, settings.image, manifest, clients=clients,
                         reporter=reporter, plan=plan, result=result)
        except KeyboardInterrupt:
            report_interrupted(reporter, settings.function, settings.deploy, manifest, result, plan=plan)
            raise
        except LambdaTasksError:
            if not plan:
                record_functions(wiring, result)
            raise
        result.app = deploy_app(wiring, result, clients=clients, reporter=reporter, plan=plan)
        say_outcome(reporter, result, plan, result.app.changed)
        return result


def publish_image(settings: Settings, *, plan: bool = False, reporter: Reporter | None = None,
                  wait: bool = True) -> PushResult:
    """``invoke publish-image``: build if stale, then push to ``image_repository`` what it does not have."""
    # lazy: this command's own modules; a no-op build must not load them (start-up time)
    from .push.image_push import image_of, repository_of
    from .push.image_push import publish_image as push

    repository_of(settings.image_repository)  # before building: no repository, nothing to push to
    reporter = reporter or Reporter()
    with exclusive(settings, reporter, wait):
        manifest = run_build(settings, reporter=reporter)
        image_of(manifest)
        return push(settings.image, manifest, reporter=reporter, plan=plan)


def clean(settings: Settings, *, cache: bool = False, keep: int | None = None, plan: bool = False,
          reporter: Reporter | None = None, wait: bool = True) -> int:
    """``invoke clean``: remove the last build's artifacts (what its manifest names); with ``cache``, prune the
    cache instead (to the last ``keep`` builds' entries, else to ``cache_max_bytes``). Returns the bytes freed."""
    reporter = reporter or Reporter()
    verb = "would remove" if plan else "removed"
    if cache:
        return _clean_cache(settings, keep, plan, reporter, verb)
    # lazy: this command's own modules; a no-op build must not load them (start-up time)
    from .assemble.clean import artifacts, remove_artifacts

    with exclusive(settings, reporter, wait):
        manifest = load(settings.manifest_path, settings.output_dir,
                        on_fault=lambda why: reporter.warn(f"clean: {why}"))
        if manifest is None:
            reporter.info(f"clean: nothing to remove (no build manifest at {settings.manifest_path})")
            return 0
        removals, kept = artifacts(settings.app, manifest)
        for line in kept:
            reporter.info(f"clean: {line}")
        for removal in removals:
            reporter.info(f"clean: {verb} {removal.path.relative_to(settings.output_dir).as_posix()} "
                          f"({human_bytes(removal.size)})")
        freed = sum(r.size for r in removals) if plan else remove_artifacts(settings.app, removals)
        if not plan:  # the no-op stamp the build wrote beside them (up_to_date.py) goes with them
            (settings.layers_path / up_to_date.STAMP).unlink(missing_ok=True)
    reporter.info(f"clean: {verb} {len(removals)} files, {human_bytes(freed)}")
    return freed


def _clean_cache(settings: Settings, keep: int | None, plan: bool, reporter: Reporter, verb: str) -> int:
    root = cache_dir()
    entries, uses = cache_io.scan(root)
    doomed = cache_io.plan(entries, uses, time.time(), keep_builds=keep,
                           max_bytes=None if keep is not None else settings.cache_max_bytes)
    freed = sum(e.size for e in doomed) if plan else cache_io.remove(doomed)
    counts = Counter(entry.kind for entry in doomed)
    what = ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in sorted(counts.items())) or "nothing"
    left = sum(e.size for e in entries) - freed
    why = f"what the last {keep} builds used" if keep is not None else \
        f"{human_bytes(settings.cache_max_bytes)} and what builds used in the last 30 days"
    reporter.info(f"clean: {verb} {what} from {root}: {human_bytes(freed)}; {human_bytes(left)} left "
                  f"(kept: {why})")
    return freed


def package(settings: Settings, *, fmt: str, out: Path | None = None, upload: bool = False,
            reporter: Reporter | None = None, wait: bool = True) -> PackageResult:
    """``invoke package``: build if stale, then write a CloudFormation, SAM or Terraform template for the
    artifacts (into ``out``, default the layers directory), uploading the zips with ``upload``."""
    # lazy: this command's own modules; a no-op build must not load them (start-up time)
    from .iac.package import package as write_package

    reporter = reporter or Reporter()
    with exclusive(settings, reporter, wait):
        manifest = run_build(settings, reporter=reporter)
        return write_package(settings.function, settings.deploy, settings.layers, manifest, fmt,
                             out or settings.layers_path, upload=upload, reporter=reporter,
                             app=app_wiring(settings.deploy, settings.function, settings.layers, reporter),
                             package_type=settings.package_type)


def lock(settings: Settings, *, output: str = "pylock.toml", reporter: Reporter | None = None) -> Path:
    """``invoke lock``: write a pylock.toml for the target from requirements.txt or pyproject.toml."""
    # lazy: this command's own modules; a no-op build must not load them (start-up time)
    from .resolve.pylock_writer import write_pylock

    reporter = reporter or Reporter()
    source = find_source(settings.project_dir, settings.requirements)
    if source is None:
        raise ResolveError(f"nothing to lock: {settings.project_dir} has no requirements.txt and no pyproject.toml "
                           "[project] dependencies")
    path = settings.project_dir / output
    count = write_pylock(settings.sources, settings.resolve, source, path, reporter)
    reporter.info(f"lock: wrote {output}: {count} packages for {settings.target} from {source.path.name}")
    searched = [name for name in SEARCH_ORDER if (settings.project_dir / name).is_file()]
    if settings.requirements != output and (not searched or searched[0] != output):
        reporter.info(f'lock: builds read it with requirements = "{output}" (now they read '
                      f"{settings.requirements or (searched[0] if searched else 'nothing')})")
    return path
