"""Why a requirement cannot be installed for the target, and the one error that names every such requirement.

A resolve does not stop at the first unusable requirement: each one becomes a :class:`Failure`, the resolve
goes on with the rest, and :func:`failures_error` raises one ``ResolveError`` whose first line names them all
and whose indented lines say, per requirement, what happened (needs a compiler, failed to build, no
distribution fits, not found, cannot be fetched) and the way out.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from ..errors import MAX_FIRST_LINE, ResolveError
from ..targets import Target
from .process import redact


@dataclass(frozen=True)
class Failure:
    """One requirement that cannot be installed for the target."""

    requirement: str  # as the user wrote it (credentials masked)
    summary: str  # what happened, short: "needs a C compiler (a compiled extension)"
    details: tuple[str, ...] = ()  # the cause: the build's last lines, the tags that exist, ...
    advice: str = ""  # a key of _ADVICE, or "" when the summary says it all
    via: str = ""  # where it comes from: "requirements.txt line 3", or who asked for it and that line

    @property
    def asked(self) -> bool:
        """True for a dependency's requirement (``via`` says who asked for it), False for a line of the project."""
        return "," in self.via

    @property
    def named(self) -> str:
        """The requirement with where it comes from: ``psycopg2>=2.7 (from sqlalchemy[postgresql], ...)``."""
        return f"{self.requirement}{_via(self)}"

    @property
    def name(self) -> str:
        """A short name for the first line of the error: the project's name, or the last part of its path or URL."""
        text = re.sub(r"^(-e|--editable)[=\s]+", "", self.requirement).strip()
        try:
            return Requirement(text).name
        except InvalidRequirement:
            pass
        location = re.split(r"[;#]", text)[0].strip()
        path = urllib.parse.urlsplit(location).path if "://" in location or location.startswith("file:") else location
        return path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")[:40] or text[:40]


def _via(failure: Failure) -> str:
    return f" ({'from ' if failure.asked else ''}{_shorten(failure.via, 70)})" if failure.via else ""


_ADVICE = {
    "compiled": "use a prebuilt wheel for {target} (e.g. a '-binary' variant such as psycopg2-binary), or build it "
                "for {machine} Amazon Linux and put the wheel or package in vendor/",
    "build": "fix its build; or, if it needs a compiled extension, use a prebuilt wheel or build it for {machine} "
             "Amazon Linux and put the wheel or package in vendor/",
    "no-fit": "pin a version that has a wheel for {target}, or build one for {machine} Amazon Linux and put it in "
              "vendor/",
    "fetch": "check the URL, the network and the credentials, or build the package yourself and put its wheel in "
             "vendor/",
    "hash": "if the pin is right, the index served other bytes; if the pin is old, update it (pip-compile "
            "--generate-hashes)",
}


def failures_error(failures: Sequence[Failure], target: Target) -> ResolveError:
    """One error for every failure: a first line under 160 characters, then one indented block per requirement."""
    if len(failures) == 1:
        failure = failures[0]
        shown = _shorten(failure.requirement, 70)
        first = f"{shown}{_via(failure)} cannot be installed for {target}: {failure.summary}"
        if len(first) > MAX_FIRST_LINE and failure.via and not failure.asked:  # its own text names the line
            first = f"{shown} cannot be installed for {target}: {failure.summary}"
        lines = [_shorten(first, MAX_FIRST_LINE)]
        if len(first) > MAX_FIRST_LINE:
            lines.append(f"  {failure.summary}")
        lines += [f"  {detail}" for detail in failure.details]
    else:
        names = ", ".join(dict.fromkeys(failure.name for failure in failures))
        lines = [_shorten(f"{len(failures)} requirements cannot be installed for {target}: {names}", MAX_FIRST_LINE)]
        for failure in failures:
            lines.append(f"  {failure.named}: {failure.summary}")
            lines += [f"    {detail}" for detail in failure.details]
    for key in dict.fromkeys(failure.advice for failure in failures if failure.advice):
        advice = _ADVICE[key].format(target=target, machine=target.machine)
        which = [failure.name for failure in failures if failure.advice == key]
        lead = "the way out" if len(failures) == 1 else f"for {', '.join(dict.fromkeys(which))}"
        lines.append(f"  {lead}: {advice}")
    return ResolveError(redact("\n".join(lines)))


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


_GENERIC = ("subprocess-exited-with-error", "metadata-generation-failed", "failed building wheel", "failed to build",
            "could not build wheels", "did not run successfully", "legacy-install-failure", "exit code:",
            "this error originates from a subprocess", "see above for output", "end of output")


def last_lines(output: str, count: int = 3) -> tuple[str, ...]:
    """The last telling lines of a failed build: the build's own output up to its last error, not pip's summary."""
    blocks = re.findall(r"\[\d+ lines? of output\](.*?)\[end of output\]", output, re.S)
    source = blocks[-1] if blocks else output
    # pip frames a failed build's output with box-drawing characters and a multiplication sign
    lines = [line.strip(" |\u2502\u2570\u2500\u00d7\t") for line in source.splitlines()]
    lines = [line for line in lines if line and not any(generic in line.lower() for generic in _GENERIC)
             and not line.startswith(("note:", "hint:", "ERROR: Failed", "Failed to build"))]
    errors = [number for number, line in enumerate(lines) if "error" in line.lower()]
    end = errors[-1] + 1 if errors else len(lines)
    return tuple(line[:200] for line in lines[max(0, end - count):end]) or ("no output",)


def short_tag(interpreter: str, abi: str, platform: str) -> str:
    """``cp312-cp312-manylinux_2_39_x86_64`` -> ``cp312-manylinux_2_39_x86_64`` (the ABI when it says more)."""
    return f"{interpreter}-{platform}" if abi in {interpreter, "none"} else f"{interpreter}-{abi}-{platform}"


def target_takes(target: Target) -> str:
    """What the target's wheels may be, in a few words."""
    glibc = ".".join(map(str, target.glibc))
    return (f"{target} takes {target.abi}, abi3 or pure (py3-none-any) wheels for manylinux up to glibc {glibc} "
            f"({target.platforms[0]} or older)")


def no_fit_failure(requirement: str, verbose_output: str, target: Target, versions_line: str) -> Failure:
    """The failure for a requirement with no source distribution, from ``pip download -vv``'s skipped links."""
    try:
        wanted = Requirement(requirement)
    except InvalidRequirement:
        wanted = None
    other_tags: dict[str, None] = {}
    other_python: dict[str, None] = {}
    for line in verbose_output.splitlines():
        # an index's links end in "(from https://pypi.org/simple/name/)", a find-links directory's do not
        found = re.search(r"(\S+?\.whl)(?:[#?]\S*)?(?:\s+\(from \S+\))?\s*$", line) if "Skipping link" in line else None
        if not found:
            continue
        filename = urllib.parse.unquote(found.group(1).rsplit("/", 1)[-1])
        try:
            name, version, _, tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            continue
        if wanted is None or canonicalize_name(wanted.name) != name \
                or not wanted.specifier.contains(version, prereleases=True):
            continue  # another project's file, or a requirement we cannot read: it says nothing about this one
        if target.tags.isdisjoint(tags):
            for tag in sorted(tags, key=str):
                other_tags[short_tag(tag.interpreter, tag.abi, tag.platform)] = None
        else:
            other_python[str(version)] = None
    if other_tags or other_python:
        details = []
        if other_tags:
            shown = sorted(other_tags)[:6]
            more = f" and {len(other_tags) - 6} more" if len(other_tags) > 6 else ""
            details.append(f"its wheels are only for {', '.join(shown)}{more}; there is no source distribution")
        if other_python:
            details.append(f"the wheels of {', '.join(other_python)} need another Python (Requires-Python)")
        details.append(target_takes(target))
        return Failure(requirement, "no distribution fits", tuple(details), "no-fit")
    versions = f" (versions for {target}: {versions_line})" if versions_line and versions_line != "none" else ""
    return Failure(requirement, f"not found: no wheel and no source distribution{versions}; check the name, "
                                "version and index options")
