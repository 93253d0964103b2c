"""What slimming would still save, per distribution: estimates measured on the built artifacts.

* ``slim``: the files its rule drops that the layers still hold (the rule is ``checks/slim.py``'s, handed in
  by ``commands``: this room may not import ``checks``), and extension modules for another Python;
* ``strip_binaries``: the ``.debug*`` sections of the ELF files (what ``strip --strip-debug`` removes, less
  the few symbols it also drops: an estimate, unzipped only; zip builds only, an image's layers are not read);
* ``exclude_runtime_provided``: the whole distribution when the runtime provides it (``targets.RUNTIME_PROVIDED``).

Each is what is *there*, so an option already on shows 0 (unless its tool was missing when the build ran).
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..entries import LAYER_PREFIX, BytesSource, Entry
from ..shared_libraries import other_abi_files
from ..targets import RUNTIME_PROVIDED, Target
from .sizes import Member

_ELF = b"\x7fELF"
_SPOOL = 64 << 20


@dataclass(frozen=True)
class Slimming:
    """The slimming settings and slim's rule (``checks.slim.droppable``, taking an entry and ``keep_pycache``)."""

    slim: bool
    strip_binaries: bool
    exclude_runtime_provided: bool
    droppable: Callable[[Entry, bool], bool]
    keep_pycache: bool  # the bytecode setting: slim keeps what the build compiles
    target: Target

    def drops(self, unit: str, path: str) -> bool:
        """Whether slim leaves out ``path`` (below site-packages) of ``unit``."""
        return self.droppable(Entry(LAYER_PREFIX + path, unit, 0, 0o644, BytesSource(b"")), self.keep_pycache)


@dataclass(frozen=True)
class Saving:
    """One distribution's estimates: (zipped, unzipped) bytes for slim and runtime; unzipped for strip (None:
    not measured)."""

    slim: tuple[int, int] = (0, 0)
    strip: int | None = None
    runtime: tuple[int, int] = (0, 0)


def estimate(members: Sequence[Member], owner: Callable[[str], str], rules: Slimming,
             debug: Mapping[str, int] | None) -> dict[str, Saving]:
    """unit -> its estimates, for one artifact's ``members`` (``debug``: path -> debug bytes, None: not read)."""
    other = other_abi_files((m.path for m in members), rules.target)
    slim: dict[str, list[int]] = {}
    runtime: dict[str, list[int]] = {}
    strip: dict[str, int] = {}
    for member in members:
        unit = owner(member.path)
        if unit == "app":
            continue
        if member.path in other or rules.drops(unit, member.path):
            _add(slim, unit, member)
        if unit in RUNTIME_PROVIDED:
            _add(runtime, unit, member)
        if debug is not None:
            strip[unit] = strip.get(unit, 0) + debug.get(member.path, 0)
    units = {owner(m.path) for m in members} - {"app"}
    return {unit: Saving(_pair(slim, unit), strip.get(unit, 0) if debug is not None else None, _pair(runtime, unit))
            for unit in units}


def _add(into: dict[str, list[int]], unit: str, member: Member) -> None:
    sums = into.setdefault(unit, [0, 0])
    sums[0] += member.zipped
    sums[1] += member.unzipped


def _pair(sums: Mapping[str, list[int]], unit: str) -> tuple[int, int]:
    zipped, unzipped = sums.get(unit, [0, 0])
    return zipped, unzipped


def is_shared_object(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(".so") or ".so." in name


def debug_bytes(zip_path: Path, prefix: str, paths: Iterable[str]) -> dict[str, int]:
    """path -> bytes of ``.debug*``/``.zdebug*`` sections, for the ELF files among ``paths`` in the zip (each
    inflated once, spooled to disk past 64 MiB; a file pyelftools cannot read counts 0)."""
    # lazy: elftools (~155 ms) loads only when an ELF file is read
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    wanted = [path for path in paths if is_shared_object(path)]
    found: dict[str, int] = {}
    if not wanted:
        return found
    with zipfile.ZipFile(zip_path) as archive:
        for path in wanted:
            with archive.open(prefix + path) as member, tempfile.SpooledTemporaryFile(_SPOOL) as copy:
                if member.read(4) != _ELF:
                    continue
                copy.write(_ELF)
                shutil.copyfileobj(member, copy, 1 << 20)
                copy.seek(0)
                try:
                    found[path] = sum(section["sh_size"] for section in ELFFile(copy).iter_sections()
                                      if section.name.startswith((".debug", ".zdebug"))
                                      and section["sh_type"] != "SHT_NOBITS")
                except (ELFError, ValueError, KeyError, OSError):
                    found[path] = 0
    return found
