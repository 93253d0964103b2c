"""Resolve requirements with pip for the target (``pip download`` with the target's tags).

pip resolves and downloads for the target, not the host (``--platform``, ``--python-version``, ``--abi``,
``--only-binary=:all:``). A requirement that has only a source distribution is built into a wheel on this
host: a pure-Python wheel works anywhere and is fed back to pip; a compiled one cannot run on Lambda and
the build stops with the way out.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..config import Settings
from ..errors import ResolveError
from ..report import Reporter
from .fastpip import TAGS_VARIABLE
from .process import run

_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")
_NETWORK = re.compile(
    r"(Failed to establish a new connection|Max retries exceeded|NewConnectionError|"
    r"Temporary failure in name resolution|Name or service not known|ConnectTimeoutError|"
    r"Network is unreachable|Connection refused)"
)
_MAX_SDIST_ROUNDS = 25


def pip_command(*args: str) -> list[str]:
    """pip in a subprocess (see fastpip for the two shortcuts it takes)."""
    return [sys.executable, "-m", "lambda_tasks.resolve.fastpip", "--disable-pip-version-check", "--no-input", *args]


def download(settings: Settings, download_dir: Path, built_dir: Path, reporter: Reporter) -> None:
    """``pip download`` for the target; sdist-only requirements are built and fed back as wheels."""
    requirements = settings.requirements_path
    built: set[str] = set()
    for _ in range(_MAX_SDIST_ROUNDS):
        command = pip_command(
            "download", "-r", str(requirements), "-d", str(download_dir),
            "--find-links", str(built_dir), "--progress-bar", "on" if reporter.live else "off",
            *settings.target.pip_target_args(), *settings.pip_args,
        )
        returncode, output = run(command, settings.project_dir, reporter, "resolve", _tags_env(settings))
        if returncode == 0:
            return
        requirement = _sdist_candidate(output, built)
        if requirement is None:
            raise ResolveError(explain_pip_failure(output, settings, requirements))
        built.add(requirement)
        _build_pure_wheel(requirement, settings, built_dir, reporter)
    raise ResolveError(f"gave up after building {_MAX_SDIST_ROUNDS} source distributions for {requirements}")


def _tags_env(settings: Settings) -> dict[str, str]:
    """The target's tags for pip's early filter; none when pip_args change what pip accepts."""
    if any(arg.split("=", 1)[0] in {"--platform", "--abi", "--python-version", "--implementation"}
           for arg in settings.pip_args):
        return {}
    return {TAGS_VARIABLE: " ".join(sorted(str(tag) for tag in settings.target.tags))}


def _sdist_candidate(output: str, already_built: set[str]) -> str | None:
    """The requirement pip found no wheel for, when it is worth trying its source distribution."""
    if _NETWORK.search(output):
        return None
    match = _NO_MATCH.search(output)
    if not match or match.group(1) in already_built:
        return None
    return match.group(1)


def explain_pip_failure(output: str, settings: Settings, requirements: Path) -> str:
    """pip's failure, as one line that names the requirement and what to do."""
    target = settings.target
    match = _NO_MATCH.search(output)
    if _NETWORK.search(output):
        name = match.group(1) if match else "the requirements"
        return (f"could not reach the package index while resolving {name} from {requirements}; check the network "
                "or proxy, or pass an index with pip_args (e.g. --index-url, --find-links)")
    invalid = re.search(r"Invalid requirement: (.+)", output)
    if invalid:
        return f"{requirements} has an invalid requirement {invalid.group(1).strip()}; fix that line"
    if "ResolutionImpossible" in output or "conflicting dependencies" in output:
        cause = re.findall(r"^\s+(\S.*depends on .*|The user requested .*)$", output, re.M)
        detail = "; ".join(line.strip() for line in cause[:4])
        return f"the requirements in {requirements} conflict: {detail or 'see pip output'}; loosen one of the pins"
    if match:
        python = ".".join(map(str, target.python_version))
        return (f"no version of {match.group(1)} has a wheel for {target} (python {python}, "
                f"manylinux up to glibc {'.'.join(map(str, target.glibc))}, {target.machine}) or a source distribution "
                "that builds: check the name and version, or put a wheel built for the target in vendor/")
    errors = [line.strip() for line in output.splitlines() if line.startswith("ERROR:")]
    return f"pip failed on {requirements}: {errors[-1] if errors else output.strip().splitlines()[-1:]}"


def _build_pure_wheel(requirement: str, settings: Settings, built_dir: Path, reporter: Reporter) -> None:
    """Build ``requirement`` from its sdist on this host; keep the wheel only if it is pure Python."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        name = canonicalize_name(Requirement(requirement).name)
    except InvalidRequirement:
        name = canonicalize_name(re.split(r"[<>=!~ ;\[]", requirement, maxsplit=1)[0])
    target = settings.target
    reporter.info(f"resolve: no wheel of {requirement} for {target}; building it from its source distribution")
    with tempfile.TemporaryDirectory(prefix="sdist-", dir=built_dir.parent) as tmp:
        command = pip_command("wheel", "--no-deps", "--no-binary", name, "-w", tmp, requirement, *settings.pip_args)
        returncode, output = run(command, settings.project_dir, reporter, f"build {name}")
        wheels = list(Path(tmp).glob("*.whl"))
        if returncode != 0 or not wheels:
            if _NETWORK.search(output):
                raise ResolveError(explain_pip_failure(output, settings, settings.requirements_path))
            if "No matching distribution found" in output:
                raise ResolveError(
                    f"{requirement} has no wheel for {target} and no source distribution: check the name and "
                    "version in requirements.txt"
                )
            reason = _last_error(output)
            raise ResolveError(
                f"{requirement} has no wheel for {target} and its source distribution failed to build here ({reason}); "
                f"it needs a compiled extension, so use a prebuilt wheel (e.g. a '-binary' variant such as "
                f"psycopg2-binary) or build it for {target.machine} Amazon Linux and put the wheel or package "
                "in vendor/"
            )
        wheel = wheels[0]
        if not _is_pure(wheel.name):
            raise ResolveError(
                f"{requirement} has no wheel for {target}, and its source distribution builds a compiled wheel "
                f"({wheel.name}) for this host, which Lambda cannot load; use a prebuilt wheel (e.g. a '-binary' "
                f"variant such as psycopg2-binary) or build it for {target.machine} Amazon Linux and put it in vendor/"
            )
        shutil.move(str(wheel), built_dir / wheel.name)


def _is_pure(filename: str) -> bool:
    from packaging.utils import parse_wheel_filename

    return all(tag.abi == "none" and tag.platform == "any" for tag in parse_wheel_filename(filename)[3])


_GENERIC = ("subprocess-exited-with-error", "metadata-generation-failed", "failed building wheel", "failed to build",
            "could not build wheels", "did not run successfully", "legacy-install-failure", "exit code:")


def _last_error(output: str) -> str:
    """The most telling line of a failed sdist build (the build's own error, not pip's summary)."""
    blocks = re.findall(r"\[\d+ lines? of output\](.*?)\[end of output\]", output, re.S)
    if blocks:
        inner = [line.strip() for line in blocks[-1].splitlines() if line.strip()]
        telling = [line for line in inner if "error" in line.lower()] or inner
        if telling:
            return str(telling[-1])[:300]
    # pip frames a failed build's output with box-drawing characters and a multiplication sign
    lines = [line.strip(" |\u2570\u2500\u00d7") for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        lower = line.lower()
        if "error" in lower and not any(generic in lower for generic in _GENERIC):
            return line[:300]
    return lines[-1][:300] if lines else "no output"


def download_pins(settings: Settings, pins: Sequence[str], download_dir: Path, reporter: Reporter) -> None:
    """``pip download --no-deps`` of exact pins for the target (files another installer could not fetch)."""
    command = pip_command("download", "--no-deps", "-d", str(download_dir), "--progress-bar", "off",
                          *settings.target.pip_target_args(), *settings.pip_args, *pins)
    returncode, output = run(command, settings.project_dir, reporter, "resolve")
    if returncode != 0:
        raise ResolveError(explain_pip_failure(output, settings, settings.requirements_path))
