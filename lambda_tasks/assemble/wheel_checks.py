"""A wheel's files as pip would install them: where each lands, one file per name, RECORD as the truth.

pip installs a wheel by walking its members in order, so of two members of one name the *last* one is what
lands; a zip holding both is refused here (we would have to pick, and a tool that reads the first disagrees).
Every member must be in RECORD with the size it has (checked here, from the zip's directory) and the hash it
has (checked while ``crc.check_wheel`` inflates it, see ``record_hashes``); RECORD itself and its signatures
(``RECORD.jws``, ``RECORD.p7s``) are the only members without a hash. A row without a hash is taken as it is
(old tools wrote them for ``.pyc`` files). Then, across everything a layer holds, no path may be a file in one
place and a directory in another (``check_tree``): unzipping such a layer fails.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..entries import LAYER_PREFIX, VENDOR_PREFIX, Entry, WheelMember
from ..errors import ProjectError, WheelError

#: Install-time metadata that says something about the machine that installed, not the package.
HOST_METADATA = {"INSTALLER", "REQUESTED", "direct_url.json"}
_UNHASHED = ("RECORD", "RECORD.jws", "RECORD.p7s")
_WEAK = {"md5", "sha1"}
_HEX = re.compile(r"[0-9a-fA-F]+")


def installed_path(filename: str) -> str | None:
    """Where a wheel member lands under site-packages; None when it is not shipped."""
    parts = filename.split("/")
    if parts[0].endswith(".data") and len(parts) > 2:
        return "/".join(parts[2:]) if parts[1] in ("purelib", "platlib") else None
    if parts[0].endswith(".dist-info") and len(parts) == 2 and parts[1] in HOST_METADATA:
        return None
    return filename


def is_record(filename: str) -> bool:
    parts = filename.split("/")
    return len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "RECORD"


@dataclass(frozen=True)
class Expected:
    """A RECORD row: the hash algorithm and digest (None: no hash given) and the size (None: not given)."""

    algorithm: str | None
    digest: bytes | None
    size: int | None


def check_members(infos: Sequence[zipfile.ZipInfo], record: bytes | None, label: str) -> dict[str, Expected]:
    """Names and sizes, before anything is inflated: no two members land on one path, every member is in
    RECORD with its size. Returns RECORD's rows by member name, whose hashes ``crc.check_wheel`` compares."""
    landed: dict[str, str] = {}
    for info in infos:
        target = installed_path(info.filename)
        if target is None:
            continue
        other = landed.get(target)
        if other is not None:
            what = f"two entries named {target}" if other == info.filename else f"{other} and {info.filename}"
            raise WheelError(_fit(f"{label} has {what}", f"both install as {target}", "pip installs the last "
                                  "and another tool the first: rebuild the wheel, or replace it with a good copy"))
        landed[target] = info.filename
    if record is None:
        raise WheelError(f"{label} has no .dist-info/RECORD, so it is not a wheel pip would install\n"
                         "  rebuild it with a standard tool (pip wheel, python -m build, uv build)")
    rows = parse_record(record, label)
    for info in infos:
        name = info.filename
        if name.rsplit("/", 1)[-1] in _UNHASHED and name.split("/")[0].endswith(".dist-info"):
            continue
        row = rows.get(name)
        if row is None:
            raise WheelError(_fit(f"{label} holds {name}, which its RECORD does not list",
                                  "a file added after the wheel was built", _REPLACE))
        if row.size is not None and row.size != info.file_size:
            raise WheelError(_fit(f"{label}: {name} is {info.file_size:,} bytes, its RECORD says {row.size:,}",
                                  "the file was changed after the wheel was built", _REPLACE))
    return rows


_REPLACE = "replace the wheel with a good copy (build or download it again)"


def parse_record(data: bytes, label: str) -> dict[str, Expected]:
    try:
        text = data.decode("utf-8")
        rows = list(csv.reader(io.StringIO(text)))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise WheelError(f"{label}'s RECORD cannot be read: {exc}\n  {_REPLACE}") from None
    found: dict[str, Expected] = {}
    for row in rows:
        if not row:
            continue
        if len(row) < 3:
            raise WheelError(_fit(f"{label}'s RECORD has a bad row: {row[0][:80]!r}",
                                  "each row is path,algorithm=digest,size", _REPLACE))
        path, hashed, size = row[0], row[1], row[2]
        algorithm = digest = None
        if hashed:
            algorithm, _, encoded = hashed.partition("=")
            algorithm = algorithm.lower()
            if algorithm in _WEAK or algorithm not in hashlib.algorithms_guaranteed:
                raise WheelError(_fit(f"{label}'s RECORD hashes {path[:60]} with {algorithm[:20]!r}",
                                      "a wheel's RECORD uses sha256 or stronger", _REPLACE))
            try:
                if len(encoded) == 2 * hashlib.new(algorithm).digest_size and _HEX.fullmatch(encoded):
                    digest = bytes.fromhex(encoded)  # some tools write hex (gmsh 4.15.2); pip does not mind
                else:
                    digest = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except ValueError:
                raise WheelError(_fit(f"{label}'s RECORD has a bad hash for {path[:80]}", "", _REPLACE)) from None
        try:
            length = int(size) if size else None
        except ValueError:
            raise WheelError(_fit(f"{label}'s RECORD has a bad size for {path[:80]}", "", _REPLACE)) from None
        found[path] = Expected(algorithm, digest, length)
    return found


def hash_problem(label: str, member: str, expected: Expected, actual: bytes) -> WheelError | None:
    """The error when a member's bytes do not hash to RECORD's digest, else None."""
    if expected.digest is None or actual == expected.digest:
        return None
    return WheelError(_fit(f"{label}: {member} does not match its RECORD hash",
                           f"{expected.algorithm} {_b64(actual)}, RECORD says {_b64(expected.digest)}",
                           "the file was changed after the wheel was built; " + _REPLACE))


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()[:16] + "…"


def _fit(first: str, detail: str, way_out: str) -> str:
    if len(first) >= 155:
        first = first[:150] + "…"
    return "\n  ".join(line for line in (first, detail, way_out) if line)


# --------------------------------------------------------------------------------- across the layer


def origin(entry: Entry) -> str:
    """Where an entry comes from, as the user knows it."""
    if entry.unit.startswith(VENDOR_PREFIX):
        return f"vendor/{entry.arcname.removeprefix(LAYER_PREFIX)}"
    if isinstance(entry.source, WheelMember):
        return f"{entry.source.wheel.name}'s {entry.source.info.filename}"
    return entry.arcname


def check_tree(entries: Iterable[Entry]) -> None:
    """No path is a file in one place and a directory in another (``vendor/x`` beside a package ``x/``)."""
    files = {entry.arcname: entry for entry in entries}
    for entry in files.values():
        parts = entry.arcname.split("/")
        for depth in range(1, len(parts)):
            prefix = "/".join(parts[:depth])
            clash = files.get(prefix)
            if clash is not None:
                raise ProjectError(_fit(
                    f"{origin(clash)} is a file where {origin(entry)} needs a directory",
                    f"both would be in the layer: {prefix} and {entry.arcname}; unpacking it would fail",
                    "rename or remove one of them (in vendor/ or the requirements)"))
