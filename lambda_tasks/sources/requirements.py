"""Reading requirements files: their lines, the files they include, the packages they name by path or URL.

pip's syntax: a line ending in a backslash continues on the next one; ``#`` after whitespace starts a comment;
``-r``/``-c`` include another file, relative to the including one. A requirement may name a local directory
(``./pkg``, ``-e ../pkg``, ``/abs/pkg``, ``file:///...``, ``name @ file:///...``), an archive, a wheel or a VCS
checkout (``git+https://...``): those are *direct references*, which lambda-tasks builds into wheels itself.
Relative paths count from the directory of the requirements file that names them.
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import ResolveError
from ..project_paths import read_text

#: pip's environment variables that change what a resolve finds.
PIP_INDEX_VARIABLES = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX", "PIP_CONFIG_FILE")

# pip's own syntax for including another file: -r/--requirement (requirements) and -c/--constraint
_INCLUDE = re.compile(r"^(?:-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?=\S))(\S+)")
_OPTION = re.compile(r"^(--[A-Za-z][A-Za-z-]*|-[A-Za-z])(?:[ \t]*=[ \t]*|[ \t]+|(?=\S)|$)(.*)$")
_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")  # pip expands ${NAME} (upper case) in requirements files
_NAMED_URL = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*@\s*(\S.*)$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^file:", re.I)
_VCS = ("git+", "hg+", "svn+", "bzr+")
_ARCHIVES = (".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar", ".whl")
#: index options, which say where packages come from: they apply to building as much as to resolving.
INDEX_OPTIONS = {"-i": "--index-url", "--index-url": "--index-url", "--extra-index-url": "--extra-index-url",
                 "-f": "--find-links", "--find-links": "--find-links", "--no-index": "--no-index",
                 "--trusted-host": "--trusted-host", "--pre": "--pre"}


@dataclass(frozen=True)
class Line:
    """One logical line of a requirements file: comments stripped, continuation lines joined."""

    path: Path
    number: int  # where it starts in its file, from 1
    text: str
    label: str = ""  # where a line not from a requirements file comes from ("pyproject.toml [project]")

    @property
    def where(self) -> str:
        return self.label or f"{self.path.name} line {self.number}"


@dataclass(frozen=True)
class DirectReference:
    """A requirement named by location instead of by name and version."""

    line: Line
    kind: str  # "directory", "archive", "wheel" (a local or remote file), "vcs", "url" (a remote archive), "missing"
    location: str  # an absolute path (directory, archive, local wheel, missing) or a URL as written (``${VAR}`` kept)
    name: str | None  # the name the line gives (``name @ ...``, ``#egg=name``), if any
    extras: str  # "[a,b]" or ""
    marker: str  # the environment marker, or ""
    editable: bool
    named: bool = False  # written ``name @ location``

    @property
    def is_local(self) -> bool:
        return self.kind in {"directory", "archive", "missing"} or (self.kind == "wheel" and "://" not in self.location)


def read_lines(path: Path) -> list[Line]:
    """The lines of one requirements file that say something, with where each starts."""
    if not path.is_file():
        return []
    lines: list[Line] = []
    pending, start = "", 0
    for number, raw in enumerate(read_text(path, path.name, utf8_only=True).splitlines(), 1):
        if not pending:
            start = number
        if raw.endswith("\\") and not _COMMENT.match(raw):
            pending += raw[:-1]
            continue
        text = _COMMENT.sub("", pending + raw).strip()
        pending = ""
        if text:
            lines.append(Line(path, start, text))
    text = _COMMENT.sub("", pending).strip()
    if text:
        lines.append(Line(path, start, text))
    return lines


def requirement_lines(path: Path) -> list[str]:
    """The lines of a requirements file that say something (comments and blanks left out)."""
    return [line.text for line in read_lines(path)]


def option(text: str) -> tuple[str, str] | None:
    """``(option, value)`` of an option line (``--index-url x`` -> ``("--index-url", "x")``); None otherwise."""
    match = _OPTION.match(text) if text.startswith("-") else None
    return (match.group(1), match.group(2).strip()) if match else None


def included_files(path: Path, missing: list[Path] | None = None) -> list[Path]:
    """``path`` and every local file it includes with -r/-c, recursively, each once; those named but not there
    are added to ``missing`` (one appearing later changes the declaration)."""
    found: list[Path] = []
    pending = [path]
    while pending:
        current = pending.pop(0)
        if current in found or not current.is_file():
            if missing is not None and current not in found and current not in missing:
                missing.append(current)
            continue
        found.append(current)
        for line in read_lines(current):
            match = _INCLUDE.match(line.text)
            if match and "://" not in match.group(1):
                pending.append((current.parent / expand(match.group(1))).resolve())
    return found


def requirements_digest(path: Path, files: Sequence[Path] | None = None) -> str | None:
    """A hash of the bytes of ``path`` and the files it includes (``files``, when the caller found them already:
    :func:`included_files`); None when there is no requirements file."""
    files = included_files(path) if files is None else files
    if not files:
        return None
    digest = hashlib.sha256()
    for file in files:
        # relative, also for a file outside the directory (../constraints.txt): the same on every machine
        digest.update(Path(os.path.relpath(file, path.parent)).as_posix().encode())
        digest.update(b"\0" + hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def expand(text: str) -> str:
    """``${NAME}`` replaced by the environment variable, as pip does (left as it is when unset)."""
    return _ENV_VAR.sub(lambda match: os.environ.get(match.group(1), match.group(0)), text)


def flattened_lines(path: Path) -> list[Line]:
    """Every line of ``path``, with the local files it includes with -r put in their place (recursively).

    Paths in options (-c, -f/--find-links) are made absolute, so that the lines mean the same in another file;
    each line keeps the file and line number it comes from.
    """
    lines: list[Line] = []
    _flatten(path.resolve(), lines, set())
    return lines


def _flatten(path: Path, lines: list[Line], seen: set[Path]) -> None:
    if path in seen:
        return
    seen.add(path)
    for line in read_lines(path):
        parsed = option(line.text)
        name, value = parsed or ("", "")
        if name in {"-r", "--requirement"} and "://" not in value:
            _flatten((path.parent / expand(value)).resolve(), lines, seen)
            continue
        if name in {"-c", "--constraint"} and "://" not in value:
            line = replace(line, text=f"{name} {(path.parent / expand(value)).resolve()}")
        elif name in {"-f", "--find-links"} and "://" not in value and (path.parent / expand(value)).exists():
            line = replace(line, text=f"{name} {(path.parent / expand(value)).resolve()}")  # pip's rule
        lines.append(line)


def index_option_lines(path: Path) -> list[str]:
    """The index options (--index-url, --extra-index-url, --find-links, --no-index, --trusted-host, --pre) that
    ``path`` and the files it includes give, as lines for another requirements file (``${VAR}`` kept)."""
    return index_options(flattened_lines(path))


def index_options(lines: Sequence[Line]) -> list[str]:
    """The index options among ``lines`` (see :func:`index_option_lines`)."""
    return [line.text for line in lines if (option(line.text) or ("", ""))[0] in INDEX_OPTIONS]


def direct_reference(line: Line) -> DirectReference | None:
    """What a requirement line names by location; None for an option line or a requirement by name."""
    text, editable = line.text, False
    parsed = option(text)
    if parsed:
        if parsed[0] not in {"-e", "--editable"}:
            return None
        text, editable = parsed[1], True
    text = re.split(r"\s--?[A-Za-z]", text, maxsplit=1)[0].strip()  # per-line options (--hash=..., --config-settings)
    name, extras = None, ""
    named = _NAMED_URL.match(text)
    if named:
        name, extras, text = named.group(1), named.group(2) or "", named.group(3)
    if _URL.match(text):
        return _url_reference(line, text, name, extras, editable, bool(named))
    location, _, marker = text.partition(";")
    location = location.strip()
    if not (editable or named or os.sep in location or (os.altsep or os.sep) in location or location.startswith(".")):
        return None  # a requirement by name (pip's rule: a path has a separator or starts with a dot)
    path_extras = re.match(r"^(.+?)(\[[^\]]+\])$", location)
    if path_extras:
        location, extras = path_extras.group(1), path_extras.group(2)
    return _local(line, (line.path.parent / expand(location)).resolve(), name, extras, marker.strip(), editable)


def _url_reference(line: Line, text: str, name: str | None, extras: str, editable: bool,
                   named: bool) -> DirectReference:
    """A requirement by URL: a file: URL as a local one, else a VCS checkout, a wheel or an archive URL."""
    separator = re.search(r";\s", text)  # pip's rule: a URL may hold ";", its marker follows "; "
    location, marker = (text[:separator.start()], text[separator.end():]) if separator else (text, "")
    location = location.strip()
    fragment = urllib.parse.urlsplit(expand(location)).fragment
    egg = urllib.parse.parse_qs(fragment).get("egg", [""])[0]
    if egg and not name:
        egg_match = re.match(r"^([^\[]+)(\[[^\]]*\])?$", egg)
        name, extras = (egg_match.group(1), egg_match.group(2) or "") if egg_match else (egg, "")
    if location.lower().startswith("file:"):
        return _local(line, _file_url_path(expand(location)), name, extras, marker.strip(), editable)
    kind = "vcs" if location.lower().startswith(_VCS) else "url"
    if kind == "url" and urllib.parse.urlsplit(location).path.endswith(".whl"):
        kind = "wheel"
    return DirectReference(line, kind, location, name, extras, marker.strip(), editable, named)


def _file_url_path(url: str) -> Path:
    # lazy: urllib.request (~3 ms with http.client), only for a file: URL
    from urllib.request import url2pathname

    parts = urllib.parse.urlsplit(url)
    if parts.netloc not in {"", "localhost"}:
        return Path(f"//{parts.netloc}{url2pathname(parts.path)}")
    return Path(url2pathname(parts.path))


def _local(line: Line, path: Path, name: str | None, extras: str, marker: str, editable: bool) -> DirectReference:
    if not path.is_absolute():
        path = (line.path.parent / path).resolve()
    if path.is_dir():
        kind = "directory"
    elif path.is_file() and path.name.lower().endswith(_ARCHIVES):
        kind = "wheel" if path.name.lower().endswith(".whl") else "archive"
    else:
        kind = "missing"
    return DirectReference(line, kind, str(path), name, extras, marker, editable)


def direct_references(path: Path) -> list[DirectReference]:
    """The requirements named by location in ``path`` and the files it includes, in order."""
    return references_of(flattened_lines(path))


def references_of(lines: Sequence[Line]) -> list[DirectReference]:
    """The requirements among ``lines`` named by location, in order."""
    found = []
    for line in lines:
        reference = direct_reference(line)
        if reference is not None:
            found.append(reference)
    return found


def top_level_requirements(path: Path) -> tuple[list[str], int]:
    """The PEP 508 requirements ``path`` (and what it includes with -r) asks for: see :func:`top_level`."""
    return top_level(flattened_lines(path))


def top_level(lines: Sequence[Line]) -> tuple[list[str], int]:
    """The PEP 508 requirements ``lines`` ask for, per-requirement options such as ``--hash`` left out, and how
    many lines name a package only by location (``./pkg``): their names are known only once built, so the
    dependency check cannot start from them."""
    found: list[str] = []
    unnamed = 0
    for line in lines:
        if line.text.startswith("-") and (option(line.text) or ("", ""))[0] not in {"-e", "--editable"}:
            continue
        reference = direct_reference(line)
        if reference is not None:
            if reference.name:
                marker = f" ; {reference.marker}" if reference.marker else ""
                found.append(f"{reference.name}{reference.extras}{marker}")
            else:
                unnamed += 1
            continue
        found.append(re.split(r"\s+--?[a-z]", expand(line.text), maxsplit=1)[0].strip())
    return found, unnamed


def check_requirements(lines: Sequence[Line]) -> None:
    """Every requirement named by name in ``lines`` must be valid PEP 508, as the dependency check reads it:
    pip's older parser takes lines such as ``requests==`` and then fails with a misleading answer.
    :class:`ResolveError` names the first bad line."""
    # lazy: packaging (~25 ms) is not loaded by a no-op build
    from packaging.requirements import InvalidRequirement, Requirement

    for line in lines:
        if line.text.startswith("-") or direct_reference(line) is not None:
            continue
        text = re.split(r"\s+--?[a-z]", expand(line.text), maxsplit=1)[0].strip()
        try:
            Requirement(text)
        except InvalidRequirement as error:
            reason = str(error).splitlines()[0]
            raise ResolveError(f"invalid requirement {text!r} ({line.where}): {reason}\n"
                               "  fix that line (a pin is name==version, e.g. requests==2.32.3)") from None


_HASH_OPTION = re.compile(r"(?:^|\s)--hash(?:\s*=\s*|\s+)([A-Za-z0-9_]+):([0-9A-Fa-f]+)")
_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")


def constraint_lines(lines: Sequence[Line]) -> list[Line]:
    """The lines of the local constraints files (``-c``) that ``lines`` name, with what they include."""
    found: list[Line] = []
    seen: set[Path] = set()
    for line in lines:
        name, value = option(line.text) or ("", "")
        if name in {"-c", "--constraint"} and "://" not in value:
            path = Path(value)
            if path not in seen and path.is_file():
                seen.add(path)
                found += flattened_lines(path)
    return found


def hash_pins(lines: Sequence[Line]) -> dict[str, dict[str, frozenset[str]]]:
    """canonical name -> algorithm -> hex digests, from the ``--hash`` options of requirement lines."""
    pins: dict[str, dict[str, set[str]]] = {}
    for line in lines:
        hashes = _HASH_OPTION.findall(line.text)
        name = _NAME.match(line.text)
        if not hashes or name is None or line.text.lstrip().startswith("-"):
            continue
        by_algorithm = pins.setdefault(canonical_name(name.group(1)), {})
        for algorithm, digest in hashes:
            by_algorithm.setdefault(algorithm.lower(), set()).add(digest.lower())
    return {name: {algorithm: frozenset(digests) for algorithm, digests in table.items()}
            for name, table in pins.items()}


def canonical_name(name: str) -> str:
    """PEP 503's normalised name (as ``packaging.utils.canonicalize_name``, which a no-op build does not load)."""
    return re.sub(r"[-_.]+", "-", name).lower()
