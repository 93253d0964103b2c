"""Files the artifacts must never carry by accident: environment and credentials files, private keys, tokens.

Checked: the user's own files, whatever their source: the app (unit ``app``), vendor/'s loose files (units
``vendor/<top entry>``), and the project's own wheels (``own``: wheels dropped into vendor/ and the wheels
built from local requirements such as ``./libs/mylib``). Wheels fetched from an index are third-party: their
test keys and sample certificates are theirs to ship, and they are not read.

Names first, without reading anything (``secret_patterns``: ``.env*``, ``*.env``, ``.envrc`` in any case, SSH
keys, ``.netrc``, ...); then every file's content, whatever its size, encoding or archive (``secret_scan``; a
big file found clean is remembered by its content, ``secret_verdicts``):

- a private key block (``-----BEGIN [RSA |EC |OPENSSH |ENCRYPTED ]PRIVATE KEY-----``, ``PGP PRIVATE KEY BLOCK``)
  with its END line and a base64 body between them, so a CA bundle ships, and so does a document that only
  mentions the header; a JSON or Python string with ``\\n`` escapes is a block too; a PuTTY or DER private key;
- the tokens secret scanners know: GitHub, GitLab, Slack (tokens and webhooks), Stripe, Google, npm, PyPI;
- an AWS access key id (``AKIA``/``ASIA`` + 16; AWS's documented ``...EXAMPLE`` ids pass) and a 40-character
  secret access key named so;
- an ``.npmrc`` whose ``_authToken``/``_auth``/``_password`` is a value, not a ``${VARIABLE}``.

Nothing secret is ever printed: the message names the file and the reason, at most a token's fixed prefix.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Collection, Sequence

from ..entries import APP_UNIT, LAYER_PREFIX, VENDOR_PREFIX, Entry, FileSource
from ..errors import SecretFileError
from . import secret_scan
from .secret_patterns import SECRET_DIRS
from .secret_scan import name_reason
from .secret_verdicts import Verdicts

__all__ = ["SECRET_DIRS", "check_files", "content_reason", "entry_name_reason", "included", "is_users", "name_reason",
           "secret_reason"]

_MAX_LISTED = 20
#: The first line stays under 160 characters once printed after ``error: ``.
_FIRST_LINE = 150


def check_files(entries: Sequence[Entry], include: Sequence[str] = (), own: Collection[str] = (),
                warn: Callable[[str], None] | None = None) -> None:
    """Raise :class:`SecretFileError` for the user's files that look like secrets, unless ``include`` lists them.

    ``entries``: the app's or the layers'. ``include``: globs on the path in the zip
    (``chalicelib/certs/server.pem``, ``python/keys/ca.pem``); a layer file matches without ``python/`` too.
    ``own``: the units of the project's own wheels (checked like vendor/). ``warn`` is told, in one line, of
    what could not be read whole (a damaged archive, a bomb's remainder).
    """
    found: list[tuple[Entry, str]] = []
    budget = secret_scan.Budget()
    verdicts = Verdicts()
    for entry in entries:
        if not (is_users(entry) or entry.unit in own) or included(entry.arcname, include):
            continue
        reason = entry_name_reason(entry)
        key = verdicts.key(entry) if reason is None else None
        if reason is None and not verdicts.is_clean(key):
            reason = content_reason(entry, budget)
            if reason is None and not budget.skipped:
                verdicts.add(key)
        if reason:
            found.append((entry, reason))
        if budget.skipped:
            if warn is not None:
                warn(f"secrets: {entry.arcname}: {budget.skipped[0].split(': ', 1)[-1]}"[:300])
            budget = secret_scan.Budget()
    verdicts.save()
    if found:
        raise SecretFileError(_message(found, own))


#: The old name: the app was all it checked.
check_app_files = check_files


def is_users(entry: Entry) -> bool:
    """The app's files and vendor/'s loose files (a wheel's are the user's only when it is in ``own``)."""
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
    return entry_name_reason(entry) or content_reason(entry)


def entry_name_reason(entry: Entry) -> str | None:
    """What the entry's name gives away, or the name of the file a link in the project stands for
    (``chalicelib/settings.txt -> ../.env`` ships the .env under an innocent name)."""
    reason = name_reason(entry.arcname)
    if reason is not None or not isinstance(entry.source, FileSource):
        return reason
    real = "/".join(entry.source.path.parts[-2:])  # the file and its directory (.ssh/id_ed25519)
    if entry.arcname.endswith(f"/{real}"):
        return None  # not renamed by a link
    reason = name_reason(real)
    shown = real if entry.source.path.parent.name.lower() in SECRET_DIRS else entry.source.path.name
    return f"a link to {shown}: {reason}" if reason else None


def content_reason(entry: Entry, budget: secret_scan.Budget | None = None) -> str | None:
    """What the bytes give away (archives opened, any size and encoding)."""
    return secret_scan.stream_reason(entry.arcname, entry.size, entry.open, budget or secret_scan.Budget())


def _message(found: Sequence[tuple[Entry, str]], own: Collection[str] = ()) -> str:
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
        where = " (vendored)" if entry.unit.startswith(VENDOR_PREFIX) else \
            f" (in the project's own wheel {entry.unit})" if entry.unit in own else ""
        lines.append(f"  {entry.arcname}{where}: {reason}")
    if count > _MAX_LISTED:
        lines.append(f"  … and {count - _MAX_LISTED} more")
    them, one = ("it", "it is") if count == 1 else ("them", "one is")
    lines.append(
        f"  move {them} out of the project (Lambda environment variables or Secrets Manager carry secrets), "
        f"or, if {one} meant to ship, list it in the include setting: include = [\"{names[0]}\"]"
    )
    return "\n".join(lines)
