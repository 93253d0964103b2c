"""What a build must make: the inputs read once, the last build, and the plan decided from them.

``plan_build`` is the one place that decides what is fresh (the app zip, the layers, the image) and what must be
made; it reads nothing itself (whether the last build's files are still on disk is asked through a callback, and
only when the fingerprints say they could be kept). Everything else here gathers what it decides from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .. import manifest as manifest_io
from ..manifest import BillOfMaterials, Manifest
from ..project_paths import ProjectPath
from ..report import Reporter
from ..sections import AppSettings, ImageSettings, LayerSettings, ResolveSettings, SourceSettings
from ..sources.declaration import Declaration, declare
from . import chalice_runtime as chalice
from .fingerprint import app_fingerprint, image_fingerprint, layers_fingerprint


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


def last_build(layers: LayerSettings, app_zip: str, image_dir: str,
               reporter: Reporter) -> tuple[Manifest | None, Manifest | None]:
    """The last manifest when these settings built it (else None), and the same when it was for this target:
    another target's artifacts are of no use, but its layer assignment still is."""
    last = manifest_io.load(layers.manifest_path, layers.output_dir,
                            on_fault=lambda why: reporter.warn(f"{why}; building anew"))
    if last is not None:
        problem = manifest_io.layout_problem(last, app_zip, layers.layers_dir, layers.layer_name, image_dir)
        if problem:  # not what these settings build: its files are none of ours to keep, publish or remove
            reporter.info(f"{layers.manifest_path.name}: {problem}; building anew")
            last = None
    same_target = last is not None and (last.runtime, last.architecture) == (layers.runtime, layers.arch)
    if last is not None and not same_target:
        reporter.info(f"target: {layers.target} (the last build was for {last.runtime}/{last.architecture})")
    return last, last if same_target else None


@dataclass(frozen=True)
class Parts:
    """The sections the fingerprints read, and the handler (the image's Cmd)."""

    sources: SourceSettings
    resolve: ResolveSettings
    app: AppSettings
    layers: LayerSettings
    image: ImageSettings
    handler: str


def fingerprints(parts: Parts, declaration: Declaration, framework: chalice.Runtime | None,
                 app_files: Sequence[tuple[str, ProjectPath]], vendor: ProjectPath | None) -> dict[str, str]:
    """The inputs of each part: "app", "layers", and "image" for ``package_type = "image"``."""
    app_inputs = [f"{framework.wheel.parent.name}/{framework.wheel.name}"] if framework else []
    inputs = {"app": app_fingerprint(parts.sources, parts.app, parts.image, app_files, app_inputs),
              "layers": layers_fingerprint(parts.sources, parts.resolve, parts.layers, parts.image, declaration,
                                           framework=chalice.FRAMEWORK if framework else None, vendor_dir=vendor)}
    if parts.image.package_type == "image":
        inputs["image"] = image_fingerprint(parts.image, parts.handler)
    return inputs


def dependency_source(sources: SourceSettings, pip_args: Sequence[str]) -> Declaration:
    """The project's dependency source, read once into the value every later stage takes."""
    return declare(sources, pip_args)
