"""``invoke report``: layers/report.html, a treemap of what takes the space in the built zips or image.

layout (the squarified layout, pure) · sizes (the zips' central directories -> a tree) · image (an image's
layers -> trees: the blobs streamed and checked) · page (the HTML, pure). This module reads what the manifest
names and writes the page.
"""

from __future__ import annotations

from pathlib import Path

from ..config import Settings
from ..errors import ManifestError
from ..files import content_sha256, write_atomic
from ..manifest import ImageRecord, Manifest
from .image_trees import image_artifacts
from .page import Artifact, Limits, render
from .sizes import read_artifact

REPORT_NAME = "report.html"


def report_path(settings: Settings) -> Path:
    return settings.layers_path / REPORT_NAME


def write_report(settings: Settings, manifest: Manifest) -> Path:
    """Write the report for the artifacts ``manifest`` names (each zip or layer checked against its hash)."""
    if manifest.image is not None:
        return _write_image_report(settings, manifest, manifest.image)
    records = [(manifest.app, "function zip", [*manifest.unit_bytes, "app"], False)]
    records += [(layer, f"layer {n}", layer.distributions, True) for n, layer in enumerate(manifest.layers, 1)]
    artifacts = []
    for record, what, units, layer in records:
        path = settings.output_dir / record.path
        if not path.is_file() or content_sha256(path) != record.sha256:
            raise ManifestError(f"{record.path} is missing or is not the zip the manifest records\n"
                                "  run `invoke build` first, then `invoke report`")
        tree = read_artifact(path, f"{record.path} ({what})", record.path, units, layer)
        artifacts.append(Artifact(tree, record.zip_bytes, record.unzipped_bytes))
    title = f"{settings.project_dir.name}: {manifest.runtime}/{manifest.architecture}"
    page = render(title, artifacts, Limits(settings.layer_limit, settings.unzipped_limit,
                                           settings.extra_layers_bytes))
    target = report_path(settings)
    write_atomic(target, page.encode("utf-8"))
    return target


def _write_image_report(settings: Settings, manifest: Manifest, image: ImageRecord) -> Path:
    title = f"{settings.project_dir.name}: {manifest.runtime}/{manifest.architecture} image"
    page = render(title, image_artifacts(settings.output_dir, image),
                  Limits(settings.image_limit, settings.image_limit, image=True))
    target = report_path(settings)
    write_atomic(target, page.encode("utf-8"))
    return target
