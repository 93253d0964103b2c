"""Chalice mode in the build: Chalice's runtime files in the function zip, Chalice's command-line tool out of the
layers.

Chalice mode is on when app.py imports chalice (read from its syntax tree, never imported). Which chalice:
the ``chalice_version`` setting, else the project's own requirement on chalice (a pin, a range, or the version a
lock file holds), else the newest release (with a note: pin it, so that builds repeat).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..entries import APP_UNIT, Entry
from ..errors import LambdaTasksError, ProjectError
from ..project_paths import read_text
from ..report import Reporter
from ..resolve.chalice_wheel import runtime_wheel
from ..sections import ResolveSettings, SourceSettings
from ..sources.chalice_app import read_app
from ..sources.declaration import Declaration
from ..sources.project import read_toml
from .collect import wheel_entries

FRAMEWORK = "chalice"


@dataclass(frozen=True)
class Runtime:
    """Chalice's runtime for this build: the requirement it was fetched by and the wheel."""

    requirement: str
    wheel: Path
    pinned: bool  # the project says which chalice (a setting, a pin or a lock); else the newest was taken


def is_chalice_app(project_dir: Path) -> bool:
    app = project_dir / "app.py"
    return app.is_file() and read_app(app) is not None


def chalice_requirement(sources: SourceSettings, declaration: Declaration) -> tuple[str, bool]:
    """Which chalice the project asks for, and whether it says so (``chalice`` alone: the newest release)."""
    if sources.chalice_version:
        version = sources.chalice_version
        return (f"chalice=={version}" if version[:1].isdigit() else f"chalice{version}"), True
    if declaration.is_lock:
        return _locked_chalice(declaration)
    by_location = _chalice_reference(declaration, sources.target.marker_environment())
    if by_location is not None:
        return by_location, True
    # only a line with "chalice" in it can name it (a name differs from "chalice" after normalising otherwise)
    lines = [line for line in declaration.app_roots or () if FRAMEWORK in line.lower()]
    # a -c file narrows it as it narrows what pip installs (the chalice `chalice package` would take its runtime from)
    constraints = [line.text for line in declaration.constraints if FRAMEWORK in line.text.lower()]
    if not lines and not constraints:
        return FRAMEWORK, False
    return _required_chalice([*lines, FRAMEWORK], sources.target.marker_environment(), constraints)


def _chalice_reference(declaration: Declaration, environment: dict[str, str]) -> str | None:
    """``chalice @ <location>`` when the requirements name chalice by location (a fork, a checkout, a wheel):
    pip installs that one, so its runtime is the one to ship."""
    named = [reference for reference in declaration.references
             if reference.name is not None and FRAMEWORK in reference.name.lower()]
    if not named:
        return None  # packaging is not loaded (a no-op build's start-up time)
    # lazy: packaging, only for requirements named by location
    from packaging.markers import Marker
    from packaging.utils import canonicalize_name

    for reference in named:
        if canonicalize_name(reference.name or "") != FRAMEWORK:
            continue
        if reference.marker and not Marker(reference.marker).evaluate(environment):
            continue
        location = reference.location
        return f"{FRAMEWORK} @ {Path(location).as_uri() if '://' not in location else location}"
    return None


def _locked_chalice(declaration: Declaration) -> tuple[str, bool]:
    # lazy: packaging, only for a Chalice app whose dependencies are locked
    from packaging.utils import canonicalize_name

    for package in declaration.locked:
        if canonicalize_name(package.name) == FRAMEWORK:
            return f"chalice=={package.version}", True
    # not for the groups this build ships: Chalice users keep chalice (a deploy tool) in a dev group, and the lock
    # still says which release the project's environment runs
    versions = _any_locked(declaration)
    return (f"chalice=={versions[0]}", True) if len(versions) == 1 else (FRAMEWORK, False)


def _any_locked(declaration: Declaration) -> list[str]:
    """The chalice versions a lock holds in any group or section (read as data, markers aside)."""
    # lazy: the lock's format, only for a Chalice app whose lock does not ship chalice
    import json

    from packaging.utils import canonicalize_name

    source = declaration.source
    if source is None:
        return []
    try:
        if source.kind == "Pipfile.lock":
            data = json.loads(read_text(source.path, source.path.name))
            sections = [data.get(name) for name in ("default", "develop")]
            found = [str(spec.get("version", "")).removeprefix("==") for section in sections
                     if isinstance(section, dict) for name, spec in section.items()
                     if canonicalize_name(name) == FRAMEWORK and isinstance(spec, dict)]
        else:
            data = read_toml(source.path)
            packages = data.get("packages" if source.kind == "pylock" else "package", [])
            found = [str(package.get("version", "")) for package in packages if isinstance(package, dict)
                     and canonicalize_name(str(package.get("name", ""))) == FRAMEWORK]
    except (LambdaTasksError, ValueError, AttributeError):
        return []  # the lock's own reader says what is wrong with it
    return sorted({version for version in found if version})


def _required_chalice(lines: Sequence[str], environment: dict[str, str],
                      constraints: Sequence[str] = ()) -> tuple[str, bool]:
    """The first line that requires chalice (for the target), narrowed by every constraint on it."""
    # lazy: packaging (~25 ms), only when a requirement line mentions chalice
    from packaging.specifiers import SpecifierSet

    found = next(iter(_chalice_specifiers(lines, environment)), None)
    if found is None:
        return FRAMEWORK, False
    if found.startswith(" @ "):  # a fork, a local checkout or a wheel's URL: that chalice's runtime
        return f"{FRAMEWORK}{found}", True
    specifier = SpecifierSet(found)
    for narrower in _chalice_specifiers(constraints, environment):
        if not narrower.startswith(" @ "):
            specifier &= SpecifierSet(narrower)
    return f"chalice{specifier}", bool(specifier)


def _chalice_specifiers(lines: Sequence[str], environment: dict[str, str]) -> list[str]:
    """What each line on chalice (for the target) asks: a specifier (``==1.34.0``), or `` @ <url>``."""
    # lazy: packaging (~25 ms), only when a requirement line mentions chalice
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    found = []
    for line in lines:
        try:
            requirement = Requirement(line.split(" --", 1)[0])  # a constraint's --hash options
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) != FRAMEWORK:
            continue
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        found.append(f" @ {requirement.url}" if requirement.url else str(requirement.specifier))
    return found


def runtime(sources: SourceSettings, resolve: ResolveSettings, declaration: Declaration, reporter: Reporter,
            refresh: bool = False) -> Runtime:
    requirement, pinned = chalice_requirement(sources, declaration)
    return Runtime(requirement, runtime_wheel(resolve, declaration, requirement, reporter, refresh), pinned)


def runtime_entries(found: Runtime, app_entries: Sequence[Entry]) -> list[Entry]:
    """chalice/__init__.py and chalice/app.py of the runtime wheel, as function-zip entries."""
    # lazy: what a Chalice build that makes something needs; a no-op build does not load it
    from ..resolve.chalice_wheel import RUNTIME_FILES

    # a chalice/ package, or a chalice.py (or compiled chalice module) that the runtime's package would hide
    clash = sorted(entry.arcname for entry in app_entries
                   if entry.arcname.split("/", 1)[0] == FRAMEWORK or entry.arcname.split(".", 1)[0] == FRAMEWORK)
    if clash:
        raise ProjectError(f"the app has its own {clash[0]}, where Chalice's runtime goes in the function zip\n"
                           f"  rename the app's {clash[0].split('/', 1)[0]} (or remove it: lambda-tasks adds Chalice's "
                           "runtime)")
    wanted = {name: entry for entry in wheel_entries(found.wheel, root="") if (name := entry.arcname) in RUNTIME_FILES}
    missing = [name for name in RUNTIME_FILES if name not in wanted]
    if missing:
        raise ProjectError(f"{found.wheel.name} has no {missing[0]}: it is not a Chalice release lambda-tasks "
                           "knows\n  pin a chalice release (chalice_version, or chalice==X.Y.Z in the requirements)")
    return [Entry(name, APP_UNIT, wanted[name].size, wanted[name].mode, wanted[name].source) for name in RUNTIME_FILES]


def describe(found: Runtime) -> str:
    version = found.wheel.name.split("-")[1]
    line = f"chalice: the app uses Chalice; the function zip gets its runtime (chalice/__init__.py, chalice/app.py) " \
           f"from chalice {version}"
    if not found.pinned:
        line += "; the newest release was taken: pin chalice (chalice_version) so that builds repeat"
    return line


def framework_only(roots: Sequence[str] | None, environment: dict[str, str], wheels: Sequence[Path]) -> list[str]:
    """The distributions only Chalice's tool needs: chalice, and what it pulls in that nothing else the app
    asks for (``roots``, its top-level requirements) needs. ``roots`` None (a lock that does not record them):
    only chalice itself, since what the app needs cannot be told."""
    # lazy: what a Chalice build that makes something needs; a no-op build does not load it
    from ..checks.closure import check_closure, read_metadata

    metadata = [read_metadata(wheel) for wheel in wheels]
    names = {dist.key for dist in metadata}
    if FRAMEWORK not in names:
        return []
    if roots is None:
        return [FRAMEWORK]
    kept = [line for line in roots if _name(line) != FRAMEWORK]
    pulled = check_closure([FRAMEWORK], environment, metadata).needed
    unneeded = check_closure(kept, environment, metadata).extra
    return sorted(extra.name for extra in unneeded if extra.name in pulled)


def _name(line: str) -> str:
    # lazy: packaging (~25 ms) is not loaded by a no-op build
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        return canonicalize_name(Requirement(line).name)
    except InvalidRequirement:
        return ""
