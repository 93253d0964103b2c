"""``python -m lambda_tasks.fastpip``: pip, with two shortcuts for resolving against another platform.

1. A wheel's tags are checked against a *set* of the accepted tags. pip keeps a list and, for every file on
   an index page, builds a set from it (numpy and pandas list ~28,000 files; a Lambda target accepts ~600
   tags): 0.6 s of a 2.7 s cold resolve.
2. With ``LAMBDA_TASKS_WHEEL_TAGS`` (the accepted tags, space-separated), a wheel on a JSON index page that
   has none of them is dropped before pip parses its link: another 0.7 s.

Both only skip work whose answer is already known: pip picks exactly the wheels it would pick unpatched.
Each patch checks that pip's code still looks as expected and otherwise leaves pip alone.
"""

from __future__ import annotations

import os
import sys
from typing import Any

TAGS_VARIABLE = "LAMBDA_TASKS_WHEEL_TAGS"


def wheel_fits(filename: str, accepted: frozenset[str]) -> bool:
    """True unless ``filename`` is a wheel none of whose tags is in ``accepted`` ("py3-none-any" form)."""
    parts = filename[:-4].lower().split("-")
    if not filename.endswith(".whl") or len(parts) not in (5, 6):
        return True  # not a well-formed wheel name: pip decides
    return any(
        f"{py}-{abi}-{platform}" in accepted
        for py in parts[-3].split(".") for abi in parts[-2].split(".") for platform in parts[-1].split(".")
    )


def _patch_tag_check() -> None:
    from pip._internal.models.wheel import Wheel

    plain = Wheel.supported
    if not {"file_tags", "isdisjoint"} <= set(plain.__code__.co_names):
        return  # pip changed: keep its own check
    as_sets: dict[int, tuple[list, frozenset, int]] = {}

    def supported(self: Any, tags: Any) -> bool:
        if not isinstance(tags, list):
            return plain(self, tags)
        found = as_sets.get(id(tags))
        if found is None or found[0] is not tags or found[2] != len(tags):
            found = as_sets[id(tags)] = (tags, frozenset(tags), len(tags))
        return not found[1].isdisjoint(self.file_tags)

    Wheel.supported = supported


def _patch_json_pages(accepted: frozenset[str]) -> None:
    from pip._internal.models.link import Link

    plain = Link.from_json.__func__

    def from_json(cls: Any, file_data: Any, page_url: str) -> Any:
        name = file_data.get("filename") if isinstance(file_data, dict) else None
        if isinstance(name, str) and not wheel_fits(name, accepted):
            return None  # pip skips a None link, as it does for one without a URL
        return plain(cls, file_data, page_url)

    Link.from_json = classmethod(from_json)


def main() -> None:
    if sys.path and sys.path[0] in ("", os.getcwd()):
        sys.path.pop(0)  # the user's project must not shadow pip's modules
    try:
        _patch_tag_check()
        accepted = frozenset(os.environ.get(TAGS_VARIABLE, "").split())
        if accepted:
            _patch_json_pages(accepted)
    except Exception:  # noqa: BLE001 - any surprise in pip's internals: run plain pip
        pass
    from pip._internal.cli.main import main as pip_main

    sys.exit(pip_main())


if __name__ == "__main__":
    main()
