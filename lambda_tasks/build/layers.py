"""The heavy stages of a build: collect, check, compress, plan and write the app zip and the layers."""

from __future__ import annotations

import ast
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from ..build.archive import END_BYTES, Packed, directory_entry, pack_entries, with_directories, write_zip, zip_size
from ..build.collect import LAYER_ROOT, app_entries, vendor_entries, wheel_entries
from ..config import Settings
from ..entries import VENDOR_PREFIX, Entry
from ..errors import LambdaTasksError, LimitError
from ..manifest import Artifact, LayerRecord
from ..report import Reporter, human_bytes
from ..targets import RUNTIME_PROVIDED

# ------------------------------------------------------------------------------------------------- app


@dataclass
class AppPlan:
    packed: list[Packed]
    zip_bytes: int
    unzipped_bytes: int

    def write(self, settings: Settings, reporter: Reporter) -> Artifact:
        written = write_zip(settings.app_zip_path, self.packed)
        return Artifact(settings.app_zip, written.sha256, written.zip_bytes, written.unzipped_bytes)


def assemble_app(settings: Settings, reporter: Reporter) -> AppPlan:
    """Collect, check and compress the function zip; nothing is written yet."""
    entries = app_entries(settings.project_dir)
    entries = process_entries(entries, settings, reporter, layer=False)
    packed = with_directories(pack_entries(entries))
    size, unzipped = zip_size(packed), sum(p.size for p in packed)
    limit = settings.layer_limit
    if size > limit or unzipped > settings.unzipped_limit:
        largest = sorted(packed, key=lambda p: (-p.size, p.arcname))[:10]
        listing = ", ".join(f"{p.arcname} {human_bytes(p.size)}" for p in largest)
        raise LimitError(
            f"{settings.app_zip} would be {size:,} bytes zipped / {unzipped:,} unzipped, over Lambda's limits of "
            f"{limit:,} zipped and {settings.unzipped_limit:,} unzipped; largest files: {listing}; move data out of "
            "chalicelib/ (S3) or dependencies to requirements.txt"
        )
    return AppPlan(packed, size, unzipped)


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

    @property
    def largest(self) -> dict[str, int]:
        return self.unit_bytes


def layer_entries(settings: Settings, wheels: Sequence[Path], reporter: Reporter) -> list[Entry]:
    """Every file of the layers: the wheels' (as installed) and vendor/'s, checked for collisions."""
    target = settings.target
    vendored, vendor_wheels = vendor_entries(settings.vendor_path)
    for wheel in vendor_wheels:
        if not target.accepts_wheel(wheel.name):
            raise LambdaTasksError(
                f"vendor/{wheel.name} is not built for {target} (it needs one of the tags "
                f"cp{target.version_nodot}/abi3/none on manylinux {target.machine}); replace it with a matching wheel"
            )
    excluded = {_unit_key(name) for name in settings.exclude}
    if settings.exclude_runtime_provided:
        excluded |= RUNTIME_PROVIDED
    entries: list[Entry] = []
    dropped: dict[str, list[Entry]] = defaultdict(list)
    for wheel in list(wheels) + list(vendor_wheels):
        for entry in wheel_entries(wheel):
            (dropped[entry.unit] if entry.unit in excluded else entries).append(entry)
    if dropped:
        reporter.info(f"exclude: left out {', '.join(sorted(dropped))}")
        _warn_if_imported(settings, dropped, reporter)
    by_name: dict[str, Entry] = {}
    for entry in sorted(entries, key=lambda e: (e.unit, e.arcname)):
        other = by_name.get(entry.arcname)
        if other is None:
            by_name[entry.arcname] = entry
        elif other.size != entry.size:
            reporter.warn(f"{entry.arcname} is shipped by both {other.unit} and {entry.unit}; keeping {other.unit}'s")
    for entry in vendored:
        other = by_name.get(entry.arcname)
        if other is not None:
            raise LambdaTasksError(
                f"{entry.source.path} collides with {entry.arcname} of the installed dependency {other.unit}; "
                f"remove one of them (from vendor/ or requirements.txt)"
            )
        by_name[entry.arcname] = entry
    return list(by_name.values())


def _top_level_names(entries: Iterable[Entry]) -> set[str]:
    names = set()
    for entry in entries:
        first = entry.arcname[len(LAYER_ROOT):].split("/", 1)[0]
        if not first.endswith((".dist-info", ".data")):
            names.add(first.split(".", 1)[0])
    return names


def app_imports(project_dir: Path) -> set[str]:
    """Top-level module names that app.py and chalicelib/ import."""
    from ..build.collect import app_files

    found: set[str] = set()
    for arcname, path in app_files(project_dir):
        if not arcname.endswith(".py"):
            continue
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".", 1)[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".", 1)[0])
    return found


def _warn_if_imported(settings: Settings, dropped: dict[str, list[Entry]], reporter: Reporter) -> None:
    imported = app_imports(settings.project_dir)
    for unit, entries in sorted(dropped.items()):
        hit = sorted(_top_level_names(entries) & imported)
        if hit and unit not in RUNTIME_PROVIDED:
            reporter.warn(f"{unit} is excluded but the app imports {', '.join(hit)}; it will fail to import on Lambda "
                          "unless another layer provides it")
        elif hit:
            reporter.warn(f"{unit} is excluded: the app's `import {hit[0]}` gets the Lambda runtime's own version")


def process_entries(entries: list[Entry], settings: Settings, reporter: Reporter, layer: bool) -> list[Entry]:
    """The checks and rewrites between collect and compress (guard, slim, bytecode, audit, strip)."""
    from ..checks import process_entries as run_checks

    return run_checks(entries, settings, reporter, layer=layer)


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


def assemble_layers(
    settings: Settings, reporter: Reporter, app_unzipped: int, previous: dict[str, int], refresh: bool
) -> LayerPlan:
    """Resolve, collect, compress and split the dependencies; nothing is written yet."""
    from ..build import split
    from ..resolve import resolve

    wheels = resolve(settings, reporter, refresh=refresh)
    entries = layer_entries(settings, wheels, reporter)
    entries = process_entries(entries, settings, reporter, layer=True)
    packed = pack_entries(entries, progress=lambda done, total: reporter.progress("compress", done, total, " files"))
    sizes = unit_sizes(packed)
    budget = split.Budget(
        max_layers=settings.layer_count_limit,
        layer_zip_bytes=settings.layer_limit - END_BYTES,
        layer_unzipped_bytes=settings.unzipped_limit,
        total_unzipped_bytes=settings.unzipped_limit - app_unzipped - settings.extra_layers_bytes,
        s3=bool(settings.s3_bucket),
    )
    units = [split.Unit(name, zipped, unzipped) for name, (zipped, unzipped) in sorted(sizes.items())]
    groups = {_unit_key(name): number for name, number in settings.layer_groups.items()}
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


def _unit_key(name: str) -> str:
    from packaging.utils import canonicalize_name

    return name if name.startswith(VENDOR_PREFIX) else canonicalize_name(name)


def _entries_key(layer: Sequence[Packed]) -> str:
    """Identifies a layer's bytes without writing it: same key, same zip."""
    from ..build.archive import dos_datetime

    rows = [(p.arcname, p.mode, p.crc, p.size, p.compress_size, p.method) for p in layer]
    return hashlib.sha256(json.dumps([dos_datetime(), rows]).encode()).hexdigest()


def write_layers(settings: Settings, plan: LayerPlan, previous: Sequence[LayerRecord],
                 reporter: Reporter) -> list[LayerRecord]:
    """Write each layer that changed; an unchanged one keeps its file (and its published ARNs)."""
    old = {record.path: record for record in previous}
    records = []
    directory = settings.layers_path
    for number, (layer, units) in enumerate(zip(plan.layers, plan.units), 1):
        name = f"{settings.layer_name}-{number}"
        path = directory / f"{name}.zip"
        rel = path.relative_to(settings.output_dir).as_posix()
        key = _entries_key(layer)
        before = old.get(rel)
        if before and before.entries_key == key and _same_file(path, before.zip_bytes):
            records.append(LayerRecord(rel, before.sha256, before.zip_bytes, before.unzipped_bytes, name=name,
                                       distributions=sorted(units), published=before.published, entries_key=key))
            continue
        reporter.info(f"write: {rel}")
        written = write_zip(path, layer)
        published = before.published if before and before.sha256 == written.sha256 else {}
        records.append(LayerRecord(rel, written.sha256, written.zip_bytes, written.unzipped_bytes, name=name,
                                   distributions=sorted(units), published=published, entries_key=key))
    keep = {Path(settings.output_dir / record.path).name for record in records}
    for stale in directory.glob(f"{settings.layer_name}-*.zip"):
        suffix = stale.stem[len(settings.layer_name) + 1:]
        if suffix.isdigit() and stale.name not in keep:
            stale.unlink()
    return records


def _same_file(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except FileNotFoundError:
        return False
