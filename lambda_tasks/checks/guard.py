"""Files the app zip must never carry by accident: environment files, private keys, .aws/, .git/."""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Sequence

from ..entries import Entry
from ..errors import SecretFileError

#: Directories whose content is credentials or history, never code.
SECRET_DIRS = {".aws": "AWS credentials directory", ".git": "git repository", ".ssh": "SSH directory"}
#: ``.env.example`` and friends are templates, not secrets.
_ENV_TEMPLATES = {"example", "sample", "template", "dist", "defaults"}
_KEY_NAMES = {"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"}
_KEY_SUFFIXES = (".pem", ".key", ".p12", ".pfx")
#: How much of each file is read to look for a PEM private key header.
_HEAD_BYTES = 256


def check_app_files(entries: Sequence[Entry], include: Sequence[str] = ()) -> None:
    """Refuse ``.env`` files, private keys (by name or by a ``-----BEGIN ... PRIVATE KEY`` header),
    and ``.aws/``, ``.git/``, ``.ssh/`` directories, unless an ``include`` glob matches the arcname."""
    refused: list[str] = []
    for entry in entries:
        reason = secret_reason(entry)
        if reason and not any(fnmatch.fnmatchcase(entry.arcname, pattern) for pattern in include):
            refused.append(f"{entry.arcname} ({reason})")
    if refused:
        first = refused[0].split(" (", 1)[0]
        raise SecretFileError(
            f"refusing to put {len(refused)} secret-looking file{'s' if len(refused) > 1 else ''} into the app zip: "
            f"{', '.join(refused)}; move them out of the app (Lambda environment variables or Secrets Manager "
            f"carry secrets), or list them in the include setting if they are meant to ship "
            f"(e.g. include = [\"{first}\"])"
        )


def secret_reason(entry: Entry) -> str | None:
    """Why an entry looks like a secret, or None."""
    parts = entry.arcname.split("/")
    for part in parts[:-1]:
        if part in SECRET_DIRS:
            return f"inside a {part}/ {SECRET_DIRS[part]}"
    name = posixpath.basename(entry.arcname)
    if name == ".env" or (name.startswith(".env.") and name[5:].lower() not in _ENV_TEMPLATES):
        return "an environment file"
    lower = name.lower()
    if lower in _KEY_NAMES:
        return "an SSH private key"
    if lower.endswith(_KEY_SUFFIXES):
        return f"a key or certificate file ({posixpath.splitext(lower)[1]})"
    if _has_private_key_header(entry):
        return "contains a PEM private key"
    return None


def _has_private_key_header(entry: Entry) -> bool:
    if entry.size < len("-----BEGIN PRIVATE KEY"):
        return False
    with entry.open() as handle:
        head = handle.read(_HEAD_BYTES)
    first = head.lstrip().split(b"\n", 1)[0]
    return first.startswith(b"-----BEGIN") and b"PRIVATE KEY" in first
