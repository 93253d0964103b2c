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

from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from ..errors import ResolveError
from ..files import cache_dir
from ..report import Reporter, counted
from ..sections import ResolveSettings
from ..sources.declaration import Declaration
from ..sources.locks import LockedFile, LockedPackage
from ..target_lock import WheelOrigin
from . import wheelhouse as wheelhouse_io
from .failures import Failure, failures_error
from .lock_hashes import fetch_by_hashes, hash_pin, index_lines
from .lock_plan import LockPlan, check_fetched, shown_location
from .picks import Pick, fetch, from_cache
from .pip import pip_env
from .process import pip_command, redact, run
from .sdists import build_wheel


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


def resolve_lock(settings: ResolveSettings, declaration: Declaration, plan: LockPlan, reporter: Reporter,
                 own: set[str] | None = None) -> tuple[list[Path], dict[str, WheelOrigin]]:
    """Fetch what ``plan`` (:func:`lock_plan.plan_lock`, decided before) names for the lock ``declaration``,
    into lambda-tasks' wheelhouse: the wheels (one per package) and where each came from (by the wheel's file
    name). The fetch is held to the plan (:func:`lock_plan.check_fetched`). ``own`` receives the names of the
    packages built from the project's own sources (a directory, a VCS checkout)."""
    assert declaration.source is not None and declaration.is_lock
    target, path = settings.target, declaration.source.path
    if own is not None:
        own.update(str(canonicalize_name(package.name)) for package in declaration.locked
                   if package.directory is not None or package.requirement is not None)
    origins = dict(plan.origins)
    builds = list(plan.builds)
    failures: list[Failure] = []
    cache = cache_dir()
    wheelhouse = cache / "wheels"
    wheelhouse.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"resolve-{os.getpid()}-", dir=cache) as tmp:
        download_dir, built_dir, sdist_dir = Path(tmp, "download"), Path(tmp, "built"), Path(tmp, "sdists")
        for directory in (download_dir, built_dir, sdist_dir):
            directory.mkdir()
        _fetch_picks(plan, download_dir, wheelhouse, reporter, path.name)
        for index, named in sorted(plan.by_name.items(), key=lambda item: item[0] or ""):
            _fetch_by_name(settings, index, list(named), download_dir, wheelhouse, reporter, path.name)
        if plan.by_hash:
            builds += fetch_by_hashes(settings, plan.by_hash, download_dir, wheelhouse, reporter, path.name, origins)
        for package in builds:
            failure = _build_into(package, settings, Path(tmp), wheelhouse, reporter, path.name, origins)
            if failure is not None:
                failures.append(failure)
        if failures:
            raise failures_error(failures, target)
        stored = [wheelhouse_io.store(wheelhouse, file, reporter) for file in sorted(download_dir.iterdir())]
    check_fetched(plan, [(wheel.path, wheel.sha256) for wheel in stored], path.name)
    reporter.info(f"resolve: {counted(len(stored), 'wheel')} for {target}, as locked in {path.name}")
    return [wheel.path for wheel in stored], origins


def _fetch_picks(plan: LockPlan, download_dir: Path, wheelhouse: Path, reporter: Reporter, lock_name: str) -> None:
    """Fetch the wheels the plan names by URL or path, a few at once, into ``download_dir``."""
    reporter.status(f"resolve: fetching {len(plan.picks)} locked wheels")
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(plan.picks)))) as pool:
        for future in [pool.submit(fetch, pick, download_dir, wheelhouse, reporter) for pick in plan.picks]:
            try:
                future.result()
            except OSError as error:
                raise ResolveError(f"cannot fetch a wheel named in {lock_name}: {error}") from None
    reporter.status_done()


def _build_into(package: LockedPackage, settings: ResolveSettings, tmp: Path, wheelhouse: Path, reporter: Reporter,
                lock_name: str, origins: dict[str, WheelOrigin]) -> Failure | None:
    """Build ``package``'s wheel into ``tmp``/download (its origin into ``origins``); the failure, if it fails
    or builds another version than the lock's."""
    wheel = _build(package, settings, tmp / "sdists", tmp / "built", wheelhouse, reporter)
    if isinstance(wheel, Failure):
        return wheel
    version = parse_wheel_filename(wheel.name)[1]
    if package.directory is None and str(version) != str(_version(package.version)):
        return Failure(f"{package.name}=={package.version}", f"its sdist builds version {version}",
                       (f"{lock_name} locks {package.version}; the lock and the sdist disagree",))
    origins[wheel.name] = WheelOrigin(_built_from(package, settings.project_dir), "built from source")
    os.replace(wheel, tmp / "download" / wheel.name)
    return None


def _built_from(package: LockedPackage, project_dir: Path) -> str:
    if package.directory is not None:
        return shown_location(str(package.directory), project_dir)
    if package.requirement is not None:
        return redact(package.requirement)
    return shown_location(package.sdist.location, project_dir) if package.sdist is not None else ""


def _build(package: LockedPackage, settings: ResolveSettings, sdist_dir: Path, built_dir: Path, wheelhouse: Path,
           reporter: Reporter) -> Path | Failure:
    if package.directory is not None:
        reporter.info(f"resolve: building {package.name} from {package.directory} into a wheel (compiler disabled)")
        return build_wheel(str(package.directory), package.name, settings, [], built_dir, reporter)
    if package.requirement is not None:
        reporter.info(f"resolve: building {redact(package.requirement)} into a wheel (compiler disabled)")
        return build_wheel(package.requirement, redact(package.requirement), settings, [], built_dir, reporter,
                           remote=True)
    if package.hashes:  # Pipfile.lock: its locked sdist from the index, one of the locked hashes
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


def _version(text: str) -> object:
    try:
        return Version(text)
    except InvalidVersion:
        return text
