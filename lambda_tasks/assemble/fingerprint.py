"""Input fingerprints: what decides that the app zip or the layers are up to date.

Which settings feed which fingerprint is declared with each setting (``config.Affects``), not here.

A fingerprint is the same on every machine for the same inputs: the layers' one is also the key of the build
cache runners share through S3 (``cache_bucket``). So it holds contents and paths relative to the project, never
where the project, the cache directory or an interpreter is on this host: ``project_dir`` is left out (the files'
contents are in), a generated requirements file (from pyproject.toml, in the cache directory) counts by its
name, which is its content's hash, ``bytecode_python`` by its file name, ``pip_args`` paths inside the project
relative to it, ``PIP_CONFIG_FILE`` by its content, and index URLs without a user or token. What is left is
what can change the bytes: contents, settings, the tools' versions (lambda-tasks, pip, uv), SOURCE_DATE_EPOCH.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import __version__
from ..config import Affects, Settings, settings_affecting
from ..files import content_digests, tree_digest
from ..manifest import Artifact, Manifest
from ..sources.local_inputs import local_inputs, not_source
from ..sources.requirements import PIP_INDEX_VARIABLES, requirements_digest
from .collect import app_files, walk_files


def _digest(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _settings_data(settings: Settings, affects: Affects) -> dict[str, object]:
    """The settings that shape ``affects``, with this host's paths taken out (see the module's docstring)."""
    data = dataclasses.asdict(settings)
    found = {key: data[key] for key in settings_affecting(affects) if key != "project_dir"}
    if found.get("requirements"):
        found["requirements"] = _portable(Path(str(found["requirements"])), settings.project_dir)
    if found.get("bytecode_python"):
        found["bytecode_python"] = Path(str(found["bytecode_python"])).name
    if "pip_args" in found:
        found["pip_args"] = [_portable_arg(arg, settings.project_dir) for arg in settings.pip_args]
    return found


def _portable(path: Path, project: Path) -> str:
    """A path inside the project relative to it (posix); any other by its file name."""
    absolute = path if path.is_absolute() else project / path
    return absolute.relative_to(project).as_posix() if absolute.is_relative_to(project) else path.name


def _portable_arg(arg: str, project: Path) -> str:
    """An absolute path inside the project, relative to it; anything else as written."""
    if os.path.isabs(arg) and Path(arg).is_relative_to(project):
        return Path(arg).relative_to(project).as_posix() or "."
    return _without_userinfo(arg) or arg


def _without_userinfo(value: str | None) -> str | None:
    """URLs without ``user:token@``: a rotated token does not change what the index serves."""
    if not value or "@" not in value:
        return value
    from urllib.parse import urlsplit, urlunsplit

    words = []
    for word in value.split():
        parts = urlsplit(word)
        if parts.scheme and parts.hostname and "@" in parts.netloc:
            host = parts.hostname + (f":{parts.port}" if parts.port else "")
            word = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
        words.append(word)
    return " ".join(words)


def _pip_variables() -> list[str | None]:
    """pip's index variables as they shape a resolution: URLs without credentials, the config file by content."""
    values = []
    for name in PIP_INDEX_VARIABLES:
        value = os.environ.get(name)
        if name == "PIP_CONFIG_FILE" and value:
            try:
                value = "sha256:" + hashlib.sha256(Path(value).read_bytes()).hexdigest()
            except OSError:
                value = "unreadable"
        values.append(_without_userinfo(value))
    return values


def _tool_versions() -> list[str]:
    """lambda-tasks', pip's and uv's versions (the installers), read off their .dist-info names
    (importlib.metadata costs 15 ms)."""
    versions = [__version__]
    for name in ("pip", "uv"):
        found = next((sorted(Path(entry or ".").glob(f"{name}-*.dist-info")) for entry in sys.path
                      if any(Path(entry or ".").glob(f"{name}-*.dist-info"))), [])
        versions.append(found[-1].name[len(name) + 1:-len(".dist-info")] if found else "none")
    return versions


def app_fingerprint(settings: Settings, extra: Sequence[str] = ()) -> str:
    """Changes when any app file's bytes, an app setting or an ``extra`` input (Chalice's runtime wheel, by
    content hash and name) changes."""
    files = [(arcname, hashlib.sha256(path.read_bytes()).hexdigest(), os.access(path, os.X_OK))
             for arcname, path in app_files(settings.project_dir)]
    return _digest({"files": files, "settings": _settings_data(settings, Affects.APP), "tool": __version__,
                    "epoch": os.environ.get("SOURCE_DATE_EPOCH"), **({"extra": list(extra)} if extra else {})})


def layers_fingerprint(settings: Settings, source_files: Sequence[Path] = (),
                       source_dirs: Sequence[Path] = (), framework: str | None = None) -> str:
    """Changes when the requirements (with the files they include), the files they name locally (find-links
    directories' files, ./pkg projects, local archives), the dependency source's files (a lock file and its
    pyproject.toml, the directories a lock builds from), the vendor/ tree, a layer setting, pip's index
    variables, a tool version or the framework (``"chalice"``: its tool is left out) change."""
    requirements = requirements_digest(settings.requirements_path)
    vendor: list[tuple[str, str, bool]] = []
    if settings.vendor_path.is_dir():
        files = list(walk_files(settings.vendor_path, [settings.project_dir]))
        # content, not size and mtime: an edit that keeps both still counts (the stat cache keeps this fast)
        digests = content_digests((path for _, path in files), scope=settings.vendor_path)
        vendor = [(rel, digest, executable) for (rel, _), (digest, executable) in zip(files, digests, strict=True)]
    # a lock's local packages are built from their directories: their files are inputs too
    local = [(Path(os.path.relpath(d, settings.project_dir)).as_posix(), tree_digest(d, skip=not_source))
             for d in source_dirs if d.is_dir()]
    # --find-links directories' files, ./pkg and local archives: the same requirements text may mean other wheels
    named = local_inputs(settings.requirements_path, settings.pip_args, settings.project_dir)
    return _digest({
        "requirements": requirements, "vendor": vendor, "local": local, "named": named,
        "sources": [(path.name, hashlib.sha256(path.read_bytes()).hexdigest()) for path in source_files],
        "settings": _settings_data(settings, Affects.LAYERS),
        "tools": _tool_versions(), "epoch": os.environ.get("SOURCE_DATE_EPOCH"),
        "pip": _pip_variables(),
        **({"framework": framework} if framework else {}),  # Chalice mode leaves chalice's tool out
    })


def image_fingerprint(settings: Settings) -> str:
    """What the image adds to the app and the layers: its base (as given: a tag is resolved again only by
    --force) and its Cmd."""
    return _digest({"base": settings.image_base_reference, "cmd": [settings.handler]})


def outputs_present(previous: Manifest, settings: Settings, which: str) -> bool:
    """The artifacts the manifest names for ``which`` ("app" or "layers") are on disk with their sizes."""
    artifacts: Sequence[Artifact] = [previous.app] if which == "app" else previous.layers
    if previous.image is not None:
        blobs = settings.output_dir / previous.image.path / "blobs" / "sha256"
        image = previous.image
        artifacts = [Artifact(str(blobs / blob.digest.removeprefix("sha256:")), "", blob.size, 0)
                     for blob in [image.config, *image.all_layers()]]
        artifacts.append(Artifact(str(blobs / image.tag), "", -1, 0))
    for artifact in artifacts:
        path = settings.output_dir / artifact.path
        try:
            if path.stat().st_size != artifact.zip_bytes and artifact.zip_bytes >= 0:
                return False
        except FileNotFoundError:
            return False
    return True
