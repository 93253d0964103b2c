"""A build's figures (target, each artifact's sizes, each distribution's version and unzipped size) and the
difference between two builds. The build keeps the last build's figures in ``layers/previous-build.json``
(:func:`keep_previous`, written atomically when a build changes what the manifest records), so that the report
can say what changed; nothing outside the output directory is read or written.

The figures come from the manifest (``unit_bytes``: each unit's unzipped bytes) and the BOM (versions): what
the build wrote, never re-measured. Pure but for :func:`read_figures`, :func:`read_previous` and
:func:`keep_previous`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..files import write_atomic
from ..manifest import Manifest
from ..manifest import load as load_manifest
from .bom import Shipped, bom_bytes, read_bom

PREVIOUS_NAME = "previous-build.json"
_FORMAT = 1


@dataclass(frozen=True)
class Figures:
    """One build's figures: ``artifacts`` path -> (zipped, unzipped) bytes of the files on disk;
    ``units`` distribution (or vendor entry) -> (version, or "" when the BOM has none; unzipped bytes)."""

    target: str
    artifacts: dict[str, tuple[int, int]]
    units: dict[str, tuple[str, int]]

    def to_json(self) -> str:
        data = {"format": _FORMAT, "target": self.target,
                "artifacts": {path: {"zipped_bytes": z, "unzipped_bytes": u}
                              for path, (z, u) in self.artifacts.items()},
                "units": {name: {"version": v, "unzipped_bytes": u} for name, (v, u) in sorted(self.units.items())}}
        return json.dumps(data, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Figures | None:
        try:
            data = json.loads(text)
            if data.get("format") != _FORMAT:
                return None
            return cls(str(data["target"]),
                       {str(p): (int(a["zipped_bytes"]), int(a["unzipped_bytes"]))
                        for p, a in data["artifacts"].items()},
                       {str(n): (str(u["version"]), int(u["unzipped_bytes"])) for n, u in data["units"].items()})
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def figures_of(manifest: Manifest, shipped: Mapping[str, Shipped] | None) -> Figures:
    """The figures of ``manifest`` (versions from its BOM, ``shipped``; the app unit is left out: its size is
    the app artifact's)."""
    if manifest.image is not None:
        artifacts = {f"{blob.name} layer": (blob.size, blob.unzipped_bytes) for blob in manifest.image.layers}
    else:
        artifacts = {manifest.app.path: (manifest.app.zip_bytes, manifest.app.unzipped_bytes)}
        artifacts.update({layer.path: (layer.zip_bytes, layer.unzipped_bytes) for layer in manifest.layers})
    versions = {name: item.version for name, item in (shipped or {}).items()}
    units = {unit: (versions.get(unit, ""), size) for unit, size in manifest.unit_bytes.items() if unit != "app"}
    return Figures(f"{manifest.runtime}/{manifest.architecture}", artifacts, units)


def read_figures(manifest_path: Path, output_dir: Path) -> tuple[Manifest, bytes | None] | None:
    """The manifest on disk and its BOM's bytes, or None without a manifest: read before a build overwrites
    them, made into figures only when the build changed the manifest (:func:`keep_previous`)."""
    manifest = load_manifest(manifest_path, output_dir)
    if manifest is None:
        return None
    return manifest, bom_bytes(output_dir, manifest.bill_of_materials)


def read_previous(layers_path: Path) -> Figures | None:
    try:
        return Figures.from_json((layers_path / PREVIOUS_NAME).read_text(encoding="utf-8"))
    except OSError:
        return None


def keep_previous(layers_path: Path, before: tuple[Manifest, bytes | None] | None, after: Manifest) -> None:
    """After a build: keep the last build's figures (``before``: its manifest and BOM) when the build changed
    what the manifest records; an up-to-date build leaves the previous figures as they were."""
    if before is None:
        return
    manifest, bom = before
    if manifest.to_json() == after.to_json():
        return
    figures = figures_of(manifest, read_bom(bom))
    write_atomic(layers_path / PREVIOUS_NAME, figures.to_json().encode("utf-8"))


@dataclass(frozen=True)
class Change:
    """One distribution's change: ``kind`` is "added", "removed", "grown", "shrunk" or "version" (same size)."""

    name: str
    kind: str
    old_version: str
    new_version: str
    old_bytes: int  # unzipped
    new_bytes: int  # unzipped

    @property
    def delta(self) -> int:
        return self.new_bytes - self.old_bytes


def diff(previous: Figures, current: Figures) -> list[Change]:
    """What changed, by distribution (unzipped bytes), largest change first; unchanged ones left out."""
    changes = []
    for name in sorted(previous.units.keys() | current.units.keys()):
        old_version, old = previous.units.get(name, ("", 0))
        new_version, new = current.units.get(name, ("", 0))
        if name not in previous.units:
            kind = "added"
        elif name not in current.units:
            kind = "removed"
        elif new != old:
            kind = "grown" if new > old else "shrunk"
        elif new_version != old_version:
            kind = "version"
        else:
            continue
        changes.append(Change(name, kind, old_version, new_version, old, new))
    return sorted(changes, key=lambda c: (-abs(c.delta), c.name))
