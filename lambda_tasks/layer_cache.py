"""The build cache runners share: what an entry is and what a cache does (pure; ``aws/s3_cache.py`` keeps it in S3).

An entry is keyed by the layers' input fingerprint (``assemble/fingerprint.py``, the same on every machine for the
same inputs) and made of content-addressed layer zips plus one small record naming them and carrying the layers'
bill of materials (``layers/pylock.toml``, its bytes as the building runner wrote them: a runner that takes the
entry writes the same file and manifest reference as a local build), written last so that a reader never sees
half an entry. ``build()`` takes a :class:`LayerCache` from the command (``commands.py``): it
asks before resolving, and stores what it built; it never knows where the cache lives.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from .manifest import BillOfMaterials, LayerRecord
from .sections import LayerSettings

RECORD_FORMAT = 2  # 2: the record carries the bill of materials
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class Bom:
    """A bill of materials as the cache carries it: ``layers/pylock.toml``'s text and its distribution count."""

    text: str
    distributions: int


@dataclass
class CachedLayers:
    """A hit: the layers' records (their zips are in place, checked) and the units' sizes."""

    layers: list[LayerRecord]
    unit_bytes: dict[str, int]
    where: str  # s3://bucket/prefix
    bill_of_materials: Bom | None = None  # layers/pylock.toml's bytes and how many distributions it lists
    seconds: float = 0.0
    downloaded: int = 0


class LayerCache(Protocol):
    """Where built layers are shared (``aws.s3_cache.S3LayerCache``)."""

    where: str

    def fetch(self, fingerprint: str, settings: LayerSettings) -> CachedLayers | None:
        """The entry for ``fingerprint`` with its zips written under the layers directory, or None (a miss, or a
        broken cache: warned about, or raised as CacheError when ``cache_required``)."""

    def store(self, fingerprint: str, settings: LayerSettings, layers: Sequence[LayerRecord],
              unit_bytes: Mapping[str, int], bill_of_materials: BillOfMaterials | None = None) -> None:
        """Upload the zips not yet there, then the record (with the bill of materials the build wrote).
        Failures are warnings: the build is already done."""


def record_key(prefix: str, fingerprint: str) -> str:
    return f"{prefix}records/{fingerprint}.json"


def zip_key(prefix: str, sha256_hex: str) -> str:
    """Content-addressed: writers of the same zip write the same bytes to the same key."""
    return f"{prefix}zips/{sha256_hex}.zip"


def layer_path(settings: LayerSettings, number: int) -> str:
    """Where the build writes layer ``number``, relative to the output directory (as the manifest says)."""
    path = settings.layers_path / f"{settings.layer_name}-{number}.zip"
    return path.relative_to(settings.output_dir).as_posix()


def record_bytes(fingerprint: str, settings: LayerSettings, layers: Sequence[LayerRecord],
                 unit_bytes: Mapping[str, int], tool: str, bom: Bom | None = None) -> bytes:
    """The record of one entry: the layers as the manifest has them, without where they were published, and
    the bill of materials' text."""
    data = {
        "format": RECORD_FORMAT, "fingerprint": fingerprint, "runtime": settings.runtime,
        "architecture": settings.arch, "tool": tool,
        "layers": [{"name": r.name, "sha256": r.sha256, "zip_bytes": r.zip_bytes, "unzipped_bytes": r.unzipped_bytes,
                    "distributions": list(r.distributions), "entries_key": r.entries_key} for r in layers],
        "unit_bytes": dict(sorted(unit_bytes.items())),
        "bill_of_materials": None if bom is None else {
            "text": bom.text, "sha256": hashlib.sha256(bom.text.encode()).hexdigest(),
            "distributions": bom.distributions},
    }
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()


def parse_record(data: bytes, fingerprint: str,
                 settings: LayerSettings) -> tuple[list[LayerRecord], dict[str, int], Bom | None]:
    """The layers and unit sizes an entry holds; ValueError (saying what is wrong) for anything unexpected: the
    record comes from a shared bucket, so its names and paths are checked before any file is written."""
    try:
        raw = json.loads(data)
    except RecursionError:
        raise ValueError("the record is nested too deeply to be ours") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"the record is not JSON ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != RECORD_FORMAT:
        raise ValueError("the record has an unknown format")
    if raw.get("fingerprint") != fingerprint:
        raise ValueError("the record is for another fingerprint")
    if (raw.get("runtime"), raw.get("architecture")) != (settings.runtime, settings.arch):
        raise ValueError("the record is for another target")
    layers = raw.get("layers")
    units = raw.get("unit_bytes")
    if not isinstance(layers, list) or not isinstance(units, dict):
        raise ValueError("the record lacks its layers")
    records = []
    for number, item in enumerate(layers, 1):
        try:
            record = LayerRecord(layer_path(settings, number), str(item["sha256"]), int(item["zip_bytes"]),
                                 int(item["unzipped_bytes"]), name=str(item["name"]),
                                 distributions=[str(d) for d in item["distributions"]],
                                 entries_key=str(item.get("entries_key", "")))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"layer {number} of the record is incomplete") from None
        if record.name != f"{settings.layer_name}-{number}":
            raise ValueError(f"layer {number} of the record is named {record.name!r}")
        if len(record.sha256) != 64 or not set(record.sha256) <= _HEX or record.zip_bytes < 0:
            raise ValueError(f"layer {number} of the record has no valid sha256")
        records.append(record)
    try:
        sizes = {str(name): int(size) for name, size in units.items()}
    except (TypeError, ValueError):
        raise ValueError("the record's unit sizes are not numbers") from None
    return records, sizes, _bom(raw.get("bill_of_materials"))


def _bom(item: object) -> Bom | None:
    """The record's bill of materials: its text must have the sha256 the record gives."""
    if item is None:
        return None
    if not isinstance(item, dict) or not isinstance(item.get("text"), str) or \
            not isinstance(item.get("distributions"), int):
        raise ValueError("the record's bill of materials is incomplete")
    if hashlib.sha256(item["text"].encode()).hexdigest() != item.get("sha256"):
        raise ValueError("the record's bill of materials does not match its sha256")
    return Bom(item["text"], item["distributions"])
