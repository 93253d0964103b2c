"""A wheel built here from source: does it hold compiled code? One that does not is pure, whatever its name says.

setuptools names a wheel for the building interpreter and platform (``cp312-cp312-linux_x86_64``) whenever the
project declares an extension module, even when the extension was not built: SQLAlchemy 1.1-1.3, wrapt and
MarkupSafe 1.x build their pure-Python fallback when the compiler is missing (it is, in lambda-tasks' builds),
and the wheel still says ``linux_x86_64``. Chalice and aws-lambda-builders keep a list of such packages
(``sqlalchemy``); here the wheel's files decide: no extension module (``.so``, ``.pyd``, ``.dll``, ``.dylib``)
and no ELF or Mach-O file means pure Python, retagged ``py3-none-any`` (the WHEEL file and RECORD follow).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import zipfile
from pathlib import Path

from packaging.utils import parse_wheel_filename

_SUFFIXES = (".so", ".pyd", ".dll", ".dylib")
_VERSIONED_SO = re.compile(r"\.so\.\d")  # libfoo.so.1
_MAGIC = (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe")  # ELF, Mach-O 64/32, fat
PURE_TAG = "py3-none-any"


def compiled_files(wheel: Path) -> list[str]:
    """The members of ``wheel`` that hold compiled code (by name, or by an ELF or Mach-O header)."""
    found = []
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            name = info.filename.lower()
            if info.is_dir():
                continue
            if name.endswith(_SUFFIXES) or _VERSIONED_SO.search(name):
                found.append(info.filename)
                continue
            if info.file_size >= 4 and not name.endswith((".py", ".pyi", ".txt", ".json", ".md", ".rst", ".typed")):
                with archive.open(info) as member:
                    if member.read(4) in _MAGIC:
                        found.append(info.filename)
    return found


def is_pure_name(filename: str) -> bool:
    """True when every tag of the wheel's name is ``none``-ABI and ``any``-platform."""
    return all(tag.abi == "none" and tag.platform == "any" for tag in parse_wheel_filename(filename)[3])


def as_pure(wheel: Path) -> Path:
    """``wheel`` (which holds no compiled code) rewritten as ``py3-none-any`` beside it; the original is removed.

    Its members keep their bytes, names, order and dates; WHEEL says ``Root-Is-Purelib: true`` and
    ``Tag: py3-none-any``, and RECORD gives WHEEL's new hash."""
    parts = wheel.name[: -len(".whl")].split("-")
    final = wheel.with_name("-".join([*parts[:-3], *PURE_TAG.split("-")]) + ".whl")
    partial = final.with_name(f".{final.name}.{os.getpid()}.part")
    with zipfile.ZipFile(wheel) as source:
        infos = source.infolist()
        info_dir = next((info.filename.split("/", 1)[0] for info in infos
                         if re.fullmatch(r"[^/]+\.dist-info/WHEEL", info.filename)), None)
        if info_dir is None:
            return wheel  # not a wheel we can read: the tag checks that follow refuse it
        wheel_file = _retagged(source.read(f"{info_dir}/WHEEL").decode())
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as out:
            for info in infos:
                data = source.read(info)
                if info.filename == f"{info_dir}/WHEEL":
                    data = wheel_file
                elif info.filename == f"{info_dir}/RECORD":
                    data = _recorded(data.decode(), f"{info_dir}/WHEEL", wheel_file)
                out.writestr(info, data)
    os.replace(partial, final)
    if final != wheel:
        wheel.unlink()
    return final


def _retagged(text: str) -> bytes:
    lines = [line for line in text.splitlines() if not line.startswith(("Tag:", "Root-Is-Purelib:"))]
    return ("\n".join([*lines, "Root-Is-Purelib: true", f"Tag: {PURE_TAG}"]) + "\n").encode()


def _recorded(record: str, name: str, data: bytes) -> bytes:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    rows = [f"{name},sha256={digest},{len(data)}" if row.split(",", 1)[0] == name else row
            for row in record.splitlines()]
    return ("\n".join(rows) + "\n").encode()
