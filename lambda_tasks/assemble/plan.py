"""What a build must make: the inputs read once, the last build, and the plan decided from them.

``plan_build`` is the one place that decides what is fresh (the app zip, the layers, the image) and what must be
made; it reads nothing itself (whether the last build's files are still on disk is asked through a callback, and
only when the fingerprints say they could be kept). Everything else here gathers what it decides from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import manifest as manifest_io
from ..config import Settings
from ..manifest import BillOfMaterials, Manifest
from ..project_paths import ProjectPath
from ..report import Reporter
from ..sources.project import Source, find_source, generated_requirements
from ..sources.roots import declared_requirements, lock_inputs
from . import chalice_runtime as chalice
from .fingerprint import app_fingerprint, image_fingerprint, layers_fingerprint


@dataclass(frozen=True)
class LayerInputs:
    """What the layers are made from, read before the plan."""

    source: Source | None
    framework: chalice.Runtime | None
    vendor: ProjectPath | None
    app_files: Sequence[tuple[str, ProjectPath]]


@dataclass(frozen=True)
class BuildPlan:
    """What this build keeps and what it makes. ``previous`` is the last build for the same target (None: none,
    or one for another target); ``inputs`` the fingerprints the new manifest records."""

    inputs: Mapping[str, str]
    previous: Manifest | None
    app_fresh: bool
    layers_fresh: bool
    image_fresh: bool
    image_mode: bool
    force: bool
    ask_cache: bool  # stale layers are looked up in the shared cache before anything is resolved

    @property
    def up_to_date(self) -> bool:
        return self.previous is not None and self.app_fresh and self.layers_fresh and self.image_fresh

    @property
    def kept_bill_of_materials(self) -> BillOfMaterials | None:
        """The last build's BOM, still true while its layers are kept."""
        return self.previous.bill_of_materials if self.previous is not None and self.layers_fresh else None


def plan_build(inputs: Mapping[str, str], previous: Manifest | None, present: Callable[[str], bool], *,
               force: bool = False, image_mode: bool = False, shared_cache: bool = False) -> BuildPlan:
    """Decide what is fresh: a part is kept when the last build (same target) had the same fingerprint, nobody
    said ``force`` and its files are still the manifest's (``present("app")``, ``present("layers")``)."""

    def fresh(which: str) -> bool:
        return previous is not None and not force and previous.inputs.get(which) == inputs[which] \
            and present(which)

    app_fresh, layers_fresh = fresh("app"), fresh("layers")
    image_fresh = previous is not None and previous.inputs.get("image") == inputs.get("image")
    return BuildPlan(dict(inputs), previous, app_fresh, layers_fresh, image_fresh, image_mode, force,
                     ask_cache=shared_cache and not (image_mode or force or layers_fresh))


def last_build(settings: Settings, reporter: Reporter) -> tuple[Manifest | None, Manifest | None]:
    """The last manifest when these settings built it (else None), and the same when it was for this target:
    another target's artifacts are of no use, but its layer assignment still is."""
    last = manifest_io.load(settings.manifest_path, settings.output_dir,
                            on_fault=lambda why: reporter.warn(f"{why}; building anew"))
    if last is not None:
        problem = manifest_io.layout_problem(last, settings.app_zip, settings.layers_dir, settings.layer_name,
                                             settings.image_dir)
        if problem:  # not what these settings build: its files are none of ours to keep, publish or remove
            reporter.info(f"{settings.manifest_path.name}: {problem}; building anew")
            last = None
    same_target = last is not None and (last.runtime, last.architecture) == (settings.runtime, settings.arch)
    if last is not None and not same_target:
        reporter.info(f"target: {settings.target} (the last build was for {last.runtime}/{last.architecture})")
    return last, last if same_target else None


def fingerprints(settings: Settings, source: Source | None, framework: chalice.Runtime | None,
                 app_files: Sequence[tuple[str, ProjectPath]], vendor: ProjectPath | None) -> dict[str, str]:
    """The inputs of each part: "app", "layers", and "image" for ``package_type = "image"``."""
    app_inputs = [f"{framework.wheel.parent.name}/{framework.wheel.name}"] if framework else []
    inputs = {"app": app_fingerprint(settings, app_files, app_inputs),
              "layers": layers_fingerprint(settings, *_source_inputs(source),
                                           framework=chalice.FRAMEWORK if framework else None, vendor_dir=vendor)}
    if settings.package_type == "image":
        inputs["image"] = image_fingerprint(settings)
    return inputs


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


def _source_inputs(source: Source | None) -> tuple[list[Path], list[Path]]:
    """A lock's files (the lock, and the declaration beside it) and the local directories it builds from."""
    if source is None or not source.is_lock:
        return [], []

    return lock_inputs(source)
