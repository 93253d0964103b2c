"""Which installer resolves: ``installer = "auto"`` (the default), ``"pip"`` or ``"uv"``.

``auto`` takes uv when it is installed and pip's configuration and ``pip_args`` hold nothing uv cannot take as
pip means it: uv then stands in for pip (pip's indexes and options, uv's own configuration ignored) and is
several times faster on a cold build. Otherwise pip, and the build says why. Whichever resolves, the result
goes through the same checks (tags, the dependency-closure check, hashes), and uv hands over to pip where it
cannot do what pip would (``uv.Defer``).
"""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from ..deadlines import capture
from ..errors import DeadlineError
from ..host import uv_path
from ..sections import ResolveSettings
from .pip_config import NO_EFFECT, PipConfigError, pip_settings
from .uv import pip_only


@dataclass(frozen=True)
class Installer:
    """The installer chosen for a build."""

    name: str  # "pip" or "uv"
    isolated: bool = False  # uv standing in for pip: its own configuration ignored
    why: str = ""  # why auto took pip, for the build's output


def choose(settings: ResolveSettings) -> Installer:
    """The installer ``settings.installer`` means on this machine."""
    if settings.installer in ("pip", "uv"):
        return Installer(settings.installer)
    if uv_path() is None:
        return Installer("pip", why="uv is not installed")

    untaken = pip_only(settings.pip_args)
    if untaken:
        return Installer("pip", why=f"pip option(s) {', '.join(untaken)} with no uv equivalent")
    return Installer("uv", isolated=True)


def configuration_key(settings: ResolveSettings) -> str:
    """pip's configuration that changes what is resolved, with ``pip_args``: part of a resolution's key."""
    try:
        effective = {name: value for name, value in pip_settings().items() if name not in NO_EFFECT}
    except PipConfigError as error:
        effective = {"unreadable": str(error)}
    return json.dumps([sorted(effective.items()), list(settings.pip_args)])


def installer_version(installer: Installer) -> str:
    """The installer's version (part of a resolution's key): pip's from its .dist-info, uv's by asking it;
    with pip also, since uv hands requirements over to it."""
    pip = _pip_version()
    if installer.name != "uv":
        return f"pip {pip}"
    found = uv_path()
    return f"uv {_uv_version(found) if found else 'none'}; pip {pip}"


def _dist_version(name: str) -> str | None:
    """The version of ``name`` installed in this environment, from its .dist-info directory's name (cheap)."""
    for entry in sys.path:
        found = sorted(Path(entry or ".").glob(f"{name}-*.dist-info"))
        if found:
            return found[-1].name[len(name) + 1:-len(".dist-info")]
    return None


def _pip_version() -> str:
    return _dist_version("pip") or "none"


@functools.cache
def _uv_version(uv: str) -> str:
    """uv's version: its package's when it is this environment's uv (no process), else what it says."""
    if Path(uv).resolve().is_relative_to(Path(sys.prefix).resolve()):
        packaged = _dist_version("uv")
        if packaged:
            return packaged
    try:
        done = capture([uv, "--version"], "resolve: uv --version", deadline=30)
    except (OSError, DeadlineError):
        return "unknown"
    return done.stdout.strip() or "unknown"
