"""The shape of layers/manifest.json, checked before any field is used (pure: data in, the first problem out).

Every key the reader uses must be there with its JSON type; hashes are 64 hex digits (they name files: a digest
``sha256:../../x`` must never become a path); every path is relative, without ``..``, and stays inside the output
directory once the links on the way are resolved (``/etc/passwd`` as a layer path, or another project's zip as the
app, is refused); the file itself is used only when it is a regular file (manifest.files_problem). Keys this
version does not know are ignored, as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

_HEX = re.compile(r"[0-9a-f]{64}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
#: More than Lambda allows (5 layers; an image's layers are few dozen): a list longer than this is not ours.
_MAX_ITEMS = 1000


class _Bad(Exception):
    pass


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _texts(value: Any) -> bool:
    return isinstance(value, list) and len(value) <= 100_000 and all(isinstance(v, str) for v in value)


def _text_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _count_map(value: Any) -> bool:
    return isinstance(value, dict) and all(_count(v) for v in value.values())


def _hex(value: Any) -> bool:
    return isinstance(value, str) and _HEX.fullmatch(value) is not None


def _digest(value: Any) -> bool:
    return isinstance(value, str) and _DIGEST.fullmatch(value) is not None


def _field(data: Any, key: str, test: Callable[[Any], bool], where: str, optional: bool = False) -> Any:
    if not isinstance(data, dict):
        raise _Bad(f"{where or 'the top level'} is not an object")
    if key not in data and optional:
        return None
    if key not in data or not test(data[key]):
        shown = repr(data.get(key))[:40]
        raise _Bad(f"{where + '.' if where else ''}{key} is {'missing' if key not in data else f'wrong: {shown}'}")
    return data[key]


def _contained(rel: Any, root: Path, where: str) -> None:
    if not isinstance(rel, str):
        raise _Bad(f"{where} is not a path")
    posix = PurePosixPath(rel)
    if not rel or "\\" in rel or "\0" in rel or posix.is_absolute() or ".." in posix.parts:
        raise _Bad(f"{where} {rel[:60]!r} is not a path inside the output directory")
    # the directories on the way, links resolved (the file itself must be a regular file when it is used:
    # manifest.files_problem; clean leaves a link alone)
    if not (root / rel).parent.resolve().is_relative_to(root):
        raise _Bad(f"{where} {rel[:60]!r} leads outside the output directory")


def _list(data: Any, key: str, where: str) -> list[Any]:
    items = _field(data, key, lambda v: isinstance(v, list) and len(v) <= _MAX_ITEMS, where)
    assert isinstance(items, list)
    return items


def _artifact(data: Any, where: str, root: Path) -> None:
    _contained(_field(data, "path", _text, where), root, f"{where}.path")
    _field(data, "sha256", _hex, where)
    _field(data, "zip_bytes", _count, where)
    _field(data, "unzipped_bytes", _count, where)


def _layer(data: Any, where: str, root: Path) -> None:
    _artifact(data, where, root)
    for key, test in (("name", _text), ("distributions", _texts), ("published", _text_map),
                      ("entries_key", _text)):
        _field(data, key, test, where, optional=True)


def _blob(data: Any, where: str) -> None:
    _field(data, "digest", _digest, where)
    _field(data, "size", _count, where)
    for key, test in (("media_type", _text), ("diff_id", _text), ("unzipped_bytes", _count), ("name", _text),
                      ("units", _texts), ("entries_key", _text)):
        _field(data, key, test, where, optional=True)


def _image(data: Any, root: Path) -> None:
    _contained(_field(data, "path", _text, "image"), root, "image.path")
    _field(data, "digest", _digest, "image")
    _field(data, "tag", _hex, "image")
    _blob(_field(data, "config", lambda v: isinstance(v, dict), "image"), "image.config")
    for number, blob in enumerate(_list(data, "layers", "image")):
        _blob(blob, f"image.layers[{number}]")
    base = _field(data, "base", lambda v: isinstance(v, dict), "image")
    _field(base, "reference", _text, "image.base")
    _field(base, "digest", _digest, "image.base")
    _blob(_field(base, "config", lambda v: isinstance(v, dict), "image.base"), "image.base.config")
    for number, blob in enumerate(_list(base, "layers", "image.base")):
        _blob(blob, f"image.base.layers[{number}]")
    _field(data, "cmd", _texts, "image", optional=True)
    _field(data, "pushed", _text_map, "image", optional=True)


def checked(data: Any, output_dir: Path, version: int = 1) -> str | None:
    """None when ``data`` is a manifest of ``version`` whose paths stay in ``output_dir``; else the first problem."""
    root = output_dir.resolve()
    try:
        found = _field(data, "version", lambda v: isinstance(v, int) and not isinstance(v, bool), "", optional=True)
        if found is not None and found != version:
            return f"written by another version of lambda-tasks (format {found}, this one reads {version})"
        _field(data, "runtime", _text, "")
        _field(data, "architecture", _text, "")
        _artifact(_field(data, "app", lambda v: isinstance(v, dict), ""), "app", root)
        for number, layer in enumerate(_list(data, "layers", "") if "layers" in data else []):
            _layer(layer, f"layers[{number}]", root)
        _field(data, "inputs", _text_map, "", optional=True)
        _field(data, "unit_bytes", _count_map, "", optional=True)
        if data.get("image") is not None:
            _image(data["image"], root)
        if data.get("bill_of_materials") is not None:
            bom = _field(data, "bill_of_materials", lambda v: isinstance(v, dict), "")
            _contained(_field(bom, "path", _text, "bill_of_materials"), root, "bill_of_materials.path")
            _field(bom, "sha256", _hex, "bill_of_materials")
            _field(bom, "distributions", _count, "bill_of_materials")
    except _Bad as bad:
        return str(bad)
    return None
