"""Fetching a locked package known only by name, version and the sha256 of its files (Pipfile.lock).

A wheel already in the wheelhouse under one of the locked hashes is used without pip (the best one for the
target). Otherwise ``pip download`` of ``name==version`` with every locked hash as ``--hash`` fetches the
target's wheel and checks it; the file it fetched is checked again here. A package none of whose locked wheels
fits the target is handed back, to be built from its locked sdist (with the same hashes).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from ..errors import ResolveError
from ..files import file_sha256
from ..report import Reporter
from ..sections import ResolveSettings
from ..sources.locks import LockedPackage
from ..target_lock import WheelOrigin
from .picks import best_wheel
from .pip import pip_env
from .process import pip_command, redact, run
from .wheelhouse import lookup

_NO_DISTRIBUTION = ("No matching distribution found", "Could not find a version that satisfies")


def hash_pin(package: LockedPackage) -> str:
    """``name==version --hash=sha256:...`` with every locked hash (pip then takes only those files)."""
    return " ".join([f"{package.name}=={package.version}", *(f"--hash=sha256:{h}" for h in package.hashes)])


def index_lines(index: str | None) -> list[str]:
    return [f"--index-url {index}"] if index else []


def _cached(package: LockedPackage, wheelhouse: Path, settings: ResolveSettings, reporter: Reporter) -> Path | None:
    candidates = []
    for digest in package.hashes:
        folder = wheelhouse / "sha256" / digest
        for path in sorted(folder.glob("*.whl")) if folder.is_dir() else []:
            found = lookup(wheelhouse, digest, path.name, reporter)
            if found is not None:
                candidates.append((path.name, found))
    chosen = best_wheel(candidates, settings.target)
    return chosen[1] if chosen else None


def fetch_by_hashes(settings: ResolveSettings, packages: Sequence[LockedPackage], download_dir: Path, wheelhouse: Path,
                    reporter: Reporter, lock: str, origins: dict[str, WheelOrigin]) -> list[LockedPackage]:
    """Put each package's wheel for the target in ``download_dir``; the packages that have none (to build)."""
    missing: dict[str | None, list[LockedPackage]] = {}
    for package in packages:
        cached = _cached(package, wheelhouse, settings, reporter)
        if cached is not None:
            os.link(cached, download_dir / cached.name)
            origins[cached.name] = WheelOrigin(package.index or "", "index")
            continue
        missing.setdefault(package.index, []).append(package)
    unbuilt: list[LockedPackage] = []
    for index, group in sorted(missing.items(), key=lambda item: item[0] or ""):
        if _download(settings, index, group, download_dir, reporter, lock, origins):
            continue
        for package in group:  # one of them has no wheel for the target: find which
            if not _download(settings, index, [package], download_dir, reporter, lock, origins):
                unbuilt.append(package)
    return unbuilt


def _download(settings: ResolveSettings, index: str | None, packages: Sequence[LockedPackage], download_dir: Path,
              reporter: Reporter, lock: str, origins: dict[str, WheelOrigin]) -> bool:
    """pip download of these pins; False when pip finds no wheel for the target among the locked files."""
    by_name = {canonicalize_name(p.name): p for p in packages}
    with tempfile.TemporaryDirectory(prefix="pins-", dir=download_dir.parent) as tmp:
        spec, out = Path(tmp, "requirements.txt"), Path(tmp, "out")
        spec.write_text("".join(f"{line}\n" for line in [*index_lines(index), *map(hash_pin, packages)]),
                        encoding="utf-8")
        command = pip_command("download", "--no-deps", "-d", str(out), "--progress-bar", "off", "-r", str(spec),
                              *settings.target.pip_target_args(), *settings.pip_args)
        returncode, output = run(command, settings.project_dir, reporter, "resolve", pip_env(settings, tags=False))
        if returncode != 0 and any(text in output for text in _NO_DISTRIBUTION) and "HASHES" not in output:
            return False
        if returncode != 0:
            detail = "\n".join(f"    {line}" for line in output.strip().splitlines()[-6:])
            first = ("a file does not match the hashes in " + lock) if "HASHES" in output else \
                f"cannot fetch the packages {lock} locks from {index or 'the package index'}"
            raise ResolveError(redact(f"{first}\n{detail}\n    check the index options (pip_args, pip's "
                                      "configuration) or lock again"))
        for path in sorted(out.iterdir()):
            package = by_name.get(canonicalize_name(str(parse_wheel_filename(path.name)[0])))
            if package is None or file_sha256(path) not in package.hashes:
                raise ResolveError(f"pip fetched {path.name}, whose sha256 {lock} does not lock; lock again")
            os.replace(path, download_dir / path.name)
            origins[path.name] = WheelOrigin(index or "", "index")
    return True
