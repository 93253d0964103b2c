"""The base image: a reference resolved to the target's single-architecture manifest, its blobs fetched through the
registry HTTP API, checked and cached by digest (a rebuild with the same ``image_base`` fetches nothing).

Each blob is checked against its digest as it arrives; each layer is also inflated once, to check it against the
config's diff_id and learn its uncompressed size (the 10 GB check counts the base too).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
import zlib
from pathlib import Path
from typing import Any

from ..errors import RegistryError
from ..files import cache_dir, write_atomic
from ..manifest import BaseImage, Blob
from ..oci_registry import (
    DOCKER_CONFIG,
    GZIP_LAYERS,
    INDEXES,
    MANIFESTS,
    OCI_CONFIG,
    OCI_LAYER_GZIP,
    Client,
    Reference,
    digest_problem,
    env_credentials,
    parse_reference,
    pick_platform,
    platform_of,
    pull_scope,
    status_error,
)
from ..report import Reporter, human_bytes
from ..sections import ImageSettings

_ACCEPT = ", ".join([*MANIFESTS, *INDEXES])


def blob_cache() -> Path:
    return cache_dir() / "image-blobs" / "sha256"


def cached_blob(digest: str) -> Path:
    return blob_cache() / digest.removeprefix("sha256:")


def base_image(settings: ImageSettings, previous: BaseImage | None, refresh: bool, reporter: Reporter) -> BaseImage:
    """The pinned base for the target: ``previous`` when it was made from the same reference and its blobs are
    cached (no network), else resolved and fetched."""
    text = settings.image_base_reference
    if previous is not None and previous.reference == text and not refresh and _cached(previous):
        return previous
    ref = parse_reference(text, "image_base")
    credentials = _credentials_for(ref, settings)
    client = Client(ref.host, credentials)
    data, digest = _manifest(client, ref, ref.digest or ref.tag or "latest", str(ref))
    document = json.loads(data)
    if document.get("mediaType") in INDEXES or "manifests" in document:
        descriptor = pick_platform(document, settings.arch, f"image_base {text}")
        data, digest = _manifest(client, ref, descriptor["digest"], str(ref))
        document = json.loads(data)
    if document.get("mediaType") not in MANIFESTS or document.get("schemaVersion") != 2:
        raise RegistryError(f"image_base {text} is not an image manifest Lambda accepts "
                            f"({document.get('mediaType') or 'no media type'})\n"
                            "  use an OCI or Docker v2 schema 2 image")
    config_desc = document["config"]
    config_path = _fetch(client, ref, config_desc["digest"], int(config_desc["size"]), reporter)
    config = json.loads(config_path.read_bytes())
    wanted = platform_of(settings.arch)
    if config.get("architecture") != wanted or config.get("os") != "linux":
        raise RegistryError(f"image_base {text} is for {config.get('os')}/{config.get('architecture')}, "
                            f"not linux/{wanted} ({settings.arch})\n  pick a base built for {settings.arch}")
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    if len(diff_ids) != len(document.get("layers") or []):
        raise RegistryError(f"image_base {text}: its config lists {len(diff_ids)} layers, its manifest "
                            f"{len(document.get('layers') or [])}\n  the image is damaged: pick another")
    layers = []
    for desc, diff_id in zip(document["layers"], diff_ids, strict=True):
        if desc.get("mediaType") not in GZIP_LAYERS:
            raise RegistryError(f"image_base {text} has a {desc.get('mediaType')} layer; Lambda takes gzip layers "
                                "only\n  pick a base image with gzip-compressed layers")
        _fetch(client, ref, desc["digest"], int(desc["size"]), reporter)
        unzipped = _layer_size(desc["digest"], diff_id)
        layers.append(Blob(desc["digest"], int(desc["size"]), OCI_LAYER_GZIP, diff_id, unzipped))
    if config_desc.get("mediaType") not in (OCI_CONFIG, DOCKER_CONFIG):
        raise RegistryError(f"image_base {text} is not a container image (its config is "
                            f"{config_desc.get('mediaType')})\n  pick a container image")
    base = BaseImage(text, digest, Blob(config_desc["digest"], int(config_desc["size"]), OCI_CONFIG), layers)
    total = sum(layer.size for layer in layers)
    reporter.info(f"base: {text} -> {digest[:19]}... ({wanted}; {len(layers)} layers, {human_bytes(total)})")
    return base


def _credentials_for(ref: Reference, settings: ImageSettings) -> tuple[str, str] | None:
    """The registry user and password are for image_repository's registry only: never sent anywhere else."""
    if not settings.image_repository:
        return None
    target = parse_reference(settings.image_repository, "image_repository")
    return env_credentials() if target.host == ref.host else None


def _cached(base: BaseImage) -> bool:
    return all(_has(blob.digest, blob.size) for blob in [base.config, *base.layers])


def _has(digest: str, size: int) -> bool:
    try:
        return cached_blob(digest).stat().st_size == size
    except FileNotFoundError:
        return False


def _manifest(client: Client, ref: Reference, reference: str, shown: str) -> tuple[bytes, str]:
    what = f"the manifest of {shown}"
    response = client.request("GET", f"/v2/{ref.repository}/manifests/{reference}", pull_scope(ref.repository),
                              headers={"Accept": _ACCEPT}, what=what)
    if response.status != 200:
        raise status_error(response.status, client.host, what, response.data)
    data = response.data
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if reference.startswith("sha256:") and digest != reference:
        raise RegistryError(f"the registry {client.host} sent a manifest for {shown} that does not match its digest"
                            f"\n  {digest_problem(data, reference)}")
    return data, digest


def _fetch(client: Client, ref: Reference, digest: str, size: int, reporter: Reporter) -> Path:
    """The blob, from the cache or the registry (hash-checked, written whole or not at all)."""
    path = cached_blob(digest)
    if _has(digest, size):
        return path
    what = f"blob {digest[:19]}... of {ref}"
    response = client.request("GET", f"/v2/{ref.repository}/blobs/{digest}", pull_scope(ref.repository),
                              stream=True, what=what)
    if response.status != 200:
        raise status_error(response.status, client.host, what, response.data)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".blob.", dir=path.parent)
    tmp = Path(tmp_name)
    hasher, count = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in response.stream():
                hasher.update(chunk)
                count += len(chunk)
                out.write(chunk)
                reporter.progress(f"base: fetch {digest[7:19]}", min(count, size), size, " bytes")
        if f"sha256:{hasher.hexdigest()}" != digest or count != size:
            raise RegistryError(f"the registry {client.host} sent {what} with the wrong bytes "
                                f"({count:,} bytes, sha256:{hasher.hexdigest()[:12]}...)\n  run the build again")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _layer_size(digest: str, diff_id: str) -> int:
    """The layer's uncompressed length, checked against ``diff_id`` once and remembered beside the blob."""
    note = cached_blob(digest).with_suffix(".json")
    try:
        known: dict[str, Any] = json.loads(note.read_text())
        if known.get("diff_id") == diff_id:
            return int(known["unzipped_bytes"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        pass
    hasher, count = hashlib.sha256(), 0
    try:
        with gzip.open(cached_blob(digest), "rb") as stream:
            while chunk := stream.read(1 << 20):
                hasher.update(chunk)
                count += len(chunk)
    except (OSError, EOFError, zlib.error) as error:
        raise RegistryError(f"base layer {digest[:19]}... is not a valid gzip stream ({error})\n"
                            "  the base image is damaged: pick another") from None
    if f"sha256:{hasher.hexdigest()}" != diff_id:
        raise RegistryError(f"base layer {digest[:19]}... does not match its diff_id in the config\n"
                            "  the base image is damaged: pick another")
    write_atomic(note, json.dumps({"diff_id": diff_id, "unzipped_bytes": count}).encode())
    return count
