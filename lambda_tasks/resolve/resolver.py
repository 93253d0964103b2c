"""Resolve the project's requirements into the target's wheels, in lambda-tasks' wheelhouse.

``resolve()`` picks the installer (``installer = "auto" | "pip" | "uv"``, see ``installer``), keeps the result
of a resolution by its inputs, and checks that every file is a wheel for the target. The installers never import
each other: when uv needs pip (a requirement with only an sdist, a release whose wheels the target cannot load,
a file uv could not fetch) it says so and this module asks pip.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import ResolveError
from ..files import cache_dir
from ..report import Reporter, counted
from ..sections import ResolveSettings
from ..sources.declaration import Declaration
from ..sources.local_inputs import find_links_locations, local_inputs
from ..sources.requirements import check_requirements
from . import pip, uv
from . import wheelhouse as wheelhouse_io
from .installer import Installer, choose, configuration_key, installer_version
from .local import installer_lines
from .pip_config import PipConfigError, pip_settings
from .sdists import built_from

#: Changes when what a resolution means changes (a check added, an installer's answer corrected): older
#: resolutions are then never reused.
RESOLUTION_FORMAT = 3


def resolution_key(settings: ResolveSettings, declaration: Declaration, installer: Installer) -> str:
    """Names a resolution by everything it depends on: the declaration (its content, with the files it includes),
    the bytes of every local input (find-links files, local requirements), the target, the installer and its
    version, and pip's configuration (its files and variables, and ``pip_args``). Find-links locations outside
    the project, and pip's configured ones, count by name, size, mtime and inode (this machine's key only)."""
    machine = local_inputs([*declaration.find_links, *_configured_locations(settings, declaration)],
                           (), settings.project_dir, stat_times=True)
    data = json.dumps([
        RESOLUTION_FORMAT, declaration.digest, str(settings.target), installer.name, installer.isolated,
        installer_version(installer), configuration_key(settings), declaration.local_inputs, machine,
    ])
    return hashlib.sha256(data.encode()).hexdigest()[:32]


def resolve(settings: ResolveSettings, declaration: Declaration, reporter: Reporter, refresh: bool = False,
            on_wheel: Callable[[Path], None] | None = None, own: set[str] | None = None) -> list[Path]:
    """The wheels (one per distribution) that the declaration needs on the target, downloaded. ``on_wheel``
    is given each wheel pip fetches as soon as pip has it (for checks that can start before pip is done);
    ``own`` receives the names of those built from the project's own sources (``./libs/mylib``, VCS), whose
    files the secret scan reads as the user's."""
    own = own if own is not None else set()
    if not declaration.has_requirements:
        return []
    check_requirements(declaration.lines)  # before pip, whose parser takes some lines the dependency check cannot
    # VCS and remote URLs: what they hold is not known before fetching, so it is not in the key
    by_location = any(not reference.is_local for reference in declaration.references)
    cache = cache_dir()
    wheelhouse = cache / "wheels"
    installer = choose(settings)
    key_file = cache / "resolutions" / f"{resolution_key(settings, declaration, installer)}.json"
    if not refresh and not by_location:
        known = wheelhouse_io.cached_resolution(key_file, wheelhouse, reporter)
        if known is not None:  # bytes that contradict a pin: an error, never shipped
            wheelhouse_io.check_pins(known, declaration.pins, declaration.shown)
        if known is not None and wheelhouse_io.local_copies_match(known, _find_links(settings, declaration)):
            reporter.info(f"resolve: {counted(len(known), 'wheel')} for {settings.target} (cached resolution)")
            return [wheel.path for wheel in known]
    wheelhouse.mkdir(parents=True, exist_ok=True)
    # the pid in the name lets a later build remove what a killed one left (assemble/output_lock.py)
    with tempfile.TemporaryDirectory(prefix=f"resolve-{os.getpid()}-", dir=cache) as tmp:
        download_dir, built_dir = Path(tmp, "download"), Path(tmp, "built")
        download_dir.mkdir()
        built_dir.mkdir()
        if installer.name == "uv":
            own.update(_download_with_uv(settings, declaration, installer, download_dir, built_dir, reporter,
                                         on_wheel))
        else:
            if installer.why:
                reporter.info(f"resolve: with pip ({installer.why})")
            own.update(pip.download(settings, declaration, download_dir, built_dir, reporter, on_wheel))
        wheels = []
        for path in sorted(download_dir.iterdir()):
            if not path.name.endswith(".whl"):
                raise ResolveError(f"pip fetched {path.name}, which is not a wheel; report this as a bug")
            if not settings.target.accepts_wheel(path.name):
                raise ResolveError(f"{path.name} does not fit {settings.target}; report this as a bug")
            wheels.append(wheelhouse_io.store(wheelhouse, path, reporter, built_from(built_dir / path.name)))
    wheelhouse_io.check_pins(wheels, declaration.pins, declaration.shown)
    wheelhouse_io.save_resolution(key_file, wheels)
    reporter.info(f"resolve: {counted(len(wheels), 'wheel')} for {settings.target}")
    return [wheel.path for wheel in wheels]


def _download_with_uv(settings: ResolveSettings, declaration: Declaration, installer: Installer, download_dir: Path,
                      built_dir: Path, reporter: Reporter, on_wheel: Callable[[Path], None] | None) -> frozenset[str]:
    """The names built from the project's own sources, as :func:`pip.download` returns them."""
    if declaration.references:
        reporter.info("resolve: the requirements name packages by path or URL; resolving with pip, which builds them")
        return pip.download(settings, declaration, download_dir, built_dir, reporter, on_wheel)
    if not installer.isolated and (untaken := uv.pip_only(settings.pip_args)):
        reporter.warn(f"resolve: uv is not given pip's options {', '.join(untaken)} (no uv equivalent); "
                      'installer = "auto" or "pip" would resolve with pip')
    try:
        lines = [line.text for line in installer_lines(declaration, built_dir.parent)]
        unfetched = uv.download(settings, lines, declaration.shown, download_dir, cache_dir() / "wheels",
                                reporter, installer.isolated, on_wheel)
    except uv.Defer as defer:
        _hand_over(defer, download_dir, reporter)
        return pip.download(settings, declaration, download_dir, built_dir, reporter, on_wheel)
    if unfetched:
        pip.download_pins(settings, declaration, [f"{pick.name}=={pick.version}" for pick in unfetched], download_dir,
                          reporter)
    return frozenset()


def _configured_find_links() -> list[str]:
    """pip's configuration's find-links (an unreadable configuration makes ``choose`` take pip, which says so)."""
    try:
        return [pip_settings().get("find-links", "")]
    except PipConfigError:
        return []


def _configured_locations(settings: ResolveSettings, declaration: Declaration) -> list[Path]:
    """pip's configured find-links locations the declaration's do not already name."""
    found = find_links_locations((), (), settings.project_dir, _configured_find_links())
    return [path for path in found if path not in declaration.find_links]


def _find_links(settings: ResolveSettings, declaration: Declaration) -> list[Path]:
    return [*declaration.find_links, *_configured_locations(settings, declaration)]


def download_pins(settings: ResolveSettings, declaration: Declaration, pins: list[str], download_dir: Path,
                  reporter: Reporter) -> None:
    """The wheels of ``pins`` alone (no dependencies) in ``download_dir``, by the installer :func:`choose` picks,
    with pip where uv hands over; the declaration's index options apply."""
    installer = choose(settings)
    if installer.name == "uv":
        try:
            uv.download_pins(settings, declaration, pins, download_dir, cache_dir() / "wheels", reporter,
                             installer.isolated)
            return
        except uv.Defer as defer:
            _hand_over(defer, download_dir, reporter)
    pip.download_pins(settings, declaration, pins, download_dir, reporter)


def _hand_over(defer: Exception, download_dir: Path, reporter: Reporter) -> None:
    """uv handed over to pip: say why, and leave pip an empty directory."""
    reporter.info(f"resolve: {defer}")
    for leftover in download_dir.iterdir():
        leftover.unlink()
