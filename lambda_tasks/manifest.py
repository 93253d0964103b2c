"""layers/manifest.json: what the last build wrote, read by publish, deploy, CI scripts and the next build."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ManifestError
from .files import write_atomic

FORMAT_VERSION = 1


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
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        return cls(
            runtime=data["runtime"],
            architecture=data["architecture"],
            app=Artifact(**{k: data["app"][k] for k in ("path", "sha256", "zip_bytes", "unzipped_bytes")}),
            layers=[LayerRecord(**_known(LayerRecord, layer)) for layer in data.get("layers", [])],
            inputs=dict(data.get("inputs", {})),
            unit_bytes=dict(data.get("unit_bytes", {})),
            version=int(data.get("version", FORMAT_VERSION)),
            image=ImageRecord.from_json(data["image"]) if data.get("image") else None,
            bill_of_materials=BillOfMaterials(**data["bill_of_materials"]) if data.get("bill_of_materials") else None,
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


def load(path: Path) -> Manifest | None:
    """The manifest at ``path``, or None when there is none (or it is from an incompatible version)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        manifest = Manifest.from_json(text)
    except (ValueError, KeyError, TypeError):
        return None  # unreadable: the next build rewrites it
    return manifest if manifest.version == FORMAT_VERSION else None


def require(path: Path) -> Manifest:
    manifest = load(path)
    if manifest is None:
        raise ManifestError(f"no build manifest at {path}; run `invoke build` first")
    return manifest


def save(manifest: Manifest, path: Path) -> None:
    """Write atomically: a reader sees the old manifest or the new one, never half of one."""
    write_atomic(path, manifest.to_json().encode("utf-8"))


