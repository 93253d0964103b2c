"""The image's pipeline (``package_type = "image"``): the layers, the config and the OCI layout; the manifest
records the image."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .. import manifest as manifest_io
from ..entries import Entry
from ..manifest import Artifact, BillOfMaterials, Manifest
from ..report import Reporter
from ..sections import ImageSettings
from . import oci_image as image
from .layer_pipeline import MadeLayers
from .plan import BuildPlan


def finish_image(settings: ImageSettings, handler: str, plan: BuildPlan, last: Manifest | None,
                 app_entries: Sequence[Entry], made: MadeLayers, reporter: Reporter,
                 bom: Callable[[], BillOfMaterials | None]) -> tuple[Manifest, list[str]]:
    """Write the image (its command the ``handler``) and its manifest; return the manifest and the summary
    lines."""
    previous = plan.previous
    record, unit_bytes = image.assemble(
        settings, handler, app_entries, made.entries, previous.image if previous else None,
        image.previous_assignment(last.image if last else None), plan.force, reporter)
    if made.entries is None and previous is not None:
        unit_bytes = previous.unit_bytes
    top = record.layers[-1]
    app = Artifact(f"{record.path}/blobs/sha256/{top.digest.removeprefix('sha256:')}",
                   top.digest.removeprefix("sha256:"), top.size, top.unzipped_bytes)
    result = Manifest(runtime=settings.runtime, architecture=settings.arch, app=app, layers=[],
                      inputs=dict(plan.inputs), unit_bytes=unit_bytes, image=record, bill_of_materials=bom())
    manifest_io.save(result, settings.manifest_path)
    return result, list(image.summary(record))
