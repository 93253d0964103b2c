"""Files the artifacts must never carry by accident: environment and credentials files, private keys, AWS keys.

Only the user's own files are checked: the app (unit ``app``) and the loose files of vendor/ (units
``vendor/<top entry>``). Wheels, from requirements or dropped into vendor/ as ``*.whl``, are third-party: their
test keys and sample certificates are theirs to ship.

Names first, without reading anything; then content, for the files that can hold text (under
:data:`TEXT_LIMIT`; PEM-named files whatever their size), read in windows:

- a private key block (``-----BEGIN [RSA |EC |OPENSSH |ENCRYPTED ]PRIVATE KEY-----``, ``PGP PRIVATE KEY BLOCK``)
  anywhere in the file, with its END line and a base64 body between them, so a CA bundle ships, and so does a
  document that only mentions the header; a JSON or Python string with ``\\n`` escapes is a block too;
- a PuTTY private key, a DER private key in a binary ``.key``/``.der``/``.pk8``/``.p8``;
- an AWS access key id (``AKIA``/``ASIA`` + 16); ids ending in ``EXAMPLE`` are AWS's documented examples
  (``AKIAIOSFODNN7EXAMPLE``) and pass; an ``aws_secret_access_key``-like 40-character secret is named too;
- an ``.npmrc`` whose ``_authToken``/``_auth``/``_password`` is a value, not a ``${VARIABLE}``.

Nothing secret is ever printed: the message names the file and the reason, at most a key id's first 4 letters.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Iterator, Sequence

from ..entries import APP_UNIT, LAYER_PREFIX, VENDOR_PREFIX, Entry
from ..errors import SecretFileError

#: Directories whose content is credentials or history, never code.
SECRET_DIRS = {".aws": "AWS credentials directory", ".git": "git repository", ".ssh": "SSH directory",
               ".gnupg": "GnuPG keyring"}
#: ``.env.example`` and friends are templates, not secrets.
_ENV_TEMPLATES = {"example", "sample", "template", "tpl", "dist", "defaults"}
_SSH_KEY_NAMES = {"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk"}
_CREDENTIAL_FILES = {".netrc": "a .netrc file (login credentials)", "_netrc": "a _netrc file (login credentials)",
                     ".pypirc": "a .pypirc file (package index credentials)",
                     ".git-credentials": "a .git-credentials file (stored git passwords)"}
#: PKCS#12 holds a private key by design (a trust store in one is rare: ``include`` it).
_PKCS12_SUFFIXES = (".p12", ".pfx")
#: Read whole whatever their size: a CA bundle is a PEM file too.
_PEM_SUFFIXES = (".pem", ".crt", ".cer", ".key")
_DER_KEY_SUFFIXES = (".key", ".der", ".pk8", ".p8")
#: Never read: they cannot hold a key in text.
_BINARY_SUFFIXES = (".so", ".pyd", ".dll", ".dylib", ".a", ".o", ".pyc", ".whl", ".zip", ".gz", ".bz2", ".xz",
                    ".zst", ".tar", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".pdf", ".woff", ".woff2",
                    ".ttf", ".otf", ".mo", ".npy", ".npz", ".sqlite", ".db", ".parquet", ".onnx", ".pt")
#: Other files are read for their content when at most this big.
TEXT_LIMIT = 1 << 20
_WINDOW = 1 << 20
#: Windows overlap by this much, so a key block (at most :data:`_MAX_BLOCK`) always lies whole in one.
_OVERLAP = 64 << 10
_MAX_BLOCK = _OVERLAP - 256
#: How far around an access key id to look for its secret.
_NEAR = 400
_MAX_LISTED = 20
#: The first line stays under 160 characters once printed after ``error: ``.
_FIRST_LINE = 150

_PEM_BEGIN = re.compile(rb"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----")
_BASE64_BODY = re.compile(rb"[A-Za-z0-9+/=]{16,}")
_BODY_NOISE = re.compile(rb"[\s\"',+\\]+")
#: No look-behind: a pattern starting with a literal is searched several times faster (checked by hand instead).
_AWS_KEY_ID = re.compile(rb"(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
_UPPER_OR_DIGIT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_AWS_SECRET = re.compile(rb"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
#: Matched on the lower-cased text (a case-insensitive pattern is many times slower); the value is read from the
#: original at the match's end.
_AWS_SECRET_NAME = re.compile(rb"secret_?access_?key[\"']?\s*[:=]\s*[\"']?")
_AWS_SECRET_VALUE = re.compile(rb"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_NPM_TOKEN = re.compile(rb"(?m)^[^#;\n]*(?:_authToken|_auth|_password)\s*=\s*(?!\$\{)[^\s#;]")


def check_files(entries: Sequence[Entry], include: Sequence[str] = ()) -> None:
    """Raise :class:`SecretFileError` for the user's files that look like secrets, unless ``include`` lists them.

    ``entries``: the app's or the layers' (whose wheel files are skipped). ``include``: globs on the path in the
    zip (``chalicelib/certs/server.pem``, ``python/keys/ca.pem``); a layer file matches without ``python/`` too.
    """
    found: list[tuple[Entry, str]] = []
    for entry in entries:
        if not is_users(entry) or included(entry.arcname, include):
            continue
        reason = secret_reason(entry)
        if reason:
            found.append((entry, reason))
    if found:
        raise SecretFileError(_message(found))


#: The old name: the app was all it checked.
check_app_files = check_files


def is_users(entry: Entry) -> bool:
    """The app's files and vendor/'s loose files; not a wheel's (third-party, vendored or not)."""
    return entry.unit == APP_UNIT or entry.unit.startswith(VENDOR_PREFIX)


def included(arcname: str, include: Sequence[str]) -> bool:
    if not include:
        return False
    names = [arcname]
    if arcname.startswith(LAYER_PREFIX):
        names.append(arcname[len(LAYER_PREFIX):])
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in include for name in names)


def secret_reason(entry: Entry) -> str | None:
    """Why an entry looks like a secret (never quoting it), or None."""
    return name_reason(entry.arcname) or content_reason(entry)


def name_reason(arcname: str) -> str | None:
    """What the path alone gives away."""
    parts = arcname.split("/")
    for part in parts[:-1]:
        if part in SECRET_DIRS:
            return f"inside a {part}/ directory ({SECRET_DIRS[part]})"
    name = parts[-1]
    if name == ".env" or (name.startswith(".env.") and name[5:].lower() not in _ENV_TEMPLATES):
        return "an environment file"
    lower = name.lower()
    if lower in _SSH_KEY_NAMES:
        return "an SSH private key (by its name; its .pub ships)"
    if lower in _CREDENTIAL_FILES:
        return _CREDENTIAL_FILES[lower]
    if lower.endswith(_PKCS12_SUFFIXES):
        return f"a PKCS#12 key store ({posixpath.splitext(lower)[1]}), which holds a private key"
    return None


def content_reason(entry: Entry) -> str | None:
    """What the bytes give away: a private key, an AWS key, an npm token. Binary files are read only for DER."""
    lower = posixpath.basename(entry.arcname).lower()
    pem_named = lower.endswith(_PEM_SUFFIXES)
    if entry.size < 16 or (entry.size > TEXT_LIMIT and not pem_named):
        return None
    if lower.endswith(_BINARY_SUFFIXES) and not pem_named:
        return None
    first = True
    for window in _windows(entry):
        if first:
            first = False
            if b"\0" in window[:8192]:  # binary: only a DER key can be told from it
                der = lower.endswith(_DER_KEY_SUFFIXES) and _is_der_key(window, entry.size)
                return "holds a DER private key" if der else None
            if window.startswith(b"PuTTY-User-Key-File-"):
                return "holds a PuTTY private key"
        reason = _window_reason(window, lower)
        if reason:
            return reason
    return None


def _windows(entry: Entry) -> Iterator[bytes]:
    """The file in windows of :data:`_WINDOW` bytes, each starting :data:`_OVERLAP` bytes before the last's end."""
    with entry.open() as handle:
        window = handle.read(_WINDOW)
        while window:
            yield window
            more = handle.read(_WINDOW)
            if not more:
                return
            window = window[-_OVERLAP:] + more


def _window_reason(data: bytes, lower_name: str) -> str | None:
    if b"PRIVATE KEY" in data:
        kind = _private_key_kind(data)
        if kind is not None:
            return kind
    reason = _aws_key_reason(data)
    if reason:
        return reason
    if (b"ecret" in data or b"ECRET" in data) and _named_secret(data):
        return "holds an AWS secret access key (aws_secret_access_key = <40 characters>)"
    if lower_name == ".npmrc" and _NPM_TOKEN.search(data):
        return "an .npmrc holding an auth token"
    return None


def _private_key_kind(data: bytes) -> str | None:
    """What kind of private key block ``data`` holds (BEGIN, a base64 body, the matching END), or None."""
    for match in _PEM_BEGIN.finditer(data):
        label, block = match.group(1), match.group(2) or b""
        end = data.find(b"-----END " + label + b"PRIVATE KEY" + block + b"-----", match.end(),
                        match.end() + _MAX_BLOCK)
        if end < 0:
            continue
        body = data[match.end():end].replace(b"\\n", b"\n").replace(b"\\r", b"\n")
        lines = [_BODY_NOISE.sub(b"", line) for line in body.splitlines() if b":" not in line]  # no PEM headers
        if not _BASE64_BODY.fullmatch(b"".join(lines)):
            continue
        name = label.decode("ascii").strip()
        if name == "OPENSSH":
            return "holds an OpenSSH private key"
        if name == "PGP":
            return "holds a PGP private key block"
        return f"holds a PEM private key ({name})" if name else "holds a PEM private key"
    return None


def _aws_key_ids(data: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each access key id: ``AKIA``/``ASIA`` and 16 more, not inside a longer run."""
    for match in _AWS_KEY_ID.finditer(data):
        start = match.start()
        if start == 0 or data[start - 1] not in _UPPER_OR_DIGIT:
            yield start, match.end()


def _aws_key_reason(data: bytes) -> str | None:
    for start, end in _aws_key_ids(data):
        key_id = data[start:end]
        if key_id.endswith(b"EXAMPLE"):  # AWS's documented examples: public, and never valid
            continue
        shown = f"an AWS access key id ({key_id[:4].decode()}…, {len(key_id)} chars)"
        near = data[max(0, start - _NEAR):end + _NEAR]
        if any(_looks_like_secret(secret.group()) for secret in _AWS_SECRET.finditer(near)):
            return f"holds {shown} and what looks like its 40-character secret access key"
        return f"holds {shown}"
    return None


def _named_secret(data: bytes) -> bool:
    """``aws_secret_access_key = <40 characters>`` (or ``"SecretAccessKey": "..."``), in any case."""
    for match in _AWS_SECRET_NAME.finditer(data.lower()):
        value = _AWS_SECRET_VALUE.match(data, match.end())
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


def _message(found: Sequence[tuple[Entry, str]]) -> str:
    """First line: how many and which (under 160 characters); a line per file; the way out."""
    count = len(found)
    head = f"refusing to ship {count} secret-looking file{'s' if count != 1 else ''}: "
    names = [entry.arcname for entry, _ in found]
    listed: list[str] = []
    for index, name in enumerate(names):
        rest = count - index - 1
        tail = f" and {rest} more" if rest else ""
        if len(head + ", ".join([*listed, name]) + tail) >= _FIRST_LINE:
            break
        listed.append(name)
    if not listed:  # one very long path
        room = _FIRST_LINE - len(head) - len(f" and {count - 1} more") - 2
        listed.append("…" + names[0][-room:])
    left = count - len(listed)
    first = head + ", ".join(listed) + (f" and {left} more" if left else "")
    lines = [first]
    for entry, reason in found[:_MAX_LISTED]:
        where = " (vendored)" if entry.unit.startswith(VENDOR_PREFIX) else ""
        lines.append(f"  {entry.arcname}{where}: {reason}")
    if count > _MAX_LISTED:
        lines.append(f"  … and {count - _MAX_LISTED} more")
    them, one = ("it", "it is") if count == 1 else ("them", "one is")
    lines.append(
        f"  move {them} out of the project (Lambda environment variables or Secrets Manager carry secrets), "
        f"or, if {one} meant to ship, list it in the include setting: include = [\"{names[0]}\"]"
    )
    return "\n".join(lines)
