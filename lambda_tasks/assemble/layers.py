"""Packing: compress the checked entries, size them against Lambda's limits, split them into layers, write.

Nothing here decides the order of the stages (that is build()'s); each function takes data and returns data.
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..entries import Entry, unit_key
from ..errors import LimitError
from ..files import Staged, content_sha256
from ..manifest import Artifact, LayerRecord
from ..report import Reporter, human_bytes, largest_listing
from ..sections import AppSettings, LayerSettings
from . import split
from .archive import (
    END_BYTES,
    Packed,
    directory_entry,
    dos_datetime,
    pack_entries,
    with_directories,
    write_zip,
    zip_size,
)

# ------------------------------------------------------------------------------------------------- app


@dataclass
class AppPlan:
    """The function zip's compressed entries, its sizes and where it goes (``app_zip``, relative to the output
    directory, and its path); nothing written yet."""

    packed: list[Packed]
    zip_bytes: int
    unzipped_bytes: int
    app_zip: str
    path: Path

    def write(self, staged: list[Staged] | None = None) -> Artifact:
        written = write_zip(self.path, self.packed, staged)
        return Artifact(self.app_zip, written.sha256, written.zip_bytes, written.unzipped_bytes)


def pack_app(entries: Sequence[Entry], settings: AppSettings) -> AppPlan:
    """Compress the function zip's entries and check it against Lambda's limits."""
    packed = with_directories(pack_entries(entries))
    size, unzipped = zip_size(packed), sum(p.size for p in packed)
    limit = settings.layer_limit
    if size > limit or unzipped > settings.unzipped_limit:
        largest = sorted(packed, key=lambda p: (-p.size, p.arcname))[:10]
        listing = "\n".join(f"    {human_bytes(p.size):>10}  {p.arcname}" for p in largest)
        raise LimitError(
            f"{settings.app_zip} would be {human_bytes(size)} zipped / {human_bytes(unzipped)} unzipped, over Lambda's "
            f"limits\n  limits: {limit:,} bytes zipped, {settings.unzipped_limit:,} unzipped\n"
            f"  largest files:\n{listing}\n"
            "  move data out of chalicelib/ (S3) or dependencies to requirements.txt"
        )
    return AppPlan(packed, size, unzipped, settings.app_zip, settings.app_zip_path)


# ---------------------------------------------------------------------------------------------- layers


@dataclass
class LayerPlan:
    """Packed layer entries grouped into layers, with the sizes the limits and the manifest need."""

    layers: list[list[Packed]]
    units: list[list[str]]
    unit_bytes: dict[str, int] = field(default_factory=dict)

    @property
    def unzipped_bytes(self) -> int:
        return sum(self.unit_bytes.values())


def unit_sizes(packed: Sequence[Packed]) -> dict[str, tuple[int, int]]:
    """unit -> (zip bytes upper bound incl. its directory entries, unzipped bytes)."""
    zipped: dict[str, int] = defaultdict(int)
    unzipped: dict[str, int] = defaultdict(int)
    dirs: dict[str, set[str]] = defaultdict(set)
    for entry in packed:
        zipped[entry.unit] += entry.zip_bytes
        unzipped[entry.unit] += entry.size
        parts = entry.arcname.split("/")[:-1]
        dirs[entry.unit].update("/".join(parts[: i + 1]) + "/" for i in range(len(parts)))
    for unit, names in dirs.items():
        zipped[unit] += sum(directory_entry(name).zip_bytes for name in names)
    return {unit: (zipped[unit], unzipped[unit]) for unit in zipped}


def plan_layers(entries: Sequence[Entry], settings: LayerSettings, app_unzipped: int, previous: Mapping[str, int],
                reporter: Reporter) -> LayerPlan:
    """Compress the layer entries and split them into layers under the limits, sticky to ``previous``."""
    packed = pack_entries(entries, progress=lambda done, total: reporter.progress("compress", done, total, " files"))
    sizes = unit_sizes(packed)
    budget = split.Budget(
        max_layers=settings.layer_count_limit,
        layer_zip_bytes=settings.layer_limit - END_BYTES,
        layer_unzipped_bytes=settings.unzipped_limit,
        total_unzipped_bytes=settings.unzipped_limit - app_unzipped - settings.extra_layers_bytes,
        s3=bool(settings.s3_bucket),
        slim=settings.slim,
    )
    units = [split.Unit(name, zipped, unzipped) for name, (zipped, unzipped) in sorted(sizes.items())]
    groups = {unit_key(name): number for name, number in settings.layer_groups.items()}
    assignment = split.pack(units, budget, previous=previous, groups=groups) if units else []
    by_unit: dict[str, list[Packed]] = defaultdict(list)
    for entry in packed:
        by_unit[entry.unit].append(entry)
    layers = [with_directories(p for name in names for p in by_unit[name]) for names in assignment]
    for number, layer in enumerate(layers, 1):
        size = zip_size(layer)
        if size > settings.layer_limit:  # the splitter's bounds make this a bug, not a user error
            raise AssertionError(f"layer {number} is {size} bytes, over {settings.layer_limit}")
    return LayerPlan(layers, assignment, {name: unzipped for name, (_, unzipped) in sizes.items()})


def _entries_key(layer: Sequence[Packed]) -> str:
    """Identifies a layer's bytes without writing it: same key, same zip."""
    rows = [(p.arcname, p.mode, p.crc, p.size, p.compress_size, p.method) for p in layer]
    return hashlib.sha256(json.dumps([dos_datetime(), rows]).encode()).hexdigest()


def write_layers(settings: LayerSettings, plan: LayerPlan, previous: Sequence[LayerRecord],
                 reporter: Reporter, staged: list[Staged]) -> list[LayerRecord]:
    """Write each layer that changed to a temp file (added to ``staged``: build() renames them with the app zip and
    the manifest); an unchanged one keeps its file (and its published ARNs) when its bytes are still the
    manifest's (a zip tampered with at the same size is written again)."""
    old = {record.path: record for record in previous}
    records = []
    directory = settings.layers_path
    for number, (layer, units) in enumerate(zip(plan.layers, plan.units, strict=True), 1):
        name = f"{settings.layer_name}-{number}"
        path = directory / f"{name}.zip"
        rel = path.relative_to(settings.output_dir).as_posix()
        key = _entries_key(layer)
        before = old.get(rel)
        if before and before.entries_key == key and _intact(path, before):
            records.append(LayerRecord(rel, before.sha256, before.zip_bytes, before.unzipped_bytes, name=name,
                                       distributions=sorted(units), published=before.published, entries_key=key))
            continue
        reporter.info(f"write: {rel}")
        written = write_zip(path, layer, staged)
        published = before.published if before and before.sha256 == written.sha256 else {}
        records.append(LayerRecord(rel, written.sha256, written.zip_bytes, written.unzipped_bytes, name=name,
                                   distributions=sorted(units), published=published, entries_key=key))
    return records


def remove_stale(settings: LayerSettings, records: Sequence[LayerRecord]) -> None:
    """Remove the ``<layer_name>-<n>.zip`` files in the layers directory that the records do not name (a build
    that now needs fewer layers): regular files named exactly as the build names layers, nothing else."""
    keep = {Path(settings.output_dir / record.path).name for record in records}
    ours = re.compile(re.escape(settings.layer_name) + r"-[1-9][0-9]*\.zip")
    if not settings.layers_path.is_dir():
        return
    for stale in settings.layers_path.iterdir():
        if ours.fullmatch(stale.name) and stale.name not in keep and stale.is_file() and not stale.is_symlink():
            stale.unlink()


def _intact(path: Path, record: LayerRecord) -> bool:
    """The file is the regular file the record describes: its size, and its sha256 (from the stat cache)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size == record.zip_bytes and \
        content_sha256(path) == record.sha256


def check_total(settings: LayerSettings, app_bytes: int, layer_bytes: int, unit_bytes: Mapping[str, int]) -> None:
    """Function code plus all its layers, unzipped, must fit Lambda's limit."""
    total = app_bytes + layer_bytes + settings.extra_layers_bytes
    if total <= settings.unzipped_limit:
        return
    listing = largest_listing(dict(unit_bytes))
    raise LimitError(
        f"function code plus layers would be {human_bytes(total)} unzipped, over Lambda's "
        f"{human_bytes(settings.unzipped_limit)}\n"
        f"  app {app_bytes:,} + layers {layer_bytes:,} + extra layers {settings.extra_layers_bytes:,} = {total:,} "
        f"bytes; the limit is {settings.unzipped_limit:,}\n"
        f"  largest distributions:\n{listing}\n"
        "  leave out what the runtime provides (exclude_runtime_provided = true), unused packages "
        "(exclude = [...]), or set package_type = \"image\" for a container image (up to 10 GB)"
    )
