"""Resolve requirements with pip for the target (``pip download`` with the target's tags).

pip resolves and downloads for the target, not the host (``--platform``, ``--python-version``, ``--abi``,
``--only-binary=:all:``). Requirements named by location (local directories, VCS) are built into wheels first
(``local``); a requirement that has only a source distribution is built on this host with the compiler
disabled (``sdists``): a pure wheel is fed back to pip. A requirement that cannot be had does not stop the
resolve: the line that needs it is left out, the rest is resolved, and one error names them all
(``failures``). The index options of the requirements files apply to every step.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from ..errors import ResolveError
from ..files import file_sha256
from ..report import Reporter
from ..sections import ResolveSettings
from ..sources.declaration import Declaration
from ..targets import Target
from .failures import Failure, failures_error, no_fit_failure
from .fastpip import FETCHED_VARIABLE, MARKER_ERROR, MARKER_EXIT_CODE, TAGS_VARIABLE, marker_env_variable
from .impossible import classify, conflict_message
from .local import Entry, installer_lines, marker_applies, prepare
from .process import pip_command, redact, run
from .sdists import NETWORK, NO_SDIST, build_sdist

#: pip's last word: the requirement (with its marker in some releases) and, in others, " (from parent)".
_NO_MATCH = re.compile(r"No matching distribution found for (.+?)(?: \(from [^\r\n]*\))?[ \t]*$", re.M)
_MAX_SDIST_ROUNDS = 25
__all__ = ["download", "download_pins", "explain_pip_failure", "pip_command"]


def download(settings: ResolveSettings, declaration: Declaration, download_dir: Path, built_dir: Path,
             reporter: Reporter, on_wheel: Callable[[Path], None] | None = None) -> frozenset[str]:
    """``pip download`` for the target; local, VCS and sdist-only requirements are built and fed back as wheels.
    ``on_wheel`` is given each wheel pip fetched as soon as pip has it (a hard link, in a temporary directory).
    Returns the names of the distributions built from the project's own sources (paths, archives, VCS)."""
    shown, target = declaration.shown, settings.target
    env = pip_env(settings)
    poll = _watch(env, built_dir.parent / "fetched", on_wheel) if on_wheel is not None else None
    options = declaration.index_options
    lines = installer_lines(declaration, built_dir.parent)
    entries, failures = prepare(settings, lines, options, built_dir, reporter)
    own = frozenset(name for entry in entries if entry.built for name in entry.names)
    flat = built_dir.parent / "requirements.txt"
    tried: set[str] = set()
    for _ in range(_MAX_SDIST_ROUNDS):
        if not any(entry.text for entry in entries):
            break
        flat.write_text("".join(f"{entry.text}\n" for entry in entries), encoding="utf-8")
        command = pip_command(
            "download", "-r", str(flat), "-d", str(download_dir),
            "--find-links", str(built_dir), "--progress-bar", "on" if reporter.live else "off",
            *target.pip_target_args(), *settings.pip_args,
        )
        returncode, output = run(command, settings.project_dir, reporter, "resolve", env, poll)
        if returncode == 0:
            break
        match = _NO_MATCH.search(output)
        if not match or NETWORK.search(output) or returncode == MARKER_EXIT_CODE:
            raise _with_failures(explain_pip_failure(_own_lines(output, flat, entries), settings, shown,
                                                     _locations(entries)), failures)
        requirement = without_marker(match.group(1))
        if requirement in tried:
            failure = Failure(requirement, "its source distribution builds, but pip still finds no distribution "
                                           "that fits (check its Requires-Python and the version pins)")
        else:
            tried.add(requirement)
            built = _build_missing(requirement, settings, declaration, built_dir, reporter, entries, output)
            if built is None:
                continue
            failure = built
        failure, dropped = _leave_out(entries, requirement, output, failure, target)
        failures.append(failure)
        if not dropped:
            break
    else:
        raise ResolveError(f"gave up after building {_MAX_SDIST_ROUNDS} source distributions for "
                           f"{shown}")
    if failures:
        raise failures_error(failures, target)
    return own


def _watch(env: dict[str, str], fetched: Path, on_wheel: Callable[[Path], None]) -> Callable[[], None]:
    """Have pip link each wheel it fetches into ``fetched`` (through ``env``); the poll that hands them on."""
    fetched.mkdir(exist_ok=True)
    env[FETCHED_VARIABLE] = str(fetched)
    return _watcher(fetched, on_wheel)


def _build_missing(requirement: str, settings: ResolveSettings, declaration: Declaration, built_dir: Path,
                   reporter: Reporter, entries: list[Entry], output: str) -> Failure | None:
    """Build the sdist of ``requirement``, which pip found no wheel for, into ``built_dir`` (None: built, pip
    runs again); the failure when it cannot be built, diagnosed when it has no sdist."""
    options = declaration.index_options
    hashes = declaration.pins_of(requirement)
    built = build_sdist(requirement, settings, options, built_dir, reporter, hashes)
    if isinstance(built, Path):
        if hashes:  # pip would check the built wheel against the sdist's pins: name it by its own hash
            _pin_built(entries, built)
        return None
    if built.summary == NO_SDIST:
        return _diagnose(requirement, settings, options, output, reporter)
    return built


def _pin_built(entries: list[Entry], wheel: Path) -> None:
    """The hash-pinned lines naming ``wheel``'s distribution now name the wheel built from their checked sdist,
    pinned by its own sha256 (pip's hash-checking mode needs a hash on every line)."""
    name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
    for index, entry in enumerate(entries):
        if name not in entry.names or "--hash" not in entry.text:
            continue
        try:
            requirement = Requirement(re.split(r"\s+--?[a-z]", entry.text, maxsplit=1)[0].strip())
        except InvalidRequirement:
            continue
        extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
        marker = f" ; {requirement.marker}" if requirement.marker else ""
        entries[index] = replace(entry, text=f"{name}{extras} @ {wheel.as_uri()}{marker} "
                                             f"--hash=sha256:{file_sha256(wheel)}")


def _watcher(directory: Path, on_wheel: Callable[[Path], None]) -> Callable[[], None]:
    """What hands each new wheel in ``directory`` to ``on_wheel`` once, when called."""
    seen: set[str] = set()

    def poll() -> None:
        for name in sorted(set(os.listdir(directory)) - seen):
            seen.add(name)
            on_wheel(directory / name)

    return poll


def pip_env(settings: ResolveSettings, tags: bool = True) -> dict[str, str]:
    """pip's environment: the target's marker environment, and its tags for pip's early filter (none when
    pip_args change what pip accepts)."""
    env = marker_env_variable(settings.target)
    if tags and not any(arg.split("=", 1)[0] in {"--platform", "--abi", "--python-version", "--implementation"}
                        for arg in settings.pip_args):
        env[TAGS_VARIABLE] = " ".join(sorted(str(tag) for tag in settings.target.tags))
    return env


def _diagnose(requirement: str, settings: ResolveSettings, options: Sequence[str], first_output: str,
              reporter: Reporter) -> Failure:
    """A requirement with no wheel for the target and no sdist: which wheels exist (``pip download -vv``)."""
    with tempfile.TemporaryDirectory(prefix="diagnose-") as tmp:
        spec = Path(tmp, "requirements.txt")
        spec.write_text("".join(f"{line}\n" for line in [*options, requirement]), encoding="utf-8")
        command = pip_command("download", "--no-deps", "-vv", "-d", str(Path(tmp, "d")), "-r", str(spec),
                              *settings.target.pip_target_args(), *settings.pip_args)
        _, output = run(command, settings.project_dir, reporter, "resolve", pip_env(settings, tags=False))
    versions = re.search(rf"requirement {re.escape(requirement)} .*?\(from versions: ([^)]*)\)", first_output)
    return no_fit_failure(requirement, output, settings.target, versions.group(1).strip() if versions else "")


def without_marker(text: str) -> str:
    """A requirement as pip printed it (``psycopg2>=2.7; extra == "postgresql"``), without its marker."""
    try:
        parsed = Requirement(text.strip())
    except InvalidRequirement:
        return text.split(";", 1)[0].strip()
    extras = f"[{','.join(sorted(parsed.extras))}]" if parsed.extras else ""
    return f"{parsed.name}{extras}{parsed.specifier}{f' @ {parsed.url}' if parsed.url else ''}"


def _leave_out(entries: list[Entry], requirement: str, output: str, failure: Failure,
               target: Target) -> tuple[Failure, bool]:
    """Leave out the line that needs ``requirement``, so that the rest can be resolved; False when none is found.
    The failure then names that line, and for a requirement of a dependency, who asked for it (pip's "from")."""
    name = canonicalize_name(re.split(r"[<>=!~ ;\[(@]", requirement, maxsplit=1)[0])
    asked = re.search(rf"requirement {re.escape(requirement)}(?:;[^(\n]*)? \(from (?!versions:)([^)\s]+)\)", output)
    parent = re.match(r"[A-Za-z0-9._-]+", asked.group(1)) if asked else None
    wanted: set[str] = {name}
    if parent:
        wanted = {canonicalize_name(parent.group(0))}
        roots = _roots(output).get(canonicalize_name(parent.group(0)))
        if roots is not None and 0 < roots <= len(entries):
            wanted |= entries[roots - 1].names
    # a line whose marker leaves it out for the target asked for nothing: never name it
    hits = [index for index, entry in enumerate(entries)
            if entry.text and entry.names & wanted and _applies(entry, target)]
    for index in hits:
        entries[index] = replace(entries[index], text="")
    if asked and parent and hits:
        lines = ", ".join(entries[i].line.where + ("" if canonicalize_name(parent.group(0)) in entries[i].names
                                                   else f": {entries[i].shown}") for i in hits)
        failure = replace(failure, requirement=requirement,
                          via=f"{re.sub(r'(==|===)[^,;]*$', '', asked.group(1))}, {lines}")
    elif hits:
        failure = replace(failure, requirement=entries[hits[0]].shown, via=entries[hits[0]].line.where)
    return failure, bool(hits)


def _applies(entry: Entry, target: Target) -> bool:
    """False when the line's marker leaves it out for the target."""
    try:
        marker = Requirement(entry.shown).marker
    except InvalidRequirement:
        return True
    return marker is None or marker_applies(str(marker), target)


def _roots(output: str) -> dict[str, int]:
    """Each distribution pip collected -> the line of the requirements file it comes from (pip's "(line N)")."""
    roots: dict[str, int] = {}
    for line in output.splitlines():
        number = re.search(r"\(line (\d+)\)\)?\s*$", line)
        named = re.match(r"\s*(?:Collecting|Processing|Obtaining)\s+(?:\S*/)?([A-Za-z0-9][A-Za-z0-9._]*?)"
                         r"(?=-\d|[<>=!~;\[ (]|$)", line)
        if number and named:
            roots.setdefault(canonicalize_name(named.group(1)), int(number.group(1)))
    return roots


def _own_lines(output: str, flat: Path, entries: list[Entry]) -> str:
    """pip's output with the flattened file's line numbers put back to the project's files and lines."""
    def origin(match: re.Match[str]) -> str:
        number = int(match.group(1))
        return entries[number - 1].line.where if 0 < number <= len(entries) else match.group(0)

    return re.sub(rf"line (\d+) of {re.escape(str(flat))}", origin, output)


def _with_failures(message: str, failures: list[Failure]) -> ResolveError:
    lines = [message] + [f"  also: {failure.requirement}: {failure.summary}" for failure in failures]
    return ResolveError(redact("\n".join(lines)))


def _locations(entries: list[Entry]) -> dict[str, str]:
    """Each requirement (as pip prints it) and each name -> the project's line that asks for it (the first)."""
    where: dict[str, str] = {}
    for entry in entries:
        if entry.text:
            where.setdefault(without_marker(entry.shown), entry.line.where)
            for name in sorted(entry.names):
                where.setdefault(name, entry.line.where)
    return where


def explain_pip_failure(output: str, settings: ResolveSettings, shown: str,
                        lines: dict[str, str] | None = None) -> str:
    """pip's failure: a first line (under 160 characters) that names the requirement and what to do; ``shown``
    names the dependency source, ``lines`` the line of each requirement and name (:func:`_locations`)."""
    target = settings.target
    match = _NO_MATCH.search(output)
    marker = next((line.strip() for line in output.splitlines() if line.startswith(MARKER_ERROR)), None)
    if marker:
        return _fit(marker)
    if NETWORK.search(output):
        name = without_marker(match.group(1)) if match else "the requirements"
        return _fit(f"could not reach the package index for {name} ({shown}); check the network or proxy, or "
                    "give pip_args an index (--index-url, --find-links)")
    invalid = re.search(r"Invalid requirement: (.+?)(?: \(from (.+)\))?\s*$", output, re.M)
    if invalid:
        return _fit(f"invalid requirement {invalid.group(1).strip()} in {invalid.group(2) or shown}; fix that line")
    if "ResolutionImpossible" in output or "conflicting dependencies" in output:
        impossible = classify(output, shown, lines)
        if impossible is None:
            return f"the requirements in {shown} conflict; loosen one of the pins\n  pip named no cause: see its output"
        if impossible.conflicts:  # a package that is also unavailable is named below the conflict
            return conflict_message(impossible.conflicts, shown, impossible.unavailable, lines)
        # no conflict: a dependency has nothing for the target, named with what asked for it
        return str(failures_error(impossible.unavailable, target))
    if match:
        python, glibc = ".".join(map(str, target.python_version)), ".".join(map(str, target.glibc))
        return _fit(f"no version of {without_marker(match.group(1))} has a wheel for {target} (python {python}, "
                    f"manylinux up to glibc {glibc}, {target.machine}) or a source distribution that "
                    "builds; check the name and version, or put a wheel built for the target in vendor/")
    errors = [line.strip() for line in output.splitlines() if line.startswith("ERROR:")]
    last = errors[-1] if errors else (output.strip().splitlines() or ["no output"])[-1]
    return _fit(f"pip failed on {shown}; {last[:300]}")


def _fit(message: str) -> str:
    """``message`` with a first line under 160 characters: what follows the last "; " that fits goes below."""
    if len(message) < 160:
        return message
    cut = message.rfind("; ", 0, 158)
    if cut < 40:
        cut = message.rfind(" ", 0, 158)
    return f"{message[:cut]}\n  {message[cut:].lstrip('; ')}"


def download_pins(settings: ResolveSettings, declaration: Declaration, pins: Sequence[str], download_dir: Path,
                  reporter: Reporter) -> None:
    """``pip download --no-deps`` of exact pins for the target (files another installer could not fetch), with
    the declaration's index options."""
    with tempfile.TemporaryDirectory(prefix="pins-") as tmp:
        spec = Path(tmp, "requirements.txt")  # the declaration's index options, then the pins
        spec.write_text("".join(f"{line}\n" for line in [*declaration.index_options, *pins]),
                        encoding="utf-8")
        command = pip_command("download", "--no-deps", "-d", str(download_dir), "--progress-bar", "off",
                              "-r", str(spec), *settings.target.pip_target_args(), *settings.pip_args)
        returncode, output = run(command, settings.project_dir, reporter, "resolve", pip_env(settings, tags=False))
    if returncode != 0:
        raise ResolveError(redact(explain_pip_failure(output, settings, declaration.shown)))
