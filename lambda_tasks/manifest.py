"""layers/manifest.json: what the last build wrote, read by publish, deploy, CI scripts and the next build.

The file is input, not truth (the CI recipe passes it between jobs): :func:`read` checks its size, nesting, schema
and JSON types, and that every path it names stays in the output directory (manifest_schema.py);
:func:`files_problem` that every file it names is on disk with its size and sha256. A fault is a rebuild for
``build`` (:func:`load`), and one line naming the file and ``invoke build`` for the others (:func:`require`).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from . import project_paths
from .errors import LambdaTasksError, ManifestError
from .files import Staged, content_sha256, write_atomic
from .files import stage as stage_bytes
from .manifest_schema import checked

FORMAT_VERSION = 1
#: A manifest is a few KB; one over this is not ours.
MAX_BYTES = 4 * 1024 * 1024


@dataclass
class Artifact:
    """One zip: the app, or one layer. ``path`` is relative to the manifest's working directory."""

    path: str
    sha256: str  # hex digest of the zip file
    zip_bytes: int
    unzipped_bytes: int


@dataclass
class LayerRecord(Artifact):
    name: str = ""
    distributions: list[str] = field(default_factory=list)
    #: region -> LayerVersionArn of a published version with this exact content
    published: dict[str, str] = field(default_factory=dict)
    #: a hash of the entries as written (names, modes, CRCs, sizes): lets a rebuild skip rewriting the zip
    entries_key: str = ""


@dataclass
class Blob:
    """One blob of an image: a layer (gzip tar) or a config. ``digest`` is ``sha256:<hex>`` of its bytes."""

    digest: str
    size: int
    media_type: str = ""
    #: layers: ``sha256:<hex>`` of the uncompressed tar (the config's rootfs.diff_ids), and its length
    diff_id: str = ""
    unzipped_bytes: int = 0
    #: our layers: "deps-1", "deps-2", ..., "app", and the units (distributions) each holds
    name: str = ""
    units: list[str] = field(default_factory=list)
    #: our layers: a hash of the entries written (lets a rebuild keep an unchanged layer without gzipping it)
    entries_key: str = ""


@dataclass
class BaseImage:
    """The base image, pinned: the single-architecture manifest ``digest`` that ``reference`` resolved to."""

    reference: str
    digest: str
    config: Blob
    layers: list[Blob]


@dataclass
class ImageRecord:
    """The OCI image layout a ``package_type = "image"`` build wrote (``path``, relative like the zips)."""

    path: str
    digest: str  # the image manifest's digest, what Lambda's ImageUri pins
    tag: str  # the content hash, the tag a push gives it
    config: Blob
    layers: list[Blob]  # ours, bottom to top: dependencies, then the app
    base: BaseImage
    cmd: list[str] = field(default_factory=list)
    #: repository -> the digest last pushed there
    pushed: dict[str, str] = field(default_factory=dict)

    def all_layers(self) -> list[Blob]:
        return [*self.base.layers, *self.layers]

    @property
    def unzipped_bytes(self) -> int:
        return sum(layer.unzipped_bytes for layer in self.all_layers())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageRecord:
        base = data["base"]
        return cls(path=data["path"], digest=data["digest"], tag=data["tag"], config=_blob(data["config"]),
                   layers=[_blob(b) for b in data["layers"]], cmd=list(data.get("cmd", [])),
                   base=BaseImage(base["reference"], base["digest"], _blob(base["config"]),
                                  [_blob(b) for b in base["layers"]]),
                   pushed=dict(data.get("pushed", {})))


def _blob(data: dict[str, Any]) -> Blob:
    names = {f.name for f in fields(Blob)}
    return Blob(**{k: v for k, v in data.items() if k in names})


@dataclass
class BillOfMaterials:
    """``layers/pylock.toml``: the distributions the layers hold (PEP 751), its sha256 and how many it lists."""

    path: str
    sha256: str
    distributions: int


@dataclass
class Manifest:
    runtime: str
    architecture: str
    app: Artifact
    layers: list[LayerRecord]
    #: input fingerprints of the build that wrote this ({"app": hex, "layers": hex}); decides "up to date"
    inputs: dict[str, str] = field(default_factory=dict)
    #: unit (distribution or vendor entry) -> its unzipped size; lets the splitter and errors work without rezipping
    unit_bytes: dict[str, int] = field(default_factory=dict)
    version: int = FORMAT_VERSION
    #: package_type = "image": the image (``app`` is then its app layer and ``layers`` is empty)
    image: ImageRecord | None = None
    #: the build's bill of materials (None: no dependencies, or a build before it existed)
    bill_of_materials: BillOfMaterials | None = None

    def to_json(self) -> str:
        data = {
            "runtime": self.runtime,
            "architecture": self.architecture,
            "app": asdict(self.app),
            "layers": [_layer_json(layer) for layer in self.layers],
            "inputs": self.inputs,
            "unit_bytes": self.unit_bytes,
            "version": self.version,
            **({"image": asdict(self.image)} if self.image is not None else {}),
            **({"bill_of_materials": asdict(self.bill_of_materials)} if self.bill_of_materials else {}),
        }
        return json.dumps(data, indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str | dict[str, Any]) -> Manifest:
        """From checked data (manifest_schema.checked), or text this version wrote."""
        data = json.loads(text) if isinstance(text, str) else text
        return cls(
            runtime=data["runtime"],
            architecture=data["architecture"],
            app=Artifact(**{k: data["app"][k] for k in ("path", "sha256", "zip_bytes", "unzipped_bytes")}),
            layers=[LayerRecord(**_known(LayerRecord, layer)) for layer in data.get("layers", [])],
            inputs=dict(data.get("inputs", {})),
            unit_bytes=dict(data.get("unit_bytes", {})),
            version=int(data.get("version", FORMAT_VERSION)),
            image=ImageRecord.from_json(data["image"]) if data.get("image") else None,
            bill_of_materials=BillOfMaterials(**{k: data["bill_of_materials"][k] for k in ("path", "sha256",
                                                                                        "distributions")})
            if data.get("bill_of_materials") else None,
        )

    def layer_assignment(self) -> dict[str, int]:
        """distribution/unit -> 1-based layer number, as the previous build placed them."""
        return {dist: number for number, layer in enumerate(self.layers, 1) for dist in layer.distributions}


def _layer_json(layer: LayerRecord) -> dict[str, Any]:
    data = asdict(layer)
    # name first: it is what people look for
    return {"name": data.pop("name"), **data}


def _known(kind: type[LayerRecord], data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(kind)}
    return {k: v for k, v in data.items() if k in names}


def read(path: Path, output_dir: Path) -> Manifest | None:
    """The manifest at ``path`` as untrusted input: None when there is none; ManifestError (one line naming the
    file and ``invoke build``) when it is not one this version wrote (see manifest_schema.py)."""
    try:
        if not os.path.lexists(path):
            return None
        data = project_paths.read_bytes(path, MAX_BYTES, path.name)
    except LambdaTasksError as exc:
        raise _fault(path, str(exc).splitlines()[0]) from None
    try:
        raw = json.loads(data)
    except RecursionError:
        raise _fault(path, "nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fault(path, f"not JSON ({str(exc)[:60]})") from None
    problem = checked(raw, output_dir)
    if problem:
        raise _fault(path, problem)
    return Manifest.from_json(raw)


def _fault(path: Path, why: str) -> ManifestError:
    return ManifestError(f"{path.name} cannot be used: {why[:120]}\n  in {path}\n"
                         "  run `invoke build`: it writes a new one (it never trusts this one)")


def load(path: Path, output_dir: Path, on_fault: Callable[[str], None] | None = None) -> Manifest | None:
    """:func:`read`, with a fault as None (and ``on_fault`` told why): the next build rewrites the file."""
    try:
        return read(path, output_dir)
    except ManifestError as exc:
        if on_fault is not None:
            on_fault(str(exc).splitlines()[0])
        return None


def require(path: Path, output_dir: Path, check_files: bool = True) -> Manifest:
    """The manifest, or ManifestError; with ``check_files``, every file it names is on disk as it says (size and
    sha256), so a command that reads the zips reads what the build wrote."""
    manifest = read(path, output_dir)
    if manifest is None:
        raise ManifestError(f"no build manifest at {path}; run `invoke build` first")
    if check_files:
        problem = files_problem(manifest, output_dir)
        if problem:
            raise ManifestError(f"{problem[:120]}\n  run `invoke build`: it rebuilds what changed")
    return manifest


def layout_problem(manifest: Manifest, app_zip: str, layers_dir: str, layer_name: str, image_dir: str) -> str | None:
    """None when the manifest names exactly the files these settings build (the app zip, ``<layers_dir>/<layer_name>-
    <n>.zip`` in order, or the image in ``image_dir``); else what differs. Only such files are kept, published or
    deployed: an app path pointing at another project's zip is never used."""
    if manifest.image is not None:
        return None if manifest.image.path == image_dir else f"the image is {manifest.image.path}, not {image_dir}"
    if manifest.app.path != app_zip:
        return f"its app zip is {manifest.app.path[:60]}, not {app_zip}"
    for number, layer in enumerate(manifest.layers, 1):
        name = f"{layer_name}-{number}"
        if (layer.name, layer.path) != (name, f"{layers_dir}/{name}.zip"):
            return f"its layer {number} is {layer.path[:60]}, not {layers_dir}/{name}.zip"
    return None


def artifact_files(manifest: Manifest, which: str = "all") -> list[tuple[str, str, int]]:
    """(path relative to the output directory, sha256 hex, size or -1) of each file ``which`` ("app", "layers",
    "all") stands for; an image's blobs are named by their digests."""
    if manifest.image is not None:
        image = manifest.image
        blobs = f"{image.path}/blobs/sha256/"
        return [(blobs + b.digest.removeprefix("sha256:"), b.digest.removeprefix("sha256:"), b.size)
                for b in [image.config, *image.all_layers()]] + [(blobs + image.tag, image.tag, -1)]
    artifacts: list[Artifact] = [*([manifest.app] if which != "layers" else []),
                                 *(manifest.layers if which != "app" else [])]
    bom = manifest.bill_of_materials if which != "app" else None
    return [(a.path, a.sha256, a.zip_bytes) for a in artifacts] + ([(bom.path, bom.sha256, -1)] if bom else [])


def files_problem(manifest: Manifest, output_dir: Path, which: str = "all") -> str | None:
    """None when every file is a regular file of the manifest's size and sha256 (hashes come from the stat cache:
    a file changed in any way is hashed again); else what is wrong, naming the file."""
    for rel, sha, size in artifact_files(manifest, which):
        path = output_dir / rel
        try:
            info = path.lstat()
        except FileNotFoundError:
            return f"{rel} is missing"
        if not stat.S_ISREG(info.st_mode):
            return f"{rel} is {project_paths.kind_name(info.st_mode)}, not the file the build wrote"
        if (size >= 0 and info.st_size != size) or content_sha256(path) != sha:
            return f"{rel} changed since the build wrote the manifest"
    return None


def stage(manifest: Manifest, path: Path) -> Staged:
    """The manifest in a temp file beside ``path``, for files.commit to rename last."""
    return stage_bytes(path, manifest.to_json().encode("utf-8"))


def save(manifest: Manifest, path: Path) -> None:
    """Write atomically: a reader sees the old manifest or the new one, never half of one."""
    write_atomic(path, manifest.to_json().encode("utf-8"))


