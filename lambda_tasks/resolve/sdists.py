"""Building wheels on this host from source: sdists, local directories, archives and VCS checkouts.

The build runs with the target's Python version when this machine has an interpreter of it (on PATH, in
pyenv's versions or among uv's Pythons, found offline: ``host.interpreters``), through pip's ``--python``: a
setup.py that chooses its dependencies or files by version then chooses them for the target. Without one,
this Python builds, and the build says so in one line. The interpreter is never downloaded.

The build runs with the C compiler disabled, as Chalice does (``CC=/var/false``): ``CC``, ``CXX`` and
``LDSHARED`` name a path that cannot exist, so setuptools' ``build_ext`` fails at once. A package with optional
speedups (MarkupSafe 1.x, simplejson, SQLAlchemy 1.x) catches that and builds its pure-Python wheel; one that
needs its extension fails and is reported as such, never retried with a real compiler: a wheel compiled here
cannot run on Lambda unless this host is the target. Only wheels without compiled code are kept, as
``py3-none-any`` whatever their name says (``pure``).

An sdist is fetched first (``pip download --no-deps``, for the target's Python version), with the ``--hash``
pins of its requirement when the requirements have some: pip checks the sdist that was fetched, and the
wheel built from it is recorded as built from that sdist (``BUILT_FROM``), which the pins are checked against.
(Without pins, and with the target's interpreter building, ``pip wheel`` fetches the sdist itself: one pip
process fewer, and it picks the release by the target's Python as well.)

The index options of the requirements files (``--index-url``, ``--find-links``, ...) and ``pip_args`` apply to
the build as to the resolve: they go to pip in a requirements file, so ``${VAR}`` credentials are expanded by
pip and never appear on a command line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..files import file_sha256
from ..host import interpreters
from ..report import Reporter
from ..sections import ResolveSettings
from ..targets import Target
from .failures import Failure, last_lines
from .process import pip_command, run
from .pure import as_pure, compiled_files, is_pure_name

#: What CC, CXX and LDSHARED point at during a build: a path that cannot exist (/dev/null is not a directory).
NO_COMPILER = f"{os.devnull}/lambda-tasks-no-compiler/cc"
#: Failure.summary when pip found no source distribution to build: the caller looks at the wheels that exist.
NO_SDIST = "no source distribution"
NETWORK = re.compile(
    r"(Failed to establish a new connection|Max retries exceeded|NewConnectionError|"
    r"Temporary failure in name resolution|Name or service not known|ConnectTimeoutError|"
    r"Network is unreachable|Connection refused)"
)
# other signs of a build that wanted a compiler: Rust (maturin, setuptools-rust), CMake, meson
_COMPILER = re.compile(
    r"(can't find Rust compiler|Cargo, the Rust package manager, is not installed|Unknown compiler\(s\)|"
    r"No CMAKE_CX*_COMPILER could be found|is not a full path to an existing compiler|"
    r"(?:gcc|cc|clang): (?:command )?not found)", re.I)
_DOWNLOAD_ONLY = {"--platform", "--python-version", "--abi", "--implementation", "--only-binary", "-d", "--dest"}
#: Beside a wheel built from an sdist: ``<wheel name>.built-from.json`` = {"name": sdist file, "sha256": ...}.
BUILT_FROM = ".built-from.json"
_HASH_MISMATCH = re.compile(r"DO NOT MATCH THE HASHES", re.I)


def build_env() -> dict[str, str]:
    """The environment of a build: no compiler, and git never waits for a password."""
    return {"CC": NO_COMPILER, "CXX": NO_COMPILER, "LDSHARED": NO_COMPILER, "GIT_TERMINAL_PROMPT": "0"}


def build_pip_args(pip_args: Sequence[str]) -> list[str]:
    """``pip_args`` without the options only ``pip download`` takes (the target's platform, ABI, ...)."""
    args: list[str] = []
    skip = False
    for item in pip_args:
        if skip:
            skip = False
        elif item.split("=", 1)[0] in _DOWNLOAD_ONLY:
            skip = "=" not in item
        else:
            args.append(item)
    return args


def build_python(target: Target) -> tuple[str | None, str]:
    """The interpreter that builds for ``target`` (None: this one) and how to say it (``Python X.Y`` when it is
    the target's version)."""
    version = ".".join(map(str, target.python_version))
    found = interpreters(target)
    if found:
        path = found[0].path
        return (None if os.path.realpath(path) == os.path.realpath(sys.executable) else path), f"Python {version}"
    here = ".".join(map(str, sys.version_info[:2]))
    return None, f"this Python {here}: no Python {version} on this machine (PATH, pyenv, uv's Pythons), so metadata " \
                 f"that depends on the version is {here}'s"


def build_wheel(requirement: str, shown: str, settings: ResolveSettings, options: Sequence[str], built_dir: Path,
                reporter: Reporter, *, no_binary: str | None = None, remote: bool = False,
                where: str = "") -> Path | Failure:
    """Build ``requirement`` (a requirements file line: a path, URL or name) into a pure wheel in ``built_dir``.

    ``shown`` names it in messages (``where`` says where it is written); ``no_binary`` is the name to build from
    its sdist; ``remote`` says that a failure may be a fetch (VCS or URL). Returns the wheel, or why it cannot
    be had.
    """
    python, which = build_python(settings.target)
    at = f" ({where})" if where else ""
    reporter.info(f"resolve: building {shown[:80]}{at} into a wheel with {which} (compiler disabled)")
    with tempfile.TemporaryDirectory(prefix="build-", dir=built_dir.parent) as tmp:
        spec, out = Path(tmp, "requirements.txt"), Path(tmp, "wheel")
        spec.write_text("".join(f"{line}\n" for line in [*options, requirement]), encoding="utf-8")
        command = pip_command(*(["--python", python] if python else []), "wheel", "--no-deps", "--no-cache-dir",
                              "-w", str(out), "-r", str(spec), *(["--no-binary", no_binary] if no_binary else []),
                              *build_pip_args(settings.pip_args))
        returncode, output = run(command, settings.project_dir, reporter, f"build {shown[:40]}", build_env())
        wheels = sorted(out.glob("*.whl")) if out.is_dir() else []
        if returncode != 0 or not wheels:
            return classify(shown, output, remote)
        wheel = wheels[0]
        compiled = compiled_files(wheel)
        if compiled:
            return Failure(shown, "needs a compiled extension", (
                f"it builds {wheel.name} holding {compiled[0]} for this host, which Lambda cannot load",), "compiled")
        if not is_pure_name(wheel.name):
            named = wheel.name
            wheel = as_pure(wheel)
            reporter.info(f"resolve: {named} holds no compiled code: shipped as {wheel.name}")
        final = built_dir / wheel.name
        final.unlink(missing_ok=True)
        shutil.move(str(wheel), final)
        return final


def build_sdist(requirement: str, settings: ResolveSettings, options: Sequence[str], built_dir: Path,
                reporter: Reporter, hashes: Sequence[str] = ()) -> Path | Failure:
    """Fetch the source distribution of ``requirement`` (pip found no wheel of it for the target), checked
    against ``hashes`` (``sha256:<hex>``, its pins) when given, and build it."""
    try:
        name = canonicalize_name(Requirement(requirement).name)
    except InvalidRequirement:
        name = canonicalize_name(re.split(r"[<>=!~ ;\[]", requirement, maxsplit=1)[0])
    target = settings.target
    reporter.info(f"resolve: no wheel of {requirement} for {target}; building its source distribution, if any")
    if not hashes and build_python(target)[1].startswith("Python"):  # pip under the target's Python picks as it would
        return build_wheel(requirement, requirement, settings, options, built_dir, reporter, no_binary=name)
    with tempfile.TemporaryDirectory(prefix="sdist-", dir=built_dir.parent) as tmp:
        spec, into = Path(tmp, "requirements.txt"), Path(tmp, "sdist")
        pinned = "".join(f" --hash={digest}" for digest in hashes)
        spec.write_text("".join(f"{line}\n" for line in [*options, requirement + pinned]), encoding="utf-8")
        command = pip_command("download", "--no-deps", "--no-binary", str(name), "-d", str(into), "-r", str(spec),
                              "--implementation", "cp", "--python-version", ".".join(map(str, target.python_version)),
                              "--progress-bar", "off", *build_pip_args(settings.pip_args))
        returncode, output = run(command, settings.project_dir, reporter, f"fetch {requirement[:40]}", build_env())
        fetched = sorted(into.iterdir()) if into.is_dir() else []
        if returncode != 0 or len(fetched) != 1:
            if _HASH_MISMATCH.search(output):
                return hash_failure(requirement, output, hashes)
            return classify(requirement, output)
        sdist = fetched[0]
        built = build_wheel(str(sdist), requirement, settings, [*options], built_dir, reporter)
        if isinstance(built, Path):
            Path(f"{built}{BUILT_FROM}").write_text(json.dumps({"name": sdist.name, "sha256": file_sha256(sdist)}))
        return built


def built_from(wheel: Path) -> tuple[str, str] | None:
    """(sdist file name, its sha256) when ``wheel`` was built here from a fetched sdist."""
    try:
        data = json.loads(Path(f"{wheel}{BUILT_FROM}").read_text())
        return str(data["name"]), str(data["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def hash_failure(requirement: str, output: str, hashes: Sequence[str] = ()) -> Failure:
    """pip's hash mismatch, naming the file that was fetched and its digest."""
    url = re.search(r"\bfrom (\w+://[^\s#]+)(?:#\S*?)?:?(?=\s|$)", output)
    got = re.search(r"^\s*Got\s+(\w+)", output, re.M)
    filename = url.group(1).rsplit("/", 1)[-1] if url else "the source distribution fetched"
    details = [f"fetched {filename}: sha256 {got.group(1)}"] if got else list(last_lines(output))
    details += [f"pinned: {', '.join(hashes)}"] if hashes else []
    return Failure(requirement, f"{filename} does not match its --hash pins", tuple(details), "hash")


def classify(shown: str, output: str, remote: bool = False) -> Failure:
    """Why a build failed: the compiler, a fetch, no source distribution, or the build itself."""
    if NO_COMPILER in output or _COMPILER.search(output):
        return Failure(shown, "needs a C compiler (a compiled extension); lambda-tasks builds without one",
                       last_lines(output), "compiled")
    if "No matching distribution found" in output or "Could not find a version that satisfies" in output:
        return Failure(shown, NO_SDIST)
    if remote:
        cause = _fetch_cause(output)
        if cause:
            return Failure(shown, f"cannot be fetched: {cause}", (), "fetch")
    elif NETWORK.search(output):
        return Failure(shown, "cannot be fetched: the package index did not answer", (), "fetch")
    invalid = re.search(r"Invalid requirement: ('[^']*'|\S+)", output)
    if invalid:
        return Failure(shown, f"is not a requirement pip can read ({invalid.group(1)[:100]})")
    if re.search(r"does not appear to be a Python project|Neither 'setup.py' nor 'pyproject.toml' found", output):
        return Failure(shown, "is not a Python project: it has no pyproject.toml or setup.py")
    return Failure(shown, "failed to build", last_lines(output), "build")


def _fetch_cause(output: str) -> str | None:
    """Why a VCS checkout or a URL could not be fetched, in a few words; None when it was fetched."""
    tool = re.search(r"Cannot find command '([\w.-]+)'", output)
    if tool:
        return f"{tool.group(1)} is not installed here"
    fatal = [line.strip(" |") for line in output.splitlines()
             if re.search(r"fatal:|HTTP error|abort:|svn: E\d+", line)]
    text = " ".join(fatal)
    if re.search(r"Could not resolve host|Failed to connect|Connection refused|timed out|Network is unreachable",
                 text) or (not fatal and NETWORK.search(output)):
        return "no network (the host did not answer)"
    if re.search(r"could not read Username|terminal prompts disabled|Authentication failed|publickey|40[13]", text):
        return "not found, or private and needs credentials"
    if fatal:
        return f"not found ({fatal[-1].split('fatal:', 1)[-1].strip()[:120]})"
    return None
