"""Resolve with uv (``installer = "uv"``): ``uv pip compile`` for the target, then fetch the exact wheels.

uv has no ``download`` command. It resolves for the target (``--python-platform``, ``--python-version``,
``--only-binary :all:``) into a ``pylock.toml`` that names every candidate wheel with its URL and sha256.
We pick, per package, the wheel whose tag the target ranks best (as pip does), and fetch those files in
parallel, checking size and sha256; a wheel already in lambda-tasks' cache is linked, not fetched. When a
direct fetch fails (e.g. an index that needs credentials), ``pip download --no-deps`` of the exact pins does
it instead. A requirement with no wheel at all goes through the pip path, which builds pure sdists.

uv's platform names skip some glibc versions (``manylinux_2_17``, ``_2_28``, ``_2_31`` ..; none for Amazon
Linux 2's 2.26). uv resolves for the smallest one that covers the runtime's glibc (``_2_28`` for 2.26), so it
considers every release pip would; a chosen release whose wheels all need a glibc the runtime lacks sends the
resolution to pip (:class:`Defer`), which is told every accepted tag. So uv never settles on an older release
than pip, and never on one the target cannot load.

uv resolves for "this Python version and later" and ignores the upper bounds of Requires-Python; pip takes
them. Each fetched wheel's Requires-Python is checked for the target's full version (``requires_python``): a
release that excludes the target is excluded with a constraint and uv resolves again (said in one line), or
pip resolves after ``_MAX_ROUNDS``. So both installers give the same answer (dataclasses 0.6 for python3.10).

uv reads none of pip's configuration: pip's (``pip_config``) and ``pip_args`` are passed on in uv's spelling,
with pip's rule for several indexes (the best version from any of them: ``--index-strategy
unsafe-best-match``). With ``isolated`` (``installer = "auto"``) uv's own configuration files and variables
that change what is resolved are ignored, so the result is what pip would resolve.
"""

from __future__ import annotations

import os
import re
import shutil  # noqa: F401  (tests patch uv.shutil.which: find_uv looks uv up with it)
import sys
import tempfile
import urllib.parse
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from .. import deadlines
from ..deadlines import uv_network_env
from ..errors import DeadlineError, ResolveError
from ..host import find_uv
from ..report import Reporter
from ..sections import ResolveSettings
from ..sources.declaration import Declaration
from ..targets import Target
from .picks import Pick, best_wheel, fetch
from .pip_config import PipConfigError, pip_settings, uv_options
from .process import redact
from .requires_python import refused_by

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

#: uv's --python-platform choices, (glibc major, minor) -> name suffix.
_UV_GLIBC = [(2, 40), (2, 39), (2, 38), (2, 37), (2, 36), (2, 35), (2, 34), (2, 33), (2, 32), (2, 31), (2, 28),
             (2, 17)]
#: uv variables that change what is resolved or where from: ignored when uv stands in for pip.
UV_RESOLUTION_VARIABLES = (
    "UV_CONFIG_FILE", "UV_INDEX", "UV_DEFAULT_INDEX", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS",
    "UV_NO_INDEX", "UV_CONSTRAINT", "UV_OVERRIDE", "UV_BUILD_CONSTRAINT", "UV_PRERELEASE", "UV_RESOLUTION",
    "UV_INDEX_STRATEGY", "UV_EXCLUDE_NEWER", "UV_NO_BINARY", "UV_ONLY_BINARY", "UV_KEYRING_PROVIDER",
    "UV_TORCH_BACKEND", "UV_INSECURE_HOST",
)
_NO_WHEEL = re.compile(r"no usable wheels|has no wheels|only-binary|no matching distribution", re.I)


def uv_platform(target: Target) -> str:
    """The newest uv ``--python-platform`` whose glibc the target's runtime has (a lock must load anywhere)."""
    glibc = next(version for version in _UV_GLIBC if version <= target.glibc)
    return f"{target.machine}-manylinux_{glibc[0]}_{glibc[1]}"


def covering_platform(target: Target) -> str:
    """The oldest uv ``--python-platform`` whose glibc is the runtime's or newer: uv then sees every release
    pip would (and a few the target cannot load, which :func:`pick_wheels` sends back to pip)."""
    glibc = min((version for version in _UV_GLIBC if version >= target.glibc), default=_UV_GLIBC[0])
    return f"{target.machine}-manylinux_{glibc[0]}_{glibc[1]}"


def uv_settings(pip_args: Sequence[str], isolated: bool) -> tuple[list[str], dict[str, str]]:
    """uv's arguments and environment for pip's configuration and ``pip_args``; with ``isolated``, without uv's
    own configuration. An option uv cannot take is left out here (``auto`` checks :func:`pip_only` first)."""
    try:
        options = uv_options(pip_settings(), pip_args)
    except PipConfigError as error:
        raise ResolveError(f"pip's configuration cannot be read for uv: {error}\n"
                           '  fix the file, or set installer = "pip"') from None
    env = dict(os.environ)
    args = [*options.args, "--index-strategy", "unsafe-best-match"]
    if isolated:
        for name in UV_RESOLUTION_VARIABLES:
            env.pop(name, None)
        args.append("--no-config")
    env.update(options.env)
    env.update(uv_network_env())  # over pip's timeout configuration: a silent index fails in about two timeouts
    return args, env


def pip_only(pip_args: Sequence[str]) -> list[str]:
    """The options of pip's configuration and ``pip_args`` that uv cannot take as pip means them."""
    try:
        return list(uv_options(pip_settings(), pip_args).untranslated)
    except PipConfigError as error:
        return [f"an unreadable configuration file ({error})"]


def compile_lock(settings: ResolveSettings, uv: str, reporter: Reporter, isolated: bool, requirements: Path,
                 extra: Sequence[str] = ()) -> dict[str, Any]:
    """Run ``uv pip compile`` of ``requirements`` (a file written from the declaration) for the target; the
    parsed pylock.toml."""
    target = settings.target
    args, env = uv_settings(settings.pip_args, isolated)
    with tempfile.TemporaryDirectory(prefix="uv-lock-") as tmp:
        lock = Path(tmp, "pylock.toml")
        command = [
            uv, "pip", "compile", str(requirements), "--format", "pylock.toml", "-o",
            str(lock), *extra,
            "--python-platform", covering_platform(target), "--python-version",
            ".".join(map(str, target.python_version)), "--only-binary", ":all:", "--no-header", "--quiet", *args,
            "--python", sys.executable,  # any interpreter: without one, uv searches for the target's version
        ]
        reporter.status("resolve: uv pip compile")
        try:
            returncode, output = deadlines.run(command, settings.project_dir, env, "resolve (uv pip compile)")
        finally:
            reporter.status_done()
        if returncode != 0:
            raise _UvFailed(output)
        lock_data: dict[str, Any] = tomllib.loads(lock.read_text(encoding="utf-8"))
        return lock_data


class _UvFailed(Exception):
    """uv pip compile failed; the argument is its output."""


def pick_wheels(lock: dict[str, Any], target: Target) -> list[Pick]:
    """One wheel per locked package: the one whose best tag the target ranks highest."""
    picks = []
    for package in lock.get("packages", []):
        candidates = []
        for wheel in package.get("wheels", []):
            location = wheel.get("url") or wheel.get("path") or ""
            filename = wheel.get("name") or urllib.parse.unquote(location.rsplit("/", 1)[-1].split("#", 1)[0])
            candidates.append((filename, wheel))
        chosen = best_wheel(candidates, target)
        if chosen is None:
            raise Defer(f"uv chose {package.get('name')} {package.get('version')}, which has no wheel {target} "
                        f"loads (glibc {'.'.join(map(str, target.glibc))}); resolving with pip, which knows every "
                        "tag the target accepts")
        filename, wheel = chosen
        url = wheel.get("url") or Path(wheel["path"]).resolve().as_uri()
        picks.append(Pick(package["name"], str(package.get("version", "")), filename, url,
                          (wheel.get("hashes") or {}).get("sha256"), wheel.get("size")))
    return picks


class Defer(Exception):
    """uv cannot resolve this as pip would (a requirement with only an sdist, a release whose wheels the target
    cannot load): pip must resolve instead. The argument says why, for the build's output."""


def download_pins(settings: ResolveSettings, declaration: Declaration, pins: Sequence[str], download_dir: Path,
                  wheelhouse: Path, reporter: Reporter, isolated: bool) -> None:
    """The wheels of ``pins`` alone (``--no-deps``), with the declaration's index options, as pip's
    ``download_pins`` does; raises :class:`Defer` where pip must fetch them."""
    unfetched = download(settings, [*declaration.index_options, *pins], declaration.shown, download_dir, wheelhouse,
                         reporter, isolated, extra=("--no-deps",))
    if unfetched:
        raise Defer(f"uv could not fetch {', '.join(pick.filename for pick in unfetched)}; fetching with pip")


def download(settings: ResolveSettings, lines: Sequence[str], shown: str, download_dir: Path, wheelhouse: Path,
             reporter: Reporter, isolated: bool = False, on_wheel: Callable[[Path], None] | None = None,
             extra: Sequence[str] = ()) -> list[Pick]:
    """Leave in ``download_dir`` the target's wheels (one per distribution) that ``lines`` (the declaration's, or
    index options and pins; ``shown`` names their source) need, resolved by uv; ``on_wheel`` is
    given each as soon as it is fetched and its Requires-Python admits the target (checked against the index's
    sha256 where the index gives one).

    A chosen release whose Requires-Python excludes the target (uv ignores upper bounds) is excluded with a
    constraint and uv resolves again, at most ``_MAX_ROUNDS`` times, then pip resolves instead.
    Returns the picks whose files could not be fetched directly (e.g. an index that needs pip's credentials);
    raises :class:`Defer` when pip must resolve instead.
    """
    uv = find_uv()
    excluded: list[str] = []
    corrected: dict[str, str] = {}  # name -> "name 0.8 (>=3.6, <3.7), 0.7 (>=3.6, <3.7)"
    fetched: set[str] = set()  # what earlier rounds left in download_dir (nothing else there is touched)
    with tempfile.TemporaryDirectory(prefix="uv-input-") as tmp:
        requirements, constraints = Path(tmp, "requirements.txt"), Path(tmp, "constraints.txt")
        requirements.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")  # uv's input, ours
        for _ in range(_MAX_ROUNDS):
            more = [*extra, "--constraints", str(constraints)] if excluded else list(extra)
            picks = _compile_picks(settings, uv, reporter, isolated, requirements, more, shown)
            unfetched, refused = _fetch_checked(picks, settings.target, download_dir, wheelhouse, reporter, on_wheel,
                                                fetched)
            if not refused:
                if excluded:
                    taken = ", ".join(f"{pick.name} {pick.version}" for pick in picks if pick.name in corrected)
                    reporter.info(f"resolve: uv's answer corrected: {'; '.join(corrected.values())} exclude "
                                  f"{settings.target} (uv ignores Requires-Python upper bounds); took {taken}")
                return unfetched
            for pick, spec in refused:
                known = corrected.get(pick.name, f"{pick.name}")
                corrected[pick.name] = f"{known}{' ' if known == pick.name else ', '}{pick.version} ({spec})"
            excluded += [f"{pick.name}!={pick.version}" for pick, _ in refused]
            constraints.write_text("".join(f"{line}\n" for line in excluded), encoding="utf-8")
    raise Defer(f"uv kept choosing releases whose Requires-Python excludes {settings.target} ({', '.join(excluded)}); "
                "resolving with pip, which takes both bounds")


_MAX_ROUNDS = 5


def _compile_picks(settings: ResolveSettings, uv: str, reporter: Reporter, isolated: bool, requirements: Path,
                   extra: Sequence[str], shown: str) -> list[Pick]:
    try:
        return pick_wheels(compile_lock(settings, uv, reporter, isolated, requirements, extra), settings.target)
    except _UvFailed as failed:
        output = str(failed)
        silent = silent_index(output)
        if silent:  # not handed to pip: it would wait for the same index again
            raise DeadlineError(redact(f"resolve (uv pip compile): {silent}\n  check the index URL, the network or "
                                       f"the proxy; uv waits {deadlines.network_timeout():g} s per attempt "
                                       f"({deadlines.NETWORK_ENV})")) from None
        if _NO_WHEEL.search(output):
            raise Defer("uv found no wheel for a requirement; resolving with pip, which builds pure sdists") from None
        if isolated:  # standing in for pip: pip's resolve names every requirement that cannot be had, and why
            raise Defer("uv could not resolve the requirements; resolving with pip, which says why") from None
        raise ResolveError(redact(explain_uv_failure(output, settings, shown))) from None


def _fetch_checked(picks: list[Pick], target: Target, download_dir: Path, wheelhouse: Path, reporter: Reporter,
                   on_wheel: Callable[[Path], None] | None,
                   fetched: set[str]) -> tuple[list[Pick], list[tuple[Pick, str]]]:
    """Fetch the picks an earlier round did not (and drop what one fetched that is no longer picked); the ones
    that could not be fetched, and the ones whose Requires-Python excludes the target (removed again).
    ``fetched`` (the files the rounds left in ``download_dir``) is kept up to date."""
    wanted = {pick.filename for pick in picks}
    for name in sorted(fetched - wanted):
        (download_dir / name).unlink(missing_ok=True)
        fetched.discard(name)
    todo = [pick for pick in picks if pick.filename not in fetched]
    reporter.status(f"resolve: fetching {len(todo)} wheels")
    unfetched: list[Pick] = []
    refused: list[tuple[Pick, str]] = []
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(todo)))) as pool:
        futures = {pool.submit(fetch, pick, download_dir, wheelhouse, reporter): pick for pick in todo}
        for future in as_completed(futures):
            pick = futures[future]
            try:
                future.result()
            except ResolveError:
                raise
            except OSError:
                unfetched.append(pick)
                continue
            wheel = download_dir / pick.filename
            spec = refused_by(wheel, target)
            if spec is not None:
                refused.append((pick, spec))
                wheel.unlink()
                continue
            fetched.add(pick.filename)
            if on_wheel is not None:
                on_wheel(wheel)
    reporter.status_done()
    return sorted(unfetched, key=lambda pick: pick.filename), sorted(refused, key=lambda item: item[0].filename)


_FETCH_TIMED_OUT = re.compile(r"Failed to fetch: (\S+)(?:.|\n)*?(?:operation timed out|timed out)")


def silent_index(output: str) -> str | None:
    """uv's failure, when it is an index that did not answer: the endpoint, in words (None otherwise)."""
    match = _FETCH_TIMED_OUT.search(output)
    if match is None:
        return None
    url = urllib.parse.urlsplit(match.group(1))
    seconds = 2 * deadlines.network_timeout()
    return f"the package index {url.hostname}:{url.port or (443 if url.scheme == 'https' else 80)} did not " \
           f"answer in {seconds:g} s (uv's attempts timed out) for {url.path[:60]}"


def explain_uv_failure(output: str, settings: ResolveSettings, shown: str) -> str:
    """uv's failure as one line naming the requirement and what to do."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    cause = next((line for line in lines if line.startswith(("cause:", "╰─▶", "Because"))), None)
    detail = (cause or (lines[-1] if lines else "no output")).removeprefix("cause:").removeprefix("╰─▶").strip()
    if re.search(r"(dns error|connect|timed out|network|tcp)", output, re.I):
        return (f"uv could not reach the package index while resolving {shown}: {detail}; "
                "check the network or proxy, or pass an index with pip_args")
    return f"uv could not resolve {shown} for {settings.target}: {detail}"
