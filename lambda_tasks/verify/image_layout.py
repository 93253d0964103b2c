"""An image's own layers (dependencies, then the app) unpacked over a Lambda-like root: /var/task as Lambda's
container has it, /opt empty (an image function has no Lambda layers). The base's layers are not unpacked: the
runtime checked is this host's interpreter of the target's version, as for zips."""

from __future__ import annotations

import os
import shutil
import tarfile
from collections.abc import Sequence
from pathlib import Path

from ..errors import VerifyError
from ..manifest import Blob


def unpack_layers(root: Path, blobs: Path, layers: Sequence[Blob]) -> None:
    """Each layer in order over ``root`` (a later layer's file wins, as overlayfs gives it)."""
    base = root.resolve()
    for layer in layers:
        path = blobs / layer.digest.removeprefix("sha256:")
        if not path.is_file():
            raise VerifyError(f"image layer {layer.name} ({path}) is missing; run `invoke build` first")
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                target = (root / member.name).resolve()
                if base not in target.parents:
                    raise VerifyError(f"image layer {layer.name} holds {member.name!r}, outside /var/task")
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isfile():
                    raise VerifyError(f"image layer {layer.name} holds {member.name!r}, which is not a file")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.unlink(missing_ok=True)
                source = archive.extractfile(member)
                assert source is not None
                with source, open(target, "wb") as copy:
                    shutil.copyfileobj(source, copy)
                os.chmod(target, member.mode & 0o777)
