"""Writing the report: read what the manifest names, check it, make the summary, write the page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..entries import LAYER_PREFIX
from ..errors import ManifestError
from ..files import content_sha256, write_atomic
from ..manifest import Manifest
from .bom import bom_bytes, read_bom
from .figures import diff, figures_of, read_previous
from .image_trees import image_report
from .page import Limits, render
from .savings import Saving, Slimming, debug_bytes, estimate
from .sizes import Artifact, group, owner_function, read_members, with_overhead
from .summary import Summary, rows_of, text_lines, to_json

__all__ = ["Report", "ReportInputs", "Slimming", "write_report"]

REPORT_NAME = "report.html"


@dataclass(frozen=True)
class ReportInputs:
    """What the report needs of the settings: where the build wrote, the limits the bars measure against."""

    output_dir: Path
    layers_path: Path
    project: str  # the title's name: app_name
    layer_limit: int
    unzipped_limit: int
    extra_layers_bytes: int
    image_limit: int
    rules: Slimming


@dataclass(frozen=True)
class Report:
    """What ``invoke report`` wrote and says: the page's path, the terminal's lines, the --json fields."""

    path: Path
    lines: list[str]
    data: dict[str, Any]


def write_report(inputs: ReportInputs, manifest: Manifest) -> Report:
    """Write the report for the artifacts ``manifest`` names (each zip or layer checked against its hash)."""
    shipped = read_bom(bom_bytes(inputs.output_dir, manifest.bill_of_materials))
    target = f"{manifest.runtime}/{manifest.architecture}"
    if manifest.image is not None:
        artifacts, savings = image_report(inputs.output_dir, manifest.image, inputs.rules)
        limits = Limits(inputs.image_limit, inputs.image_limit, image=True)
        title, image = f"{inputs.project}: {target} image", True
    else:
        artifacts, savings = _zip_artifacts(inputs, manifest)
        limits = Limits(inputs.layer_limit, inputs.unzipped_limit, inputs.extra_layers_bytes)
        title, image = f"{inputs.project}: {target}", False
    previous = read_previous(inputs.layers_path)
    changes = diff(previous, figures_of(manifest, shipped)) if previous is not None else []
    summary = Summary(title, image, tuple(artifacts), rows_of(artifacts, shipped, savings), inputs.rules,
                      shipped is not None, previous, tuple(changes))
    path = inputs.layers_path / REPORT_NAME
    write_atomic(path, render(summary, limits).encode("utf-8"))
    return Report(path, text_lines(summary), to_json(summary))


def _zip_artifacts(inputs: ReportInputs, manifest: Manifest) -> tuple[list[Artifact], dict[str, Saving]]:
    records = [(manifest.app, "function zip", [*manifest.unit_bytes, "app"], False)]
    records += [(layer, f"layer {n}", layer.distributions, True) for n, layer in enumerate(manifest.layers, 1)]
    artifacts = []
    savings: dict[str, Saving] = {}
    for record, what, units, layer in records:
        path = inputs.output_dir / record.path
        if not path.is_file() or content_sha256(path) != record.sha256:
            raise ManifestError(f"{record.path} is missing or is not the zip the manifest records\n"
                                "  run `invoke build` first, then `invoke report`")
        prefix = LAYER_PREFIX if layer else ""
        members, owners = read_members(path, prefix)
        tree = group(f"{record.path} ({what})", record.path, members, owners, units)
        artifacts.append(Artifact(with_overhead(tree, record.zip_bytes, record.unzipped_bytes), record.zip_bytes,
                                  record.unzipped_bytes))
        debug = debug_bytes(path, prefix, [m.path for m in members])
        savings.update(estimate(members, owner_function(owners, units), inputs.rules, debug))
    return artifacts, savings
