"""Optimistic concurrency for one function (pure): the decisions of the write protocol; function_writes.py does the
I/O.

Every write to a function carries the ``RevisionId`` it was decided against (Lambda answers
``PreconditionFailedException`` when the function changed since), so a code write leaves the configuration it was
decided against, and a configuration write the code: each write makes one component (code, configuration) whole.
After each write the deployer reads the function back: what differs from our intent there, and is not what we
are still about to write ourselves, is another writer's change (:func:`foreign_changes`). After a conflict,
:func:`next_move` decides from a fresh read:

- ``done``: the function holds our whole intent (the other deploy's write changed nothing of ours);
- ``again``: compare again and write what differs, while attempts are left;
- ``finish``: the attempts are used up, but the newest write is ours: the function holds exactly what our last
  write left (:func:`after_code_write`, :func:`after_config_write`; its answer seen or not), maybe our code beside
  another deploy's configuration or the other way round, and nobody wrote after us, so we write the rest; a write
  refused now means another deploy wrote after us, and it is that deploy's read-back that sees the mix;
- ``fail``: the attempts are used up and another deploy wrote last: this deploy fails, naming what that deploy
  changed (:func:`conflict_line`).

Why that never leaves a mix: a deploy stops short of its whole intent only when the function no longer holds what
its last write left, so another deploy wrote after it; the deploy that made the last write of all finds the
function as that write left it, and so writes on until a read shows its whole intent.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .function_config import config_changes

#: comparisons of one function started again at most this many times before the deploy of it gives up
ATTEMPTS = 3
#: conflicts in all (while finishing too) after which a deploy stops whatever it reads (never reached in the tests:
#: finishing ends at the first write of another deploy)
MAX_CONFLICTS = 3 * ATTEMPTS

Move = Literal["done", "again", "finish", "fail"]


@dataclass(frozen=True)
class Reading:
    """What one read of the function says about this deploy's intent."""

    #: the function holds our code (and architecture)
    code: bool
    #: the configuration fields whose value is not ours
    config: tuple[str, ...]
    #: not compared: two readings are equal when they say the same about our intent
    revision: str | None = field(default=None, compare=False)

    @property
    def whole(self) -> bool:
        return self.code and not self.config


def reading(current: Mapping[str, Any], desired: Mapping[str, Any], *, code: bool) -> Reading:
    """``current`` (the function as read) against our intent; ``code``: whether it holds our code (the package
    says: a zip's CodeSha256, an image's URI, and the architecture)."""
    return Reading(code, tuple(config_changes(current, desired)), current.get("RevisionId"))


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


def after_code_write(before: Reading) -> Reading:
    """What the function holds once a code write decided against ``before`` has landed: our code, the
    configuration as it was (the revision guarantees it)."""
    return Reading(True, before.config, None)


def after_config_write(before: Reading) -> Reading:
    """What the function holds once a configuration write decided against ``before`` has landed: our whole
    configuration, the code as it was."""
    return Reading(before.code, (), None)


def next_move(read: Reading, *, conflicts: int, outcome: Reading | None) -> Move:
    """After the ``conflicts``-th conflict: what to do, from ``read`` (the function now). ``outcome``: what the
    function holds once our last write (its answer seen or not) has landed, None before one: while the function
    still holds exactly that, nobody wrote after us, and the newest write is ours to finish."""
    if read.whole:
        return "done"
    if conflicts < ATTEMPTS:
        return "again"
    if conflicts < MAX_CONFLICTS and read == outcome:
        return "finish"
    return "fail"


def what_differs(code: bool, config: Sequence[str]) -> str:
    """``code``, ``configuration (MemorySize, Environment)`` or both, from what differs from our intent."""
    parts = ["code"] if code else []
    if config:
        parts.append(f"configuration ({', '.join(config)})")
    return " and ".join(parts)


#: the second line of both errors: what happened and the way out
_WAY_OUT = "  two deploys of one stage ran at once and the other wrote last: run this deploy again once it has finished"


def conflict_line(name: str, region: str, read: Reading, attempts: int = ATTEMPTS) -> str:
    """The error of a deploy that gave up: another deploy kept writing the function and wrote last."""
    what = what_differs(not read.code, read.config)
    return (f"function {name} in {region}: not deployed: another deploy changed its {what} while this one wrote it, "
            f"{attempts} times\n{_WAY_OUT}")


def replaced_line(name: str, region: str, read: Reading) -> str:
    """The error of a deploy whose whole intent was in place, then replaced before it finished (at PublishVersion)."""
    what = what_differs(not read.code, read.config)
    return (f"function {name} in {region}: not deployed: another deploy changed its {what} after this one wrote it\n"
            f"{_WAY_OUT}")


def deleted_line(name: str, region: str) -> str:
    """The error of a deploy that gave up because another deleted the function each time it was written."""
    return (f"function {name} in {region}: not deployed: another deploy deleted it while this one wrote it, "
            f"{ATTEMPTS} times\n{_WAY_OUT}")
