"""An image build's treemap: the base's layers one block each, then ours (dependency layers -> distribution ->
top-level directory -> largest files, then the app layer), read from the blobs of the OCI layout.

Our layers are streamed (gzip -> tar, nothing unpacked, nothing held but the small ``*.dist-info/RECORD``
files), each blob hashed on the way and refused unless it is the one the manifest records. A gzip stream does
not say which of its bytes are whose, so a layer's gzipped size is shared among its files in proportion to
their sizes (``apportion``, pure). The base's layers are not read: the manifest has their sizes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import tarfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from ..entries import APP_MOUNT, APP_UNIT
from ..errors import ManifestError
from ..manifest import Blob, ImageRecord
from .savings import Saving, Slimming, estimate
from .sizes import Artifact, Member, Node, group, is_record, owner_function, record_owners

#: Where an image's layers hold the code and the dependencies (LAMBDA_TASK_ROOT), as tar member names.
ROOT = APP_MOUNT.strip("/") + "/"
BASE = "base"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_CHUNK = 1 << 20


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` in whole parts proportional to ``weights``, summing to ``total`` exactly (largest remainders
    get the bytes left over; all-zero weights share equally)."""
    if not weights:
        return []
    if sum(weights) <= 0:
        weights = [1] * len(weights)
    whole = sum(weights)
    shares = [total * w // whole for w in weights]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for index in by_remainder[: total - sum(shares)]:
        shares[index] += 1
    return shares


def gzip_shares(members: Sequence[Member], gzipped: int) -> list[Member]:
    """``members`` with the layer's ``gzipped`` bytes shared among them by their sizes."""
    shares = apportion(gzipped, [m.unzipped for m in members])
    return [Member(m.path, share, m.unzipped) for m, share in zip(members, shares, strict=True)]


def base_node(number: int, blob: Blob, reference: str) -> Node:
    """A base layer as one block: its uncompressed size where the manifest records it, else its gzipped size."""
    return Node(BASE, blob.size, blob.unzipped_bytes or blob.size, files=0,
                path=f"base layer {number} of {reference} ({blob.digest[:19]}...)")


class _Hashing:
    """A file read through, hashing and counting what passes."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.hasher = hashlib.sha256()
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.hasher.update(data)
        self.count += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:  # GzipFile's protocol asks for it; reading never seeks
        raise io.UnsupportedOperation("a blob is hashed as it is read: front to back, once")


def read_layer(path: Path, shown: str, blob: Blob) -> tuple[list[Member], dict[str, str]]:
    """One of our layers' files (``var/task/`` cut off; gzipped sizes 0) and path -> distribution from its
    RECORDs. Refused (ManifestError) unless the file is the blob ``blob`` records, byte for byte."""
    refused = ManifestError(f"image layer {blob.name} ({blob.digest[:19]}...) is missing or is not the blob the "
                            f"manifest records\n  {shown}\n  run `invoke build` first, then `invoke report`")
    members: list[Member] = []
    owners: dict[str, str] = {}
    try:
        if path.stat().st_size != blob.size:
            raise refused
        with path.open("rb") as raw:
            hashing = _Hashing(raw)
            # GzipFile, not tarfile's "r|gz": the latter stops after the first member of a multi-member layer
            # (image_gzip = "members") and checks no CRC; GzipFile reads every member and checks each CRC
            with gzip.GzipFile(fileobj=hashing, mode="rb") as unzipped, \
                    tarfile.open(fileobj=unzipped, mode="r|") as archive:
                for info in archive:
                    if not info.isfile():
                        continue
                    name = info.name.removeprefix(ROOT)
                    members.append(Member(name, 0, info.size))
                    if is_record(name) and (data := archive.extractfile(info)) is not None:
                        owners.update(record_owners(name, data.read()))
                while unzipped.read(_CHUNK):  # the end-of-archive blocks and the last member's CRC
                    pass
            while hashing.read(_CHUNK):
                pass
    except (OSError, EOFError, zlib.error, tarfile.TarError):
        raise refused from None
    if hashing.count != blob.size or f"sha256:{hashing.hasher.hexdigest()}" != blob.digest:
        raise refused
    return members, owners


def image_report(output_dir: Path, image: ImageRecord, rules: Slimming | None) -> tuple[list[Artifact],
                                                                                       dict[str, Saving]]:
    """The base's layers, then ours, bottom to top (each an artifact of the page), and with ``rules`` each unit's
    slimming estimates (strip: not measured)."""
    savings: dict[str, Saving] = {}
    artifacts = [Artifact(base_node(n, blob, image.base.reference), blob.size, blob.unzipped_bytes or blob.size,
                          base=True) for n, blob in enumerate(image.base.layers, 1)]
    for blob in image.layers:
        shown = f"{image.path}/blobs/sha256/{blob.digest.removeprefix('sha256:')}"
        if not _DIGEST.fullmatch(blob.digest):
            raise ManifestError(f"image layer {blob.name} has no sha256 digest in the manifest ({blob.digest[:80]!r})"
                                "\n  run `invoke build` first, then `invoke report`")
        members, owners = read_layer(output_dir / shown, shown, blob)
        shared = gzip_shares(members, blob.size)
        tree = group(f"{blob.name} layer", f"{blob.name} layer ({blob.digest[:19]}...)",
                     shared, owners, blob.units or [APP_UNIT])
        artifacts.append(Artifact(tree, blob.size, blob.unzipped_bytes))
        if rules is not None:
            savings.update(estimate(shared, owner_function(owners, blob.units or [APP_UNIT]), rules, None))
    return artifacts, savings
