"""Optimistic concurrency for one function (pure): did another writer get in between our writes?

Every write to a function carries the ``RevisionId`` it was decided against (Lambda answers
``PreconditionFailedException`` when the function changed since). After each write the deployer reads the function
back: what differs from our intent there, and is not what we are still about to write ourselves, is another
writer's change. Either way, the function's comparison starts again from what is there now, a few times at most;
a deploy never leaves one part of its intent beside another deploy's part and says it succeeded.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from .function_config import config_changes

#: comparisons of one function started again at most this many times before the deploy of it fails
ATTEMPTS = 3


def foreign_changes(current: Mapping[str, Any], desired: Mapping[str, Any], code_sha256: str, *,
                    pending_code: bool, pending_config: Collection[str]) -> list[str]:
    """What ``current`` (the function read back) holds that is neither our intent nor still ours to write.

    ``code_sha256``: our code's (empty when not known beforehand: an image's, before it is pushed).
    """
    found = []
    if code_sha256 and not pending_code and current.get("CodeSha256") != code_sha256:
        found.append("code")
    found += [key for key in config_changes(current, desired) if key not in pending_config]
    return found


def conflict_line(name: str, region: str, changed: str, attempts: int = ATTEMPTS) -> str:
    """The one line a function's deploy fails with when another writer kept changing it."""
    what = f" ({changed})" if changed else ""
    return (f"function {name} in {region}: another deploy changed it{what} while this one wrote it, {attempts} times; "
            "its configuration is the other deploy's, not this one's\n"
            "  two deploys of one stage ran at once: run this deploy again once the other has finished")
