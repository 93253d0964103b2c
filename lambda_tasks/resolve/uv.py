"""Resolve with uv (``installer = "uv"``): ``uv pip compile`` for the target, then fetch the exact wheels.

uv has no ``download`` command. It resolves for the target (``--python-platform``, ``--python-version``,
``--only-binary :all:``) into a ``pylock.toml`` that names every candidate wheel with its URL and sha256.
We pick, per package, the wheel whose tag the target ranks best (as pip does), and fetch those files in
parallel, checking size and sha256; a wheel already in lambda-tasks' cache is linked, not fetched. When a
direct fetch fails (e.g. an index that needs credentials), ``pip download --no-deps`` of the exact pins does
it instead. A requirement with no wheel at all goes through the pip path, which builds pure sdists.

uv's platform names stop at some glibc versions (``manylinux_2_17``, ``_2_28``, ``_2_31`` ..): the newest
one the runtime's glibc accepts is used, so uv may settle on an older release than pip for a package whose
only wheels need a glibc in between (pip is told every accepted tag). uv reads its own configuration, not
pip's: ``pip_args`` and the ``PIP_INDEX_URL``/``PIP_EXTRA_INDEX_URL``/``PIP_FIND_LINKS``/``PIP_NO_INDEX``
variables are passed on; pip.conf files are not.
"""

from __future__ import annotations

import os
import re
import shutil  # noqa: F401  (tests patch uv.shutil.which: find_uv looks uv up with it)
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import ResolveError
from ..host import find_uv
from ..report import Reporter
from ..targets import Target
from .picks import Pick, best_wheel, fetch
from .process import redact

#: uv's --python-platform choices, (glibc major, minor) -> name suffix.
_UV_GLIBC = [(2, 40), (2, 39), (2, 38), (2, 37), (2, 36), (2, 35), (2, 34), (2, 33), (2, 32), (2, 31), (2, 28),
             (2, 17)]
#: pip options that mean the same to uv (with a value), and flags.
_VALUE_OPTIONS = {"--index-url": "--index-url", "-i": "--index-url", "--extra-index-url": "--extra-index-url",
                  "--find-links": "--find-links", "-f": "--find-links"}
_FLAG_OPTIONS = {"--no-index": "--no-index", "--pre": "--prerelease=allow"}
_NO_WHEEL = re.compile(r"no usable wheels|has no wheels|only-binary|no matching distribution", re.I)


def uv_platform(target: Target) -> str:
    """The newest uv ``--python-platform`` whose glibc the target's runtime has."""
    glibc = next(version for version in _UV_GLIBC if version <= target.glibc)
    return f"{target.machine}-manylinux_{glibc[0]}_{glibc[1]}"


def uv_index_args(pip_args: Sequence[str], environ: dict[str, str] | None = None) -> list[str]:
    """The index options of ``pip_args`` (and of pip's environment variables) in uv's spelling."""
    environ = dict(os.environ) if environ is None else environ
    args: list[str] = []
    given: set[str] = set()
    items = list(pip_args)
    index = 0
    while index < len(items):
        item = items[index]
        option, _, inline = item.partition("=")
        if option in _VALUE_OPTIONS:
            value = inline if "=" in item else (items[index + 1] if index + 1 < len(items) else "")
            index += 0 if "=" in item else 1
            args += [_VALUE_OPTIONS[option], value]
            given.add(_VALUE_OPTIONS[option])
        elif item in _FLAG_OPTIONS:
            args.append(_FLAG_OPTIONS[item])
            given.add(_FLAG_OPTIONS[item])
        index += 1
    if "--index-url" not in given and environ.get("PIP_INDEX_URL"):
        args += ["--index-url", environ["PIP_INDEX_URL"]]
    for variable, option in (("PIP_EXTRA_INDEX_URL", "--extra-index-url"), ("PIP_FIND_LINKS", "--find-links")):
        if option not in given:
            for value in environ.get(variable, "").split():
                args += [option, value]
    if "--no-index" not in given and environ.get("PIP_NO_INDEX", "").lower() in {"1", "true", "yes", "on"}:
        args.append("--no-index")
    return args


def compile_lock(settings: Settings, uv: str, reporter: Reporter) -> dict[str, Any]:
    """Run ``uv pip compile`` for the target; the parsed pylock.toml."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    target = settings.target
    with tempfile.TemporaryDirectory(prefix="uv-lock-") as tmp:
        lock = Path(tmp, "pylock.toml")
        command = [
            uv, "pip", "compile", str(settings.requirements_path), "--format", "pylock.toml", "-o", str(lock),
            "--python-platform", uv_platform(target), "--python-version", ".".join(map(str, target.python_version)),
            "--only-binary", ":all:", "--no-header", "--quiet", *uv_index_args(settings.pip_args),
            "--python", sys.executable,  # any interpreter: without one, uv searches for the target's version
        ]
        reporter.status("resolve: uv pip compile")
        result = subprocess.run(command, cwd=settings.project_dir, capture_output=True, text=True)
        reporter.status_done()
        if result.returncode != 0:
            raise _UvFailed(result.stderr or result.stdout)
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
            raise _UvFailed(f"{package.get('name')} {package.get('version')} has no usable wheels for {target}")
        filename, wheel = chosen
        url = wheel.get("url") or Path(wheel["path"]).resolve().as_uri()
        picks.append(Pick(package["name"], str(package.get("version", "")), filename, url,
                          (wheel.get("hashes") or {}).get("sha256"), wheel.get("size")))
    return picks


class NeedsSdistBuild(Exception):
    """uv found no wheel for a requirement: pip, which builds pure sdists, must resolve instead."""


def download(settings: Settings, download_dir: Path, wheelhouse: Path, reporter: Reporter) -> list[Pick]:
    """Leave in ``download_dir`` the target's wheels (one per distribution), resolved by uv.

    Returns the picks whose files could not be fetched directly (e.g. an index that needs pip's credentials);
    raises :class:`NeedsSdistBuild` when a requirement has no wheel at all.
    """
    uv = find_uv()
    try:
        picks = pick_wheels(compile_lock(settings, uv, reporter), settings.target)
    except _UvFailed as failed:
        output = str(failed)
        if _NO_WHEEL.search(output):
            raise NeedsSdistBuild(output) from None
        raise ResolveError(redact(explain_uv_failure(output, settings))) from None
    reporter.status(f"resolve: fetching {len(picks)} wheels")
    unfetched: list[Pick] = []
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(picks)))) as pool:
        futures = {pool.submit(fetch, pick, download_dir, wheelhouse, reporter): pick for pick in picks}
        for future, pick in futures.items():
            try:
                future.result()
            except ResolveError:
                raise
            except OSError:
                unfetched.append(pick)
    reporter.status_done()
    return unfetched


def explain_uv_failure(output: str, settings: Settings) -> str:
    """uv's failure as one line naming the requirement and what to do."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    cause = next((line for line in lines if line.startswith(("cause:", "╰─▶", "Because"))), None)
    detail = (cause or (lines[-1] if lines else "no output")).removeprefix("cause:").removeprefix("╰─▶").strip()
    if re.search(r"(dns error|connect|timed out|network|tcp)", output, re.I):
        return (f"uv could not reach the package index while resolving {settings.requirements_path}: {detail}; "
                "check the network or proxy, or pass an index with pip_args")
    return f"uv could not resolve {settings.requirements_path} for {settings.target}: {detail}"
