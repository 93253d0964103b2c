"""What a secret looks like: file names, and token formats in bytes (the one table ``secret_scan`` reads).

The token formats are those secret scanners agree on: Yelp's detect-secrets (``detect_secrets/plugins``:
``github_token.py``, ``gitlab_token.py``, ``slack.py``, ``stripe.py``, ``npm.py``, ``pypi_token.py``,
``aws.py``, ``private_key.py``) and gitleaks' ``config/gitleaks.toml`` (Google's ``AIza`` key, GitHub's
fine-grained ``github_pat_``). They are matched on bytes, not text: every pattern starts with a literal, which
Python's ``re`` finds with a fast substring search, so a scan runs at hundreds of MB/s (``docs/secrets.md``).
A value that is plainly a placeholder (``ghp_xxxx...``, ``...EXAMPLE...``, few distinct characters) is not a
secret: documentation ships.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# ----------------------------------------------------------------------------------------------- names

#: Directories whose content is credentials or history, never code (compared in lower case).
SECRET_DIRS = {".aws": "AWS credentials directory", ".git": "git repository", ".ssh": "SSH directory",
               ".gnupg": "GnuPG keyring", ".docker": "Docker credentials directory"}
#: ``.env.example``, ``sample.env`` and friends are templates, not secrets: any dotted part of the name.
ENV_TEMPLATES = frozenset({"example", "examples", "sample", "template", "tpl", "dist", "defaults", "default",
                           "schema", "stub"})
SSH_KEY_NAMES = frozenset({"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk"})
CREDENTIAL_FILES = {".netrc": "a .netrc file (login credentials)", "_netrc": "a _netrc file (login credentials)",
                    ".pypirc": "a .pypirc file (package index credentials)",
                    ".git-credentials": "a .git-credentials file (stored git passwords)",
                    ".dockercfg": "a .dockercfg file (registry credentials)"}
#: PKCS#12 holds a private key by design (a trust store in one is rare: ``include`` it).
PKCS12_SUFFIXES = (".p12", ".pfx")
DER_KEY_SUFFIXES = (".key", ".der", ".pk8", ".p8")
#: Never read: compiled code and media cannot hold a key as text (archives are opened, not skipped).
BINARY_SUFFIXES = (".so", ".pyd", ".dll", ".dylib", ".a", ".o", ".pyc", ".png", ".jpg", ".jpeg", ".gif", ".webp",
                   ".ico", ".pdf", ".woff", ".woff2", ".ttf", ".otf", ".mo", ".npy", ".npz", ".sqlite", ".db",
                   ".parquet", ".onnx", ".pt")


def is_env_file(name: str) -> bool:
    """``.env``, ``.env.production``, ``.envrc``, ``prod.env``, ``.ENV`` (any case); not a template."""
    lower = name.lower()
    parts = lower.split(".")
    if any(part in ENV_TEMPLATES for part in parts[1:]) or (parts[0] in ENV_TEMPLATES and len(parts) > 1):
        return False
    return lower in (".env", ".envrc") or lower.startswith(".env.") or (lower.endswith(".env") and len(lower) > 4)


# ----------------------------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Token:
    """One token format: ``pattern`` matches it whole and starts with a literal, which ``re`` finds with a fast
    substring search (an alternation or a leading class would make it test every byte); ``before``: the bytes
    one of which must precede the match (``[rs]k_live_`` is searched as ``k_live_``). ``shown`` is the prefix
    that names it in messages (never more of the value)."""

    kind: str
    shown: str
    pattern: re.Pattern[bytes]
    #: characters after the prefix that must vary for the value to count (placeholders repeat a few)
    min_distinct: int = 8
    before: bytes = b""


TOKENS = (
    Token("a GitHub token", "ghp_", re.compile(rb"gh[pousr]_[A-Za-z0-9]{36,251}(?![A-Za-z0-9])")),
    Token("a GitHub fine-grained token", "github_pat_", re.compile(rb"github_pat_[A-Za-z0-9_]{59,251}")),
    Token("a GitLab token", "glpat-", re.compile(rb"glpat-[A-Za-z0-9_-]{20,200}")),
    Token("a Slack token", "xoxb-", re.compile(rb"xox[abposr]-(?:[0-9]+-)+[0-9A-Za-z-]{6,}"), 6),
    Token("a Slack webhook URL", "hooks.slack.com/services/",
          re.compile(rb"hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]{8,}")),
    Token("a Stripe live key", "sk_live_", re.compile(rb"k_live_[0-9A-Za-z]{24,247}"), before=b"rs"),
    Token("a Google API key", "AIza", re.compile(rb"AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])")),
    Token("an npm token", "npm_", re.compile(rb"npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
    Token("a PyPI token", "pypi-", re.compile(rb"pypi-AgE[IN][A-Za-z0-9_-]{60,}")),
)
_PLACEHOLDER = re.compile(rb"(?i)example|xxxx|0000|1234567|abcdef|your|fake|dummy|test|sample")


def looks_real(value: bytes, prefix_length: int, min_distinct: int) -> bool:
    """Not a placeholder: varied characters after the prefix, no ``EXAMPLE``/``xxxx``/``your``/``fake``."""
    body = value[prefix_length:]
    return len(set(body)) >= min_distinct and not _PLACEHOLDER.search(body)


# ------------------------------------------------------------------------------------- keys and AWS

PEM_BEGIN = re.compile(rb"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----")
BASE64_BODY = re.compile(rb"[A-Za-z0-9+/=]{16,}")
BODY_NOISE = re.compile(rb"[\s\"',+\\]+")
#: No look-behind: a pattern starting with a literal is searched several times faster (checked by hand instead).
AWS_KEY_ID = re.compile(rb"A[KS]IA[A-Z0-9]{16}(?![A-Z0-9])")
UPPER_OR_DIGIT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
AWS_SECRET = re.compile(rb"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
#: Matched on the lower-cased text (a case-insensitive pattern is many times slower); the value is read from the
#: original at the match's end.
AWS_SECRET_NAME = re.compile(rb"secret_?access_?key[\"']?\s*[:=]\s*[\"']?")
AWS_SECRET_VALUE = re.compile(rb"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
NPM_AUTH = re.compile(rb"(?m)^[^#;\n]*(?:_authToken|_auth|_password)\s*=\s*(?!\$\{)[^\s#;]")
