"""What takes the space in the built zips: artifact -> distribution -> top-level directory -> largest files.

Read from the zips' central directories (names and sizes; no member is inflated but the small
``*.dist-info/RECORD`` files that say which distribution installed which path). Grouping is pure.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..entries import APP_UNIT, VENDOR_PREFIX, unit_key
from ..report import human_bytes

#: Files shown one by one in each top-level directory; the rest is one "other files" block.
LARGEST_FILES = 12
#: Top-level directories shown one by one in each distribution.
LARGEST_DIRECTORIES = 12


@dataclass(frozen=True)
class Node:
    """A block of the treemap. ``path`` is what hovering shows (the path in the zip, or the artifact)."""

    name: str
    zipped: int
    unzipped: int
    children: tuple[Node, ...] = ()
    path: str = ""
    files: int = 1

    def size(self, zipped: bool) -> int:
        return self.zipped if zipped else self.unzipped


@dataclass(frozen=True)
class Artifact:
    """One zip or image layer: its tree and its size on disk as the manifest records it."""

    tree: Node
    zip_bytes: int
    unzipped_bytes: int
    base: bool = False  # a base image's layer: one block, not read


@dataclass(frozen=True)
class Member:
    """One file in a zip: its path (below the layer's ``python/``), its compressed and its real size."""

    path: str
    zipped: int
    unzipped: int


def read_members(zip_path: Path, prefix: str) -> tuple[list[Member], dict[str, str]]:
    """The files of a zip (directories left out, ``prefix`` cut off) and path -> distribution from RECORDs."""
    members: list[Member] = []
    owners: dict[str, str] = {}
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            path = info.filename.removeprefix(prefix)
            members.append(Member(path, info.compress_size, info.file_size))
            if is_record(path):
                owners.update(record_owners(path, archive.read(info)))
    return members, owners


def is_record(path: str) -> bool:
    """Whether ``path`` (below site-packages) is a distribution's ``*.dist-info/RECORD``."""
    parts = path.split("/")
    return len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "RECORD"


def record_owners(path: str, data: bytes) -> dict[str, str]:
    """path -> distribution for the files the RECORD at ``path`` lists, and for the RECORD itself."""
    owner = unit_key(path.split("/", 1)[0].removesuffix(".dist-info").rsplit("-", 1)[0])
    owners = dict.fromkeys(record_paths(data.decode("utf-8", "replace")), owner)
    owners[path] = owner
    return owners


def record_paths(text: str) -> list[str]:
    """The installed paths a RECORD lists (those outside site-packages, ``../../bin/x``, left out)."""
    return [row[0] for row in csv.reader(io.StringIO(text)) if row and row[0] and not row[0].startswith("..")]


def owner_of(path: str, owners: Mapping[str, str], by_top: Mapping[str, str], units: Iterable[str]) -> str:
    """The distribution (or vendor entry, or ``app``) a file belongs to."""
    if path in owners:
        return owners[path]
    top = path.split("/", 1)[0]
    if top in by_top:  # a .pyc written by the build, a file not in RECORD
        return by_top[top]
    stem = top.removesuffix(".py")
    for unit in units:
        if unit in (f"{VENDOR_PREFIX}{top}", f"{VENDOR_PREFIX}{stem}"):
            return unit
    return APP_UNIT if APP_UNIT in units else "other"


def group(label: str, path: str, members: Sequence[Member], owners: Mapping[str, str],
          units: Sequence[str]) -> Node:
    """One artifact's tree: distribution -> top-level directory -> largest files, each sorted largest first."""
    owner = owner_function(owners, units)
    tree: dict[str, dict[str, list[Member]]] = defaultdict(lambda: defaultdict(list))
    for member in members:
        tree[owner(member.path)][member.path.split("/", 1)[0]].append(member)
    distributions = []
    for unit, tops in tree.items():
        directories = [_directory(top, files) for top, files in tops.items()]
        distributions.append(_node(unit, _capped(directories, LARGEST_DIRECTORIES, "directories"), unit))
    return _node(label, _sorted(distributions), path)


def _directory(top: str, files: Sequence[Member]) -> Node:
    if len(files) == 1 and files[0].path == top:
        only = files[0]
        return Node(top, only.zipped, only.unzipped, path=only.path)
    leaves = [Node(m.path.rsplit("/", 1)[-1], m.zipped, m.unzipped, path=m.path) for m in files]
    return _node(f"{top}/", _capped(leaves, LARGEST_FILES, "files", f"{top}/"), f"{top}/")


def _capped(nodes: Sequence[Node], keep: int, what: str, where: str = "") -> list[Node]:
    """The ``keep`` largest (unzipped) nodes, the rest summed into one "N other ..." node."""
    ordered = _sorted(nodes)
    if len(ordered) <= keep + 1:
        return ordered
    rest = ordered[keep:]
    other = Node(f"{len(rest)} other {what}", sum(n.zipped for n in rest), sum(n.unzipped for n in rest),
                 path=f"{where}... ({len(rest)} other {what})", files=sum(n.files for n in rest))
    return [*ordered[:keep], other]


def _sorted(nodes: Iterable[Node]) -> list[Node]:
    return sorted(nodes, key=lambda n: (-n.unzipped, -n.zipped, n.name))


def _node(name: str, children: Sequence[Node], path: str) -> Node:
    return Node(name, sum(c.zipped for c in children), sum(c.unzipped for c in children), tuple(children), path,
                sum(c.files for c in children))


def owner_function(owners: Mapping[str, str], units: Sequence[str]) -> Callable[[str], str]:
    """path -> the unit that owns it, as :func:`group` decides."""
    by_top: dict[str, str] = {}
    for file, owner in owners.items():
        by_top.setdefault(file.split("/", 1)[0], owner)
    return lambda path: owner_of(path, owners, by_top, units)


#: The block (and table row) for what a zip file holds beside its members' compressed bytes: local headers and
#: the central directory. With it, an artifact's blocks add up to its size on disk, the bars' figure.
OVERHEAD = "(zip headers and directory)"
#: Distributions under this share of their artifact (unzipped) are drawn as one block, when there are several.
SMALL_SHARE = 0.01
_BOUNDS = tuple(10 ** k * 1024 for k in range(6))  # 1 KiB, 10 KiB, 100 KiB, ...


def with_overhead(tree: Node, zip_bytes: int, unzipped_bytes: int) -> Node:
    """``tree`` with a child for the bytes of the file (and of its recorded unzipped size) no member accounts for."""
    zipped, unzipped = max(0, zip_bytes - tree.zipped), max(0, unzipped_bytes - tree.unzipped)
    if not zipped and not unzipped:
        return tree
    extra = Node(OVERHEAD, zipped, unzipped, files=0, path=f"{tree.path}: local headers and central directory")
    return _node(tree.name, [*tree.children, extra], tree.path)


def grouped(tree: Node) -> Node:
    """``tree`` with its small distributions (under ``SMALL_SHARE`` of it, unzipped) as one block named for their
    count and bound ("23 distributions under 100.0 KiB"), so that the map stays readable; one alone stays."""
    limit = tree.unzipped * SMALL_SHARE
    small = [c for c in tree.children if c.name != OVERHEAD and c.unzipped < limit]
    if len(small) < 2:
        return tree
    largest = max(c.unzipped for c in small)
    bound = next((b for b in _BOUNDS if b > largest), largest + 1)
    name = f"{len(small)} distributions under {human_bytes(bound)} unzipped"
    block = _node(name, _sorted(small), f"{tree.path}: {name}")
    ids = {id(c) for c in small}
    return _node(tree.name, _sorted([*(c for c in tree.children if id(c) not in ids), block]), tree.path)
