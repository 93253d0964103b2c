"""Published layer versions (pure): our content hash in a version's Description, and which versions hold a
zip.

Our content hash lives in each version's Description (``lambda-tasks sha256:<hex>``) and is confirmed
against ``get_layer_version``'s CodeSha256 (``matches``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .. import limits
from ..aws import clients as aws
from ..manifest import LayerRecord
from ..targets import Target

DESCRIPTION_PREFIX = "lambda-tasks sha256:"


def layer_description(record: LayerRecord) -> str:
    """``lambda-tasks sha256:<hex>``, then as many distribution names as fit in 256 characters."""
    head = f"{DESCRIPTION_PREFIX}{record.sha256}"
    names = ", ".join(record.distributions)
    if not names:
        return head
    text = f"{head} ({names})"
    if len(text) <= limits.LAYER_DESCRIPTION_CHARS:
        return text
    return text[: limits.LAYER_DESCRIPTION_CHARS - 4] + "...)"


def hash_from_description(description: str | None) -> str | None:
    """The hex content hash our description carries, or None for versions not made by us."""
    if not description or not description.startswith(DESCRIPTION_PREFIX):
        return None
    digest = description[len(DESCRIPTION_PREFIX) :].split(" ", 1)[0]
    return digest if len(digest) == 64 and all(c in "0123456789abcdef" for c in digest) else None


@dataclass(frozen=True)
class RemoteVersion:
    """One published layer version as Lambda describes it (``code_sha256`` only from get_layer_version)."""

    arn: str
    version: int
    description: str = ""
    runtimes: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ()
    code_sha256: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any], arn: str | None = None) -> RemoteVersion:
        return cls(
            arn=arn or data["LayerVersionArn"],
            version=int(data["Version"]),
            description=data.get("Description", "") or "",
            runtimes=tuple(data.get("CompatibleRuntimes") or ()),
            architectures=tuple(data.get("CompatibleArchitectures") or ()),
            code_sha256=(data.get("Content") or {}).get("CodeSha256"),
        )


def matches(version: RemoteVersion, sha256_hex: str, target: Target) -> bool:
    """The version holds exactly our zip and is declared for our runtime and architecture."""
    return (
        version.code_sha256 == aws.code_sha256(sha256_hex)
        and (not version.runtimes or target.runtime in version.runtimes)
        and (not version.architectures or target.arch in version.architectures)
    )


def candidates(versions: Iterable[RemoteVersion], sha256_hex: str) -> list[RemoteVersion]:
    """Versions whose description claims our content, newest first (to be confirmed by CodeSha256)."""
    found = [v for v in versions if hash_from_description(v.description) == sha256_hex]
    return sorted(found, key=lambda v: v.version, reverse=True)


def version_of(arn: str) -> int | None:
    """The version number at the end of a LayerVersionArn."""
    tail = arn.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None
