"""The target lock of a build: made from the wheels a lock or a resolution gave, checked, written as the BOM.

Whatever made the wheels (a lock file read as locked, pip or uv resolving a declaration), the same checks run
on the result before anything is collected:

* closure: the distributions are exactly what the declared requirements need on the target (markers for
  the target's full version, extras followed; ``checks/closure.py``). Missing or conflicting distributions
  stop the build, naming who needs them. A lock made elsewhere (``pip lock`` on a 3.11 host for python3.10)
  that lacks what the target's markers need is refused, not completed: a lock promises exact versions, and
  completing it would ship versions nobody locked. A pylock.toml without group markers (``uv export``) may
  hold what the declaration does not ask for (a dev group): that is left out, and said.
* Requires-Python, both bounds, of every distribution against the target's full version;
* every file's sha256 (the wheelhouse names each wheel by the hash of its bytes).

The BOM, ``layers/pylock.toml``, names exactly the distributions the layers hold (after exclusions; never
vendor/, which is the project's own files), written atomically before the manifest.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ResolveError
from ..files import file_sha256, write_atomic
from ..manifest import BillOfMaterials
from ..report import Reporter, counted
from ..sources.roots import Roots
from ..target_lock import (
    LockedDistribution,
    Reason,
    TargetLock,
    WheelOrigin,
    environment_marker,
    requires_python_problems,
    to_pylock,
)
from ..targets import Target

if TYPE_CHECKING:  # checks.closure is loaded only when a lock is made (it reads wheels' metadata)
    from ..checks.closure import DistMetadata as Metadata
    from ..checks.closure import Need

    Needed = Mapping[str, Sequence[Need]]

BOM_NAME = "pylock.toml"
_HEX = re.compile(r"^[0-9a-f]{64}$")


def target_lock(wheels: Sequence[Path], origins: Mapping[str, WheelOrigin], roots: Roots | None, target: Target,
                source: str, reporter: Reporter, *, leave_out_unneeded: bool = False) -> tuple[list[Path], TargetLock]:
    """The checked target lock of ``wheels``, and the wheels that ship (without what was left out)."""
    # lazy: the closure check (and packaging), only when a lock is made (an app-only build keeps the last one)
    from ..checks import closure

    metadata = {wheel: closure.read_metadata(wheel) for wheel in wheels}
    kept, needed = _closure(wheels, metadata, roots, target, source, reporter, leave_out_unneeded)
    distributions = [_locked(wheel, metadata[wheel], origins, needed, source) for wheel in kept]
    full = target.marker_environment()["python_full_version"]
    lock = TargetLock(str(target), full, environment_marker(target), source, tuple(distributions))
    problems = requires_python_problems(lock)
    if problems:
        names = ", ".join(sorted({line.split(" ", 1)[0] for line in problems}))
        raise ResolveError(f"Requires-Python excludes {target} (Python {full}) for {names}\n"
                           + "\n".join(f"    {line}" for line in problems)
                           + "\n    pin versions that support the target's Python, or lock for it again")
    return kept, lock


def _closure(wheels: Sequence[Path], metadata: Mapping[Path, Metadata], roots: Roots | None, target: Target,
             source: str, reporter: Reporter, leave_out_unneeded: bool) -> tuple[list[Path], Needed]:
    """Check that the wheels are the closure of the roots on the target; the wheels kept (a pylock.toml's
    unneeded groups left out) and who needs each distribution."""
    # lazy: the closure check (and packaging), only when a lock is made
    from ..checks import closure

    if roots is None:  # a pylock.toml alone: every locked distribution is a root; only what is missing is told
        lines: Sequence[str] = [meta.name for meta in metadata.values()]
        shown, allow_extra = source, True
    else:
        lines, shown, allow_extra = roots.lines, roots.shown, roots.unnamed > 0
    if not wheels and not lines:  # nothing asked, nothing given (a lock that gives nothing is still checked)
        return list(wheels), {}
    result = closure.check_closure(lines, target.marker_environment(), metadata.values(), source=shown)
    kept = list(wheels)
    if result.extra and leave_out_unneeded and roots is not None:
        unneeded = {item.name for item in result.extra}
        kept = [wheel for wheel in wheels if metadata[wheel].key not in unneeded]
        reporter.info(f"dependencies: left out {', '.join(sorted(unneeded))}: in {source}, but not needed by "
                      f"{roots.shown} for {target} (a dependency group or extra not chosen)")
        result = closure.ClosureResult(result.needed, result.missing, result.conflicting, (), result.ignored)
    closure.raise_for_closure(result, str(target), allow_extra=allow_extra)
    if roots is None:
        reporter.info(f"dependencies: {source} records no project requirements; checked that every locked "
                      f"distribution's needs on {target} are locked (not that each is needed)")
    else:
        reporter.info(f"dependencies: the {counted(len(kept), 'resolved distribution')} "
                      f"{'is' if len(kept) == 1 else 'are'} the closure of {shown} for {target}")
    return kept, result.needed


def _locked(wheel: Path, meta: Metadata, origins: Mapping[str, WheelOrigin], needed: Needed,
            source: str) -> LockedDistribution:
    """One distribution of the lock: where its wheel came from, its sha256 and who needs it."""
    origin = origins.get(wheel.name, WheelOrigin("", "installer"))
    digest = wheel.parent.name if _HEX.match(wheel.parent.name) else file_sha256(wheel)
    reasons = tuple(Reason(need.needed_by, need.requirement) for need in needed.get(meta.key, ()))
    return LockedDistribution(meta.key, meta.version, wheel.name, origin.location, digest, wheel.stat().st_size,
                              origin.origin, reasons or (Reason(source, "locked"),), meta.requires_python)


def find_links_origins(wheels: Sequence[Path], locations: Sequence[Path], project_dir: Path,
                       installer: str) -> dict[str, WheelOrigin]:
    """A resolution's wheels: from a local --find-links directory (named relative to the project when inside
    it, else as its absolute path) when one holds that file, else from the index the installer used (whose URL
    for the file it does not report)."""
    origins: dict[str, WheelOrigin] = {}
    project = project_dir.resolve()
    for wheel in wheels:
        for directory in locations:
            candidate = directory / wheel.name
            if candidate.is_file() and candidate.stat().st_size == wheel.stat().st_size:
                shown = candidate.relative_to(project).as_posix() if candidate.is_relative_to(project) \
                    else candidate.as_posix()
                origins[wheel.name] = WheelOrigin(shown, "find-links")
                break
        else:
            origins[wheel.name] = WheelOrigin("", installer)
    return origins


def write_bom(lock: TargetLock, units: Collection[str], layers_path: Path, output_dir: Path) -> BillOfMaterials:
    """Write ``layers/pylock.toml`` for the distributions among ``units`` (the layers' contents)."""
    shipped = lock.only(set(units))
    vendor = sorted(unit for unit in units if unit.startswith("vendor/"))
    header = [f"The distributions in these layers for {lock.target}, written by lambda-tasks (PEP 751).",
              f"Made from {lock.source}; files as fetched (sha256 of the wheel each was installed from)."]
    if vendor:
        header.append(f"Not listed: the project's vendor/ entries ({', '.join(vendor)}), copied as they are.")
    text = to_pylock(shipped, header).encode("utf-8")
    path = layers_path / BOM_NAME
    write_atomic(path, text)
    return BillOfMaterials(path.relative_to(output_dir).as_posix(), hashlib.sha256(text).hexdigest(),
                           len(shipped.distributions))
