"""Reading a file for secrets: any size, any encoding, inside archives. The patterns are ``secret_patterns``'.

- **Size**: every file is read, streamed in windows of :data:`WINDOW` bytes that overlap by :data:`OVERLAP`
  (a key block, at most :data:`MAX_BLOCK`, always lies whole in one window); memory stays bounded.
- **Encoding**: matched on bytes, so Latin-1 or broken UTF-8 around a token changes nothing. A window holding
  NUL bytes (UTF-16 or UTF-32, with or without a BOM, or a NUL in a text file) is matched a second time with the
  NULs taken out: ASCII text in those encodings is then the ASCII bytes themselves.
- **Archives** (zip, tar, gzip, bzip2, xz; told by their first bytes, not their names) are opened and every
  member is checked by name and content, down to :data:`MAX_DEPTH` levels; reading stops after
  :data:`ARCHIVE_BUDGET` bytes or :data:`MAX_MEMBERS` members (a bomb): the caller is told what was not read.
- Compiled code and media (``BINARY_SUFFIXES``, and ELF, Mach-O and PE files by their first bytes) are not
  read; a binary ``.key``/``.der`` is checked for a DER private key.
"""

from __future__ import annotations

import bz2
import functools
import gzip
import io
import lzma
import posixpath
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, cast

from . import secret_patterns as p

WINDOW = 1 << 20
#: Windows overlap by this much, so a key block (at most :data:`MAX_BLOCK`) always lies whole in one.
OVERLAP = 64 << 10
MAX_BLOCK = OVERLAP - 256
#: How far around an access key id to look for its secret.
NEAR = 400
MAX_DEPTH = 3
ARCHIVE_BUDGET = 1 << 30
MAX_MEMBERS = 20_000
_PEM_SUFFIXES = (".pem", ".crt", ".cer", ".key")
_INSIDE = "inside it, "
_COMPILED = (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"MZ")


@dataclass
class Budget:
    """What one top-level file may cost inside archives; ``skipped`` says what was not read, and why."""

    left: int = ARCHIVE_BUDGET
    members: int = MAX_MEMBERS
    skipped: list[str] = field(default_factory=list)


def name_reason(path: str) -> str | None:
    """What the path alone gives away (``path``: posix, inside the zip or an archive)."""
    parts = path.split("/")
    for part in parts[:-1]:
        if part.lower() in p.SECRET_DIRS:
            return f"inside a {part}/ directory ({p.SECRET_DIRS[part.lower()]})"
    name = parts[-1]
    if p.is_env_file(name):
        return "an environment file"
    lower = name.lower()
    if lower in p.SSH_KEY_NAMES:
        return "an SSH private key (by its name; its .pub ships)"
    if lower in p.CREDENTIAL_FILES:
        return p.CREDENTIAL_FILES[lower]
    if lower.endswith(p.PKCS12_SUFFIXES):
        return f"a PKCS#12 key store ({posixpath.splitext(lower)[1]}), which holds a private key"
    return None


def stream_reason(name: str, size: int, opener: Callable[[], BinaryIO], budget: Budget, depth: int = 0) -> str | None:
    """Why the file ``name`` (``size`` bytes, opened by ``opener``) looks like a secret, or None."""
    if _skipped(name, size):
        return None
    with opener() as handle:
        return handle_reason(name, size, handle, budget, depth)


def _skipped(name: str, size: int) -> bool:
    lower = posixpath.basename(name).lower()
    return size < 16 or (lower.endswith(p.BINARY_SUFFIXES) and not lower.endswith(_PEM_SUFFIXES))


def handle_reason(name: str, size: int, handle: BinaryIO, budget: Budget, depth: int = 0) -> str | None:
    """:func:`stream_reason` of an open stream, read from its start."""
    if _skipped(name, size):
        return None
    head = handle.read(512)
    if head.startswith(_COMPILED):  # ELF, Mach-O, PE: compiled code, whatever its name (libx.so.1)
        return None
    kind = _archive_kind(head)
    if kind is None:
        return _content_reason(head, handle, posixpath.basename(name).lower(), size)
    if depth >= MAX_DEPTH:
        budget.skipped.append(f"{name}: archives nested over {MAX_DEPTH} deep are not opened")
        return None
    if isinstance(handle, io.BufferedReader):  # a file on disk: seekable at no cost
        handle.seek(0)
        return _archive_reason(kind, name, handle, budget, depth + 1)
    spool = _spooled(head, handle, budget, name)  # a member: seeking back would inflate it again
    if spool is None:
        return None
    with spool:
        return _archive_reason(kind, name, spool, budget, depth + 1)


def _content_reason(head: bytes, handle: BinaryIO, lower: str, size: int) -> str | None:
    first = True
    for window in _windows(head, handle):
        if first:
            first = False
            if window.startswith(b"PuTTY-User-Key-File-"):
                return "holds a PuTTY private key"
            if b"\0" in window[:8192] and lower.endswith(p.DER_KEY_SUFFIXES) and _is_der_key(window, size):
                return "holds a DER private key"
        reason = window_reason(window, lower)
        if reason is None and b"\0" in window:  # UTF-16/32 (BOM or not), or a NUL inside text
            reason = window_reason(window.replace(b"\0", b""), lower)
        if reason:
            return reason
    return None


def _windows(head: bytes, handle: BinaryIO) -> Iterator[bytes]:
    """The stream in windows of :data:`WINDOW` bytes, each starting :data:`OVERLAP` bytes before the last's end."""
    window = head + handle.read(WINDOW - len(head))
    while window:
        yield window
        more = handle.read(WINDOW)
        if not more:
            return
        window = window[-OVERLAP:] + more


def window_reason(data: bytes, lower_name: str = "") -> str | None:
    """What ``data`` (a window of a file) gives away: a key block, a token, an AWS key, an npm auth line."""
    if b"PRIVATE KEY" in data:
        kind = _private_key_kind(data)
        if kind is not None:
            return kind
    for token in p.TOKENS:
        for match in token.pattern.finditer(data):
            start = match.start() - len(token.before[:1])
            if token.before and (start < 0 or data[start] not in token.before):
                continue
            value = data[start:match.end()]
            if p.looks_real(value, len(token.shown), token.min_distinct):
                return f"holds {token.kind} ({value[:len(token.shown)].decode()}…)"
    reason = _aws_key_reason(data)
    if reason:
        return reason
    if (b"ecret" in data or b"ECRET" in data) and _named_secret(data):
        return "holds an AWS secret access key (aws_secret_access_key = <40 characters>)"
    if lower_name == ".npmrc" and p.NPM_AUTH.search(data):
        return "an .npmrc holding an auth token"
    return None


# --------------------------------------------------------------------------------------------- archives


def _archive_kind(head: bytes) -> str | None:
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head[257:262] == b"ustar":
        return "tar"
    if head.startswith(b"\x1f\x8b"):
        return "gz"
    if head.startswith(b"BZh"):
        return "bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    return None


def _archive_reason(kind: str, name: str, handle: BinaryIO, budget: Budget, depth: int) -> str | None:
    try:
        if kind == "zip":
            return _zip_reason(name, handle, budget, depth)
        if kind == "tar":
            with tarfile.open(fileobj=handle, mode="r:") as archive:
                return _tar_reason(name, archive, budget, depth)
        with _decompressed(kind, handle) as stream:
            return _compressed_reason(name, stream, budget, depth)
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError, ValueError,
            NotImplementedError) as exc:
        budget.skipped.append(f"{name}: not read to the end ({type(exc).__name__}: {str(exc)[:80]})")
        return None


def _decompressed(kind: str, handle: BinaryIO) -> BinaryIO:
    if kind == "gz":
        return cast(BinaryIO, gzip.GzipFile(fileobj=handle, mode="rb"))
    if kind == "bz2":
        return cast(BinaryIO, bz2.BZ2File(handle, "rb"))
    return cast(BinaryIO, lzma.LZMAFile(handle, "rb"))


def _zip_reason(name: str, handle: BinaryIO, budget: Budget, depth: int) -> str | None:
    with zipfile.ZipFile(handle) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            opener = cast(Callable[[], BinaryIO], functools.partial(archive.open, info))
            reason = _member_reason(name, info.filename, info.file_size, opener, budget, depth)
            if reason:
                return reason
    return None


def _compressed_reason(name: str, stream: BinaryIO, budget: Budget, depth: int) -> str | None:
    """A gzip, bzip2 or xz stream: a tar inside, or one file (``x.txt.gz``)."""
    spool = _spooled(b"", stream, budget, name)
    if spool is None:
        return None
    with spool:
        size = spool.seek(0, 2)
        spool.seek(0)
        inner = posixpath.basename(name).rsplit(".", 1)[0]
        head = spool.read(512)
        spool.seek(0)
        if _archive_kind(head) == "tar":
            with tarfile.open(fileobj=spool, mode="r:") as archive:
                return _tar_reason(name, archive, budget, depth)
        reason = name_reason(inner) or handle_reason(f"{name}/{inner}", size, spool, budget, depth)
        return _inside(inner, reason)


def _tar_reason(name: str, archive: tarfile.TarFile, budget: Budget, depth: int) -> str | None:
    for info in archive:
        if not info.isfile():
            continue
        member = archive.extractfile(info)
        if member is None:
            continue
        reason = _member_reason(name, info.name, info.size, _given(cast(BinaryIO, member)), budget, depth)
        if reason:
            return reason
    return None


def _given(stream: BinaryIO) -> Callable[[], BinaryIO]:
    return lambda: stream


def _member_reason(name: str, member: str, size: int, opener: Callable[[], BinaryIO], budget: Budget,
                   depth: int) -> str | None:
    budget.members -= 1
    budget.left -= size
    if budget.members < 0 or budget.left < 0:
        if budget.members == -1 or budget.left + size >= 0:
            budget.skipped.append(f"{name}: only the first {MAX_MEMBERS:,} members or "
                                  f"{ARCHIVE_BUDGET >> 20:,} MB were read (a bomb?)")
        return None
    reason = name_reason(member) or stream_reason(f"{name}/{member}", size, opener, budget, depth)
    return _inside(member, reason)


def _inside(member: str, reason: str | None) -> str | None:
    """``inside it, a.tar/conf/.env: ...``: one path through nested archives."""
    if reason is None:
        return None
    if reason.startswith(_INSIDE):
        return f"{_INSIDE}{member}/{reason[len(_INSIDE):]}"
    return f"{_INSIDE}{member}: {reason}"


def _spooled(head: bytes, stream: BinaryIO, budget: Budget, name: str) -> BinaryIO | None:
    """``head`` and the rest of ``stream`` in a seekable temporary file (memory up to 64 MB), within the budget."""
    spool = tempfile.SpooledTemporaryFile(max_size=64 << 20)  # noqa: SIM115 - the caller closes it
    chunk = head or stream.read(WINDOW)
    while chunk:
        budget.left -= len(chunk)
        if budget.left < 0:
            spool.close()
            budget.skipped.append(f"{name}: over {ARCHIVE_BUDGET >> 20:,} MB once decompressed; not read")
            return None
        spool.write(chunk)
        chunk = stream.read(WINDOW)
    spool.seek(0)
    return spool  # type: ignore[return-value]


# ------------------------------------------------------------------------------------- keys and AWS


def _private_key_kind(data: bytes) -> str | None:
    """What kind of private key block ``data`` holds (BEGIN, a base64 body, the matching END), or None."""
    for match in p.PEM_BEGIN.finditer(data):
        label, block = match.group(1), match.group(2) or b""
        end = data.find(b"-----END " + label + b"PRIVATE KEY" + block + b"-----", match.end(),
                        match.end() + MAX_BLOCK)
        if end < 0:
            continue
        body = data[match.end():end].replace(b"\\n", b"\n").replace(b"\\r", b"\n")
        lines = [p.BODY_NOISE.sub(b"", line) for line in body.splitlines() if b":" not in line]  # no PEM headers
        if not p.BASE64_BODY.fullmatch(b"".join(lines)):
            continue
        name = label.decode("ascii").strip()
        if name == "OPENSSH":
            return "holds an OpenSSH private key"
        if name == "PGP":
            return "holds a PGP private key block"
        return f"holds a PEM private key ({name})" if name else "holds a PEM private key"
    return None


def _aws_key_reason(data: bytes) -> str | None:
    for match in p.AWS_KEY_ID.finditer(data):
        start, end = match.start(), match.end()
        if start and data[start - 1] in p.UPPER_OR_DIGIT:
            continue  # inside a longer run
        key_id = data[start:end]
        if key_id.endswith(b"EXAMPLE"):  # AWS's documented examples: public, and never valid
            continue
        shown = f"an AWS access key id ({key_id[:4].decode()}…, {len(key_id)} chars)"
        near = data[max(0, start - NEAR):end + NEAR]
        if any(_looks_like_secret(secret.group()) for secret in p.AWS_SECRET.finditer(near)):
            return f"holds {shown} and what looks like its 40-character secret access key"
        return f"holds {shown}"
    return None


def _named_secret(data: bytes) -> bool:
    """``aws_secret_access_key = <40 characters>`` (or ``"SecretAccessKey": "..."``), in any case."""
    for match in p.AWS_SECRET_NAME.finditer(data.lower()):
        value = p.AWS_SECRET_VALUE.match(data, match.end())
        if value and _looks_like_secret(value.group()):
            return True
    return False


def _looks_like_secret(value: bytes) -> bool:
    """Base64 of mixed case, not AWS's documented example (``wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY``)."""
    return b"EXAMPLE" not in value and value.lower() != value and value.upper() != value


def _is_der_key(data: bytes, size: int) -> bool:
    """An ASN.1 SEQUENCE spanning the file whose first field is a version INTEGER 0 or 1: PKCS#1, PKCS#8 or SEC1
    private keys start so; a certificate or a public key starts with a nested SEQUENCE instead."""
    if len(data) < 8 or data[0] != 0x30:
        return False
    if data[1] < 0x80:
        length, start = data[1], 2
    elif data[1] in (0x81, 0x82, 0x83):
        count = data[1] - 0x80
        length, start = int.from_bytes(data[2:2 + count], "big"), 2 + count
    else:
        return False
    return start + length == size and data[start:start + 2] == b"\x02\x01" and data[start + 2] in (0, 1)
