"""Which installer resolves: ``installer = "auto"`` (the default), ``"pip"`` or ``"uv"``.

``auto`` takes uv when it is installed and pip's configuration and ``pip_args`` hold nothing uv cannot take as
pip means it: uv then stands in for pip (pip's indexes and options, uv's own configuration ignored) and is
several times faster on a cold build. Otherwise pip, and the build says why. Whichever resolves, the result
goes through the same checks (tags, the dependency-closure check, hashes), and uv hands over to pip where it
cannot do what pip would (``uv.Defer``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..config import Settings
from ..host import uv_path
from .pip_config import NO_EFFECT, PipConfigError, pip_settings


@dataclass(frozen=True)
class Installer:
    """The installer chosen for a build."""

    name: str  # "pip" or "uv"
    isolated: bool = False  # uv standing in for pip: its own configuration ignored
    why: str = ""  # why auto took pip, for the build's output


def choose(settings: Settings) -> Installer:
    """The installer ``settings.installer`` means on this machine."""
    if settings.installer in ("pip", "uv"):
        return Installer(settings.installer)
    if uv_path() is None:
        return Installer("pip", why="uv is not installed")
    from .uv import pip_only

    untaken = pip_only(settings.pip_args)
    if untaken:
        return Installer("pip", why=f"pip option(s) {', '.join(untaken)} with no uv equivalent")
    return Installer("uv", isolated=True)


def configuration_key(settings: Settings) -> str:
    """pip's configuration that changes what is resolved, with ``pip_args``: part of a resolution's key."""
    try:
        effective = {name: value for name, value in pip_settings().items() if name not in NO_EFFECT}
    except PipConfigError as error:
        effective = {"unreadable": str(error)}
    return json.dumps([sorted(effective.items()), list(settings.pip_args)])
