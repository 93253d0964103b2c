"""Building wheels on this host from source: sdists, local directories, archives and VCS checkouts.

The build runs with the C compiler disabled, as Chalice does (``CC=/var/false``): ``CC``, ``CXX`` and
``LDSHARED`` name a path that cannot exist, so setuptools' ``build_ext`` fails at once. A package with optional
speedups (MarkupSafe 1.x, simplejson, SQLAlchemy 1.x) catches that and builds its pure-Python wheel; one that
needs its extension fails and is reported as such, never retried with a real compiler: a wheel compiled here
cannot run on Lambda unless this host is the target. Only pure wheels are kept.

The index options of the requirements files (``--index-url``, ``--find-links``, ...) and ``pip_args`` apply to
the build as to the resolve: they go to pip in a requirements file, so ``${VAR}`` credentials are expanded by
pip and never appear on a command line.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..config import Settings
from ..report import Reporter
from .failures import Failure, last_lines
from .process import pip_command, run

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


def is_pure(filename: str) -> bool:
    from packaging.utils import parse_wheel_filename

    return all(tag.abi == "none" and tag.platform == "any" for tag in parse_wheel_filename(filename)[3])


def build_wheel(requirement: str, shown: str, settings: Settings, options: Sequence[str], built_dir: Path,
                reporter: Reporter, *, no_binary: str | None = None, remote: bool = False) -> Path | Failure:
    """Build ``requirement`` (a requirements file line: a path, URL or name) into a pure wheel in ``built_dir``.

    ``shown`` names it in messages; ``no_binary`` is the name to build from its sdist; ``remote`` says that a
    failure may be a fetch (VCS or URL). Returns the wheel, or why it cannot be had.
    """
    with tempfile.TemporaryDirectory(prefix="build-", dir=built_dir.parent) as tmp:
        spec, out = Path(tmp, "requirements.txt"), Path(tmp, "wheel")
        spec.write_text("".join(f"{line}\n" for line in [*options, requirement]), encoding="utf-8")
        command = pip_command("wheel", "--no-deps", "--no-cache-dir", "-w", str(out), "-r", str(spec),
                              *(["--no-binary", no_binary] if no_binary else []), *build_pip_args(settings.pip_args))
        returncode, output = run(command, settings.project_dir, reporter, f"build {shown[:40]}", build_env())
        wheels = sorted(out.glob("*.whl")) if out.is_dir() else []
        if returncode != 0 or not wheels:
            return classify(shown, output, remote)
        wheel = wheels[0]
        if not is_pure(wheel.name):
            return Failure(shown, "needs a compiled extension", (
                f"it builds {wheel.name} for this host, which Lambda cannot load",), "compiled")
        final = built_dir / wheel.name
        final.unlink(missing_ok=True)
        shutil.move(str(wheel), final)
        return final


def build_sdist(requirement: str, settings: Settings, options: Sequence[str], built_dir: Path,
                reporter: Reporter) -> Path | Failure:
    """Build the source distribution of ``requirement`` (pip found no wheel of it for the target)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        name = canonicalize_name(Requirement(requirement).name)
    except InvalidRequirement:
        name = canonicalize_name(re.split(r"[<>=!~ ;\[]", requirement, maxsplit=1)[0])
    reporter.info(f"resolve: no wheel of {requirement} for {settings.target}; building its source distribution, "
                  "if any (compiler disabled)")
    return build_wheel(requirement, requirement, settings, options, built_dir, reporter, no_binary=name)


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
