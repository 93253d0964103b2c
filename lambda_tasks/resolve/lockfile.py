"""Install a lock file exactly (``pylock.toml``, ``uv.lock``, ``poetry.lock``, ``Pipfile.lock``): the locked
versions ship, nothing is re-resolved.

Per locked package that applies to the target (markers evaluated for it, see ``sources/locks.py``): the wheel
whose tag the target ranks best, fetched with its size and sha256 checked (or linked from the wheelhouse);
with no usable wheel, its locked sdist is fetched (hash checked) and built with the compiler off, and the
wheel built must carry the locked version; a path dependency is built like a local requirement, a VCS
checkout or archive URL like one in a requirements file (the locked commit; the version must match). A
package with none of these is an error naming it, its locked version and the tags its wheels have.

poetry.lock names files without a location: the chosen file is fetched by ``pip download`` of the exact pin
with the lock's sha256 (``--hash``), from the package's source in the lock or the project's index options
(``pip_args``, pip's configuration and variables), so pip can download only that file. Pipfile.lock names
no files at all, only their hashes: ``pip download`` of the exact pin with every locked hash allowed picks the
target's wheel among them (a wheel already in the wheelhouse under one of those hashes is used without pip).

Every file is hash-checked: a file the lock locates by URL without a sha256 is refused; one at a local path
without a hash is read as it is (its bytes are an input of the build's fingerprint).
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import ResolveError
from ..files import cache_dir
from ..report import Reporter
from ..sections import ResolveSettings
from ..sources.declaration import Declaration
from ..sources.locks import LockedFile, LockedPackage
from ..target_lock import WheelOrigin
from . import wheelhouse as wheelhouse_io
from .failures import Failure, failures_error
from .picks import Pick, best_wheel, fetch, from_cache
from .process import pip_command, redact, run


def _uri(location: str) -> str:
    return location if "://" in location or not location else Path(location).as_uri()


def _pick(package: LockedPackage, file: LockedFile) -> Pick:
    return Pick(package.name, package.version, file.filename, _uri(file.location), file.sha256, file.size)


def _pin(pick: Pick, lock: str) -> str:
    if not pick.sha256:
        raise ResolveError(f"{lock} records no sha256 for {pick.filename}, so it cannot be checked; "
                           "lock it again (`poetry lock`)")
    return f"{pick.name}=={pick.version} --hash=sha256:{pick.sha256}"


def _index_lines(index: str | None) -> list[str]:
    return [f"--index-url {index}"] if index else []


def _fetch_by_name(settings: ResolveSettings, index: str | None, picks: list[Pick], download_dir: Path,
                   wheelhouse: Path, reporter: Reporter, lock: str) -> None:
    """Files the lock names without a location: from the cache, or ``pip download`` of each exact pin with
    only the locked file's sha256 allowed, so pip fetches that file and checks it."""
    from .pip import pip_env

    missing = [pick for pick in picks if not from_cache(pick, download_dir, wheelhouse, reporter)]
    if not missing:
        return
    with tempfile.TemporaryDirectory(prefix="pins-", dir=download_dir.parent) as tmp:
        spec, out = Path(tmp, "requirements.txt"), Path(tmp, "out")
        spec.write_text("".join(f"{line}\n" for line in [*_index_lines(index), *(_pin(p, lock) for p in missing)]),
                        encoding="utf-8")
        command = pip_command("download", "--no-deps", "-d", str(out), "--progress-bar", "off", "-r", str(spec),
                              *settings.target.pip_target_args(), *settings.pip_args)
        returncode, output = run(command, settings.project_dir, reporter, "resolve", pip_env(settings, tags=False))
        mismatch = "DO NOT MATCH THE HASHES" in output
        wrong = [p.filename for p in missing if mismatch and f"{p.name}=={p.version} " in output]
        if returncode != 0 and wrong:
            raise ResolveError(redact(f"{wrong[0]} does not match the sha256 in {lock}"
                                      f"\n    from {index or 'the package index'}; the file or the lock changed"))
        if returncode != 0:
            detail = "\n".join(f"    {line}" for line in output.strip().splitlines()[-6:])
            raise ResolveError(redact(f"cannot fetch the files {lock} names from {index or 'the package index'}"
                                      f"\n{detail}\n    check the index options (pip_args, pip's configuration)"))
        for pick in missing:
            if not (out / pick.filename).is_file():
                got = ", ".join(sorted(f.name for f in out.iterdir())) if out.is_dir() else "nothing"
                raise ResolveError(f"pip did not fetch {pick.filename}, which {lock} names (it fetched {got})")
            os.replace(out / pick.filename, download_dir / pick.filename)


def resolve_lock(settings: ResolveSettings, declaration: Declaration, reporter: Reporter,
                 own: set[str] | None = None) -> tuple[list[Path], dict[str, WheelOrigin]]:
    """The wheels (one per package) the lock names for the target (``declaration.locked``, read by ``sources``),
    in lambda-tasks' wheelhouse, and where each came from (by the wheel's file name). ``own`` receives the names
    of the packages built from the project's own sources (a directory, a VCS checkout)."""
    from packaging.utils import canonicalize_name, parse_wheel_filename

    assert declaration.source is not None and declaration.is_lock
    target, path = settings.target, declaration.source.path
    packages = declaration.locked
    if own is not None:
        own.update(str(canonicalize_name(package.name)) for package in packages
                   if package.directory is not None or package.requirement is not None)
    picks: list[Pick] = []
    by_name: dict[str | None, list[Pick]] = {}  # poetry.lock: files named only, per index
    by_hash: list[LockedPackage] = []  # Pipfile.lock: files known by their hashes only
    builds: list[LockedPackage] = []
    failures: list[Failure] = []
    origins: dict[str, WheelOrigin] = {}
    full = target.marker_environment()["python_full_version"]
    for package in packages:
        if package.requires_python and not _allows(package.requires_python, full):
            failures.append(Failure(f"{package.name}=={package.version}", f"it requires Python "
                                    f"{package.requires_python}; the target has {full}",
                                    (f"{path.name} was locked for another Python; lock it for {target}",)))
            continue
        chosen = best_wheel([(file.filename, file) for file in package.wheels], target)
        if package.requirement is not None or (package.directory is not None and not package.wheels):
            builds.append(package)
        elif package.hashes:
            by_hash.append(package)
        elif chosen is not None and not chosen[1].location:
            by_name.setdefault(package.index, []).append(_pick(package, chosen[1]))
        elif chosen is not None:
            if not chosen[1].sha256 and "://" in chosen[1].location:
                failures.append(Failure(f"{package.name}=={package.version}", "the lock records no sha256 for "
                                        f"{chosen[1].filename}", ("a file fetched by URL must be hash-checked; "
                                                                  "lock it again with its hashes",)))
                continue
            picks.append(_pick(package, chosen[1]))
        elif package.sdist is not None:
            builds.append(package)
        else:
            tags = sorted({str(tag) for file in package.wheels for tag in _tags(file.filename)})
            failures.append(Failure(f"{package.name}=={package.version}", "no wheel in the lock fits", (
                f"its locked wheels are for: {', '.join(tags) or 'none (no wheels, no sdist)'}",
                f"{target} takes cp{target.version_nodot}/abi3/py3 wheels for manylinux {target.machine}",
                "lock a version that has one (or its sdist), or put a wheel for the target in vendor/")))
    if failures:
        raise failures_error(failures, target)
    for pick in picks:
        origins[pick.filename] = WheelOrigin(_shown_location(pick.url, settings.project_dir),
                                             "lock entry" if "://" in pick.url and not pick.url.startswith("file:")
                                             else "path")
    for index, named in by_name.items():
        for pick in named:
            origins[pick.filename] = WheelOrigin(index or "", "index")
    cache = cache_dir()
    wheelhouse = cache / "wheels"
    wheelhouse.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"resolve-{os.getpid()}-", dir=cache) as tmp:
        download_dir, built_dir, sdist_dir = Path(tmp, "download"), Path(tmp, "built"), Path(tmp, "sdists")
        for directory in (download_dir, built_dir, sdist_dir):
            directory.mkdir()
        reporter.status(f"resolve: fetching {len(picks)} locked wheels")
        with ThreadPoolExecutor(max_workers=min(8, max(1, len(picks)))) as pool:
            for future in [pool.submit(fetch, pick, download_dir, wheelhouse, reporter) for pick in picks]:
                try:
                    future.result()
                except OSError as error:
                    raise ResolveError(f"cannot fetch a wheel named in {path.name}: {error}") from None
        reporter.status_done()
        for index, named in sorted(by_name.items(), key=lambda item: item[0] or ""):
            _fetch_by_name(settings, index, named, download_dir, wheelhouse, reporter, path.name)
        if by_hash:
            from .lock_hashes import fetch_by_hashes

            unfetched = fetch_by_hashes(settings, by_hash, download_dir, wheelhouse, reporter, path.name, origins)
            builds += unfetched
        for package in builds:
            wheel = _build(package, settings, sdist_dir, built_dir, wheelhouse, reporter)
            if isinstance(wheel, Failure):
                failures.append(wheel)
                continue
            version = parse_wheel_filename(wheel.name)[1]
            if package.directory is None and str(version) != str(_version(package.version)):
                failures.append(Failure(f"{package.name}=={package.version}", f"its sdist builds version {version}",
                                        (f"{path.name} locks {package.version}; the lock and the sdist disagree",)))
                continue
            origins[wheel.name] = WheelOrigin(_built_from(package, settings.project_dir), "built from source")
            os.replace(wheel, download_dir / wheel.name)
        if failures:
            raise failures_error(failures, target)
        wheels = [wheelhouse_io.store(wheelhouse, file, reporter).path for file in sorted(download_dir.iterdir())]
    reporter.info(f"resolve: {len(wheels)} wheels for {target}, as locked in {path.name}")
    return wheels, origins


def _allows(specifier: str, version: str) -> bool:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(specifier).contains(version, prereleases=True)
    except InvalidSpecifier:
        return True  # as pip and uv do with a Requires-Python they cannot read


def _shown_location(location: str, project_dir: Path) -> str:
    """A URL as it is; a local file relative to the project when it is inside it (the same on every machine)."""
    if location.startswith("file:"):
        import urllib.parse
        import urllib.request

        location = urllib.request.url2pathname(urllib.parse.urlsplit(location).path)
    if "://" in location:
        return redact(location)
    try:
        return Path(location).resolve().relative_to(project_dir.resolve()).as_posix()
    except ValueError:
        return Path(location).as_posix()


def _built_from(package: LockedPackage, project_dir: Path) -> str:
    if package.directory is not None:
        return _shown_location(str(package.directory), project_dir)
    if package.requirement is not None:
        return redact(package.requirement)
    return _shown_location(package.sdist.location, project_dir) if package.sdist is not None else ""


def _build(package: LockedPackage, settings: ResolveSettings, sdist_dir: Path, built_dir: Path, wheelhouse: Path,
           reporter: Reporter) -> Path | Failure:
    from .sdists import build_wheel

    if package.directory is not None:
        reporter.info(f"resolve: building {package.name} from {package.directory} into a wheel (compiler disabled)")
        return build_wheel(str(package.directory), package.name, settings, [], built_dir, reporter)
    if package.requirement is not None:
        reporter.info(f"resolve: building {redact(package.requirement)} into a wheel (compiler disabled)")
        return build_wheel(package.requirement, redact(package.requirement), settings, [], built_dir, reporter,
                           remote=True)
    if package.hashes:  # Pipfile.lock: its locked sdist from the index, one of the locked hashes
        from .lock_hashes import hash_pin, index_lines

        reporter.info(f"resolve: no wheel of {package.name} {package.version} fits {settings.target}; building "
                      "its locked sdist (compiler disabled)")
        return build_wheel(hash_pin(package), f"{package.name}=={package.version}", settings,
                           index_lines(package.index), built_dir, reporter, no_binary=package.name)
    assert package.sdist is not None
    if not package.sdist.location:  # poetry.lock: the locked sdist from the index, its hash checked by pip
        pick = _pick(package, package.sdist)
        reporter.info(f"resolve: no wheel of {package.name} {package.version} in the lock fits {settings.target}; "
                      "building its locked sdist (compiler disabled)")
        return build_wheel(_pin(pick, "the lock"), f"{package.name}=={package.version}", settings,
                           _index_lines(package.index), built_dir, reporter, no_binary=package.name)
    fetch(_pick(package, package.sdist), sdist_dir, wheelhouse, reporter)
    reporter.info(f"resolve: no wheel of {package.name} {package.version} in the lock fits {settings.target}; "
                  "building its locked sdist (compiler disabled)")
    return build_wheel(str(sdist_dir / package.sdist.filename), f"{package.name}=={package.version}", settings, [],
                       built_dir, reporter)


def _tags(filename: str) -> list[object]:
    from packaging.utils import parse_wheel_filename

    try:
        return list(parse_wheel_filename(filename)[3])
    except ValueError:
        return []


def _version(text: str) -> object:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(text)
    except InvalidVersion:
        return text
