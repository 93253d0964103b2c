"""``package_type = "image"``: the dependency and app layers, the image config and manifest, the OCI image layout.

    dependencies -> units (by distribution) -> the splitter with image budgets (sticky to the last build)
    -> gzip tars under var/task/; the app -> the top layer; base + ours -> config -> manifest -> dist/image/

A layer whose entries are unchanged keeps its blob (no gzip). The 10 GB limit is checked before anything is
written. Nothing here talks to a registry: the base comes in already fetched (``base_image.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..entries import Entry
from ..errors import LimitError
from ..files import write_atomic
from ..manifest import BaseImage, Blob, ImageRecord
from ..oci_registry import OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST, platform_of
from ..report import Reporter, human_bytes, largest_listing
from ..sections import ImageSettings
from . import split, tar
from .base_image import base_image, cached_blob

ROOT = "var/task/"  # LAMBDA_TASK_ROOT: code and dependencies of an image both live there
APP_LAYER = "app"
TOOL = "lambda-tasks"


@dataclass
class PlannedLayer:
    name: str
    units: list[str]
    members: list[tar.Member]
    key: str
    unzipped_bytes: int


def _unit_bytes(members: Sequence[tar.Member]) -> dict[str, int]:
    """unit -> the tar bytes its files take (headers and padding included; shared directories not)."""
    sizes: dict[str, int] = defaultdict(int)
    for member in members:
        if member.entry is not None:
            sizes[member.entry.unit] += len(member.header(0)) + -(-member.size // tar.BLOCK) * tar.BLOCK
    return dict(sizes)


def plan_dependency_layers(entries: Sequence[Entry], settings: ImageSettings,
                           previous: Mapping[str, int]) -> list[PlannedLayer]:
    """The dependencies in layers of at most ``image_layer_bytes`` (uncompressed) each, by distribution; a
    distribution larger than that gets a layer of its own. Sticky to ``previous`` (unit -> layer number)."""
    everything = tar.members(entries, ROOT)
    sizes = _unit_bytes(everything)
    cap = settings.image_layer_bytes
    big = sorted(name for name, size in sizes.items() if size > cap)
    small = [split.Unit(name, size, size) for name, size in sorted(sizes.items()) if size <= cap]
    # room for every unit alone: the splitter's layer-count and total checks never apply to images
    budget = split.Budget(max_layers=max(len(small), 1), layer_zip_bytes=cap, layer_unzipped_bytes=cap,
                          total_unzipped_bytes=sum(sizes.values()) + 1)
    sticky = {name: number for name, number in previous.items() if name not in big}
    assignment = split.pack(small, budget, previous=sticky) if small else []
    assignment += [[name] for name in big]
    by_unit: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_unit[entry.unit].append(entry)
    layers = []
    for number, names in enumerate(assignment, 1):
        members = tar.members([e for name in names for e in by_unit[name]], ROOT)
        key = tar.entries_key(members, settings.image_gzip)
        layers.append(PlannedLayer(f"deps-{number}", names, members, key, tar.tar_size(members)))
    return layers


def plan_app_layer(entries: Sequence[Entry], settings: ImageSettings) -> PlannedLayer:
    members = tar.members(entries, ROOT)
    key = tar.entries_key(members, settings.image_gzip)
    return PlannedLayer(APP_LAYER, [APP_LAYER], members, key, tar.tar_size(members))


def previous_assignment(record: ImageRecord | None) -> dict[str, int]:
    if record is None:
        return {}
    deps = [layer for layer in record.layers if layer.name != APP_LAYER]
    return {unit: number for number, layer in enumerate(deps, 1) for unit in layer.units}


def check_size(settings: ImageSettings, base: BaseImage, sizes: Mapping[str, int]) -> None:
    """The whole image, uncompressed, must fit Lambda's 10 GB: checked before any layer is written."""
    base_bytes = sum(layer.unzipped_bytes for layer in base.layers)
    total = base_bytes + sum(sizes.values())
    if total <= settings.image_limit:
        return
    listing = largest_listing(dict(sizes))
    raise LimitError(
        f"the image would be {human_bytes(total)} uncompressed, over Lambda's {human_bytes(settings.image_limit)} "
        f"for a container image\n  base {base_bytes:,} + ours {total - base_bytes:,} = {total:,} bytes; the limit "
        f"is {settings.image_limit:,}\n  largest of ours:\n{listing}\n"
        "  leave out what the function does not need (exclude = [...], slim = true) or pick a smaller base"
    )


def write_layers(settings: ImageSettings, planned: Sequence[PlannedLayer], previous: ImageRecord | None,
                 reporter: Reporter) -> list[Blob]:
    """Each layer's blob: the previous one when its entries are the same and its blob is there, else written
    (in parallel: zlib and hashlib release the GIL)."""
    blobs_dir = settings.image_path / "blobs" / "sha256"
    old = {layer.entries_key: layer for layer in previous.layers} if previous else {}
    kept: dict[str, Blob] = {}
    todo = []
    for layer in planned:
        before = old.get(layer.key)
        if before is not None and _present(blobs_dir, before):
            kept[layer.name] = Blob(before.digest, before.size, OCI_LAYER_GZIP, before.diff_id, before.unzipped_bytes,
                                    layer.name, sorted(layer.units), layer.key)
        else:
            todo.append(layer)
    for layer in todo:
        reporter.info(f"write: image layer {layer.name} ({human_bytes(layer.unzipped_bytes)} uncompressed)")
    cpus = os.cpu_count() or 1
    # a thread per layer reads, inflates and hashes it; a stream's blocks are deflated by every core, whichever
    # layer they come from, so that one large layer does not leave the other cores idle at the end
    with ThreadPoolExecutor(max_workers=cpus, thread_name_prefix="deflate") as deflaters, \
            ThreadPoolExecutor(max_workers=min(4, max(cpus, 2), max(len(todo), 1))) as pool:
        # the largest first: the others fill the cores beside it, instead of it running alone at the end
        futures = {layer.name: pool.submit(tar.write_layer, blobs_dir, layer.members, settings.image_gzip, deflaters)
                   for layer in sorted(todo, key=lambda layer: -layer.unzipped_bytes)}
        written = [futures[layer.name].result() for layer in todo]
    for layer, done in zip(todo, written, strict=True):
        if done.unzipped_bytes != layer.unzipped_bytes:  # tar_size is exact: a difference is a bug
            raise AssertionError(f"layer {layer.name}: {done.unzipped_bytes} bytes, planned {layer.unzipped_bytes}")
        kept[layer.name] = Blob(done.digest, done.size, OCI_LAYER_GZIP, done.diff_id, done.unzipped_bytes,
                                layer.name, sorted(layer.units), layer.key)
    return [kept[layer.name] for layer in planned]


def _present(blobs_dir: Path, blob: Blob) -> bool:
    try:
        return (blobs_dir / blob.digest.removeprefix("sha256:")).stat().st_size == blob.size
    except FileNotFoundError:
        return False


def image_config(settings: ImageSettings, base_config: Mapping[str, Any], layers: Sequence[Blob],
                 cmd: Sequence[str]) -> bytes:
    """The base's config with our layers and Cmd: its Entrypoint, Env and WorkingDir kept, no build time."""
    config = json.loads(json.dumps(base_config))
    config["architecture"], config["os"] = platform_of(settings.arch), "linux"
    runtime = dict(config.get("config") or {})
    runtime["Cmd"] = list(cmd)
    config["config"] = runtime
    for stale in ("container", "container_config", "docker_version"):  # the base's build machine, not ours
        config.pop(stale, None)
    rootfs = dict(config.get("rootfs") or {"type": "layers"})
    rootfs["diff_ids"] = [*rootfs.get("diff_ids", []), *(layer.diff_id for layer in layers)]
    config["rootfs"] = rootfs
    history = list(config.get("history") or [])
    for layer in layers:
        what = "the app" if layer.name == APP_LAYER else ", ".join(layer.units)
        history.append({"created_by": f"{TOOL}: {layer.name} ({what})"[:1000], "comment": TOOL})
    config["history"] = history
    return json.dumps(config, sort_keys=True, separators=(",", ":")).encode()


def _descriptor(media_type: str, blob: Blob) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": blob.digest, "size": blob.size}


def write_layout(settings: ImageSettings, base: BaseImage, layers: Sequence[Blob], cmd: Sequence[str],
                 reporter: Reporter) -> ImageRecord:
    """The config, the manifest, the base's blobs and index.json: a complete OCI image layout."""
    root = settings.image_path
    blobs_dir = root / "blobs" / "sha256"
    base_config = json.loads(cached_blob(base.config.digest).read_bytes())
    config_bytes = image_config(settings, base_config, layers, cmd)
    config = Blob("sha256:" + hashlib.sha256(config_bytes).hexdigest(), len(config_bytes), OCI_CONFIG)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": _descriptor(OCI_CONFIG, config),
        "layers": [_descriptor(OCI_LAYER_GZIP, layer) for layer in [*base.layers, *layers]],
        "annotations": {"org.opencontainers.image.base.name": base.reference,
                        "org.opencontainers.image.base.digest": base.digest},
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    digest = "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
    tag = digest.removeprefix("sha256:")
    for blob in [*base.layers, base.config]:
        _link(cached_blob(blob.digest), blobs_dir / blob.digest.removeprefix("sha256:"), blob.size)
    write_atomic(blobs_dir / config.digest.removeprefix("sha256:"), config_bytes)
    write_atomic(blobs_dir / tag, manifest_bytes)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [{
        "mediaType": OCI_MANIFEST, "digest": digest, "size": len(manifest_bytes),
        "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    write_atomic(root / "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    write_atomic(root / "index.json", json.dumps(index, sort_keys=True, separators=(",", ":")).encode())
    keep = {d.removeprefix("sha256:") for d in [digest, config.digest, base.config.digest,
                                               *(b.digest for b in [*base.layers, *layers])]}
    for stale in blobs_dir.iterdir():
        if stale.name not in keep and not stale.name.startswith("."):
            stale.unlink()
    path = root.relative_to(settings.output_dir).as_posix()
    return ImageRecord(path, digest, tag, config, list(layers), base, list(cmd))


def _link(source: Path, target: Path, size: int) -> None:
    """A base blob in the layout: a hard link to the cache's copy where the file system allows, else a copy."""
    try:
        if target.stat().st_size == size:
            return
    except FileNotFoundError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def assemble(settings: ImageSettings, handler: str, app_entries: Sequence[Entry], dep_entries: Sequence[Entry] | None,
             previous: ImageRecord | None, assignment: Mapping[str, int], refresh: bool,
             reporter: Reporter) -> tuple[ImageRecord, dict[str, int]]:
    """The image from the app's entries and the dependencies' (None: unchanged, ``previous``'s layers are kept),
    its command the ``handler``; returns it with unit -> uncompressed bytes."""
    base = base_image(settings, previous.base if previous else None, refresh, reporter)
    app = plan_app_layer(app_entries, settings)
    if dep_entries is None:
        assert previous is not None
        kept = [layer for layer in previous.layers if layer.name != APP_LAYER]
        sizes = {layer.name: layer.unzipped_bytes for layer in kept}
        unit_bytes = {unit: layer.unzipped_bytes for layer in kept for unit in layer.units}
        planned: list[PlannedLayer] = []
    else:
        planned = plan_dependency_layers(dep_entries, settings, assignment)
        sizes = {layer.name: layer.unzipped_bytes for layer in planned}
        unit_bytes = _unit_bytes(tar.members(dep_entries, ROOT))
    check_size(settings, base, {**sizes, APP_LAYER: app.unzipped_bytes})
    deps = write_layers(settings, planned, previous, reporter) if planned or dep_entries is not None else kept
    top = write_layers(settings, [app], previous, reporter)
    record = write_layout(settings, base, [*deps, *top], [handler], reporter)
    if previous is not None and previous.digest == record.digest:
        record.pushed = dict(previous.pushed)
    return record, unit_bytes


def summary(record: ImageRecord) -> list[str]:
    lines = [f"image: {record.path} {record.digest} ({human_bytes(record.unzipped_bytes)} uncompressed; "
             f"base {record.base.reference})"]
    for layer in record.layers:
        what = "the app" if layer.name == APP_LAYER else ", ".join(layer.units)
        lines.append(f"  {layer.name:>8}  {human_bytes(layer.unzipped_bytes):>10} -> {human_bytes(layer.size):>10}"
                     f"  {what[:80]}")
    return lines
