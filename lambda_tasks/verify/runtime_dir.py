"""verify's /var/runtime: the bootstrap, AWS's runtime interface client (``awslambdaric``) for the interpreter that
runs the handler, and stand-ins for the runtime's own boto3 & co.

``awslambdaric`` is a dependency of lambda-tasks: for an interpreter of this Python version and CPU the
installed copy is used; for another version (or CPU) its wheels of the same version are fetched once with pip
(``--only-binary=:all:``, every supported Python has manylinux2014 wheels for x86_64 and aarch64) into the
cache. When that fails (offline, no wheel), verify's bootstrap speaks the Runtime API itself, said in one line.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path

from ..deadlines import capture
from ..errors import DeadlineError
from ..files import cache_dir
from ..host import machine as host_machine
from ..targets import RUNTIME_MODULES

_BOOTSTRAP = Path(__file__).with_name("_child.py")
#: The runtime client and what it imports (awslambdaric's own requirements).
CLIENT_MODULES = ("awslambdaric", "runtime_client", "simplejson", "snapshot_restore_py")
CLIENT_DISTRIBUTIONS = ("simplejson", "snapshot-restore-py")


def client_version() -> str | None:
    try:
        return metadata.version("awslambdaric")
    except metadata.PackageNotFoundError:
        return None


def _installed(names: Sequence[str]) -> list[Path]:
    found = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.origin:
            continue
        if spec.submodule_search_locations:
            found.append(Path(next(iter(spec.submodule_search_locations))))
        elif spec.origin not in ("built-in", "frozen"):
            found.append(Path(spec.origin))
    return found


def client_files(version: tuple[int, int], machine: str) -> tuple[list[Path], str]:
    """The files and packages of awslambdaric for Python ``version`` on ``machine``, or ([], why not)."""
    wanted = client_version()
    if wanted is None:
        return [], "awslambdaric is not installed beside lambda-tasks"
    if version == sys.version_info[:2] and machine == host_machine():
        found = _installed(CLIENT_MODULES)
        if len(found) == len(CLIENT_MODULES):
            return found, ""
    directory = cache_dir() / "runtime-client" / f"awslambdaric-{wanted}-cp{version[0]}{version[1]}-{machine}"
    if not directory.is_dir():
        why = _fetch(wanted, version, machine, directory)
        if why:
            return [], why
    return sorted(p for p in directory.iterdir() if not p.name.endswith((".dist-info", ".data"))), ""


def _fetch(wanted: str, version: tuple[int, int], machine: str, directory: Path) -> str:
    """pip-download awslambdaric's wheels for another interpreter and unpack them into ``directory``."""
    abi = f"cp{version[0]}{version[1]}"
    directory.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory.parent) as scratch:
        wheels, unpacked = Path(scratch) / "wheels", Path(scratch) / "unpacked"
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                   "--only-binary=:all:", "--implementation", "cp", "--python-version", f"{version[0]}.{version[1]}",
                   "--abi", abi, "--abi", "abi3", "--abi", "none", "--platform", f"manylinux2014_{machine}",
                   "--platform", f"manylinux_2_17_{machine}", "--platform", "any", "--dest", str(wheels),
                   f"awslambdaric=={wanted}", *CLIENT_DISTRIBUTIONS]
        try:
            done = capture(command, "verify: fetching awslambdaric", deadline=300)
        except (OSError, DeadlineError) as exc:
            return f"fetching awslambdaric {wanted} for {abi} {machine} failed: {exc}"
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return f"fetching awslambdaric {wanted} for {abi} {machine} failed: {last}"
        for wheel in sorted(wheels.glob("*.whl")):
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(unpacked)  # wheels from the index, checked by pip's hashes of the download
        try:
            os.rename(unpacked, directory)
        except OSError:
            if not directory.is_dir():
                raise
    return ""


def prepare(directory: Path, client: Sequence[Path]) -> None:
    """Fill ``directory`` (verify's /var/runtime): bootstrap.py, links to the runtime client and to this host's
    boto3 & co (stand-ins for the runtime's own)."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_BOOTSTRAP, directory / "bootstrap.py")
    for path in [*client, *_installed(RUNTIME_MODULES)]:
        link = directory / path.name
        if not link.exists() and not link.is_symlink():
            link.symlink_to(path, target_is_directory=path.is_dir())


def configure(directory: Path, config: Mapping[str, object]) -> None:
    """The bootstrap's settings for one run (where the artifacts are, which compiled modules to refuse)."""
    (directory / "lambda-tasks-verify.json").write_text(json.dumps(config), encoding="utf-8")


def link_targets(directory: Path) -> list[Path]:
    """Where the runtime directory's links point (the namespace keeps those paths visible)."""
    return [Path(os.path.realpath(p)) for p in directory.iterdir() if p.is_symlink()]
