"""pip's ResolutionImpossible, read: a conflict between requirements, or packages with nothing for the target.

pip says "conflicting dependencies" for both. Read from pip's own cause lines ("The user requested X",
"P 1.0 depends on X"), the two differ: a *conflict* is a package whose requesters ask for ranges that cannot
all hold (``helperdep==1.0`` from the project, ``helperdep<1`` from needsold); an *unavailable* package is one
whose ranges do meet (``pgdriver>=2.7`` from every version of sqlish), so pip found no distribution of it for
the target (no wheel for the platform, no usable source distribution) and backtracked through what asked for it.

pip 25.3 and later add "some packages in these conflicts have no matching distributions available for your
environment" and list every package of the conflict there, available or not (pip 25.3 and 26.3 list helperdep
in the case above, whose wheel is right there), and pip 23.1 to 25.2 print no such list: it is not read.
Captured outputs of each pip release, per case: tests/data/pip_messages/.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .failures import Failure

_CAUSES = re.compile(r"^The conflict is caused by:\n((?:[ \t]+\S.*\n?)+)", re.M)
_USER = re.compile(r"The user requested (\(constraint\) )?(.+)")
_DEPENDS = re.compile(r"(\S+) (\S+) depends on (.+)")
#: requester combinations tried before a package is taken to be unavailable (a conflict needs every one to fail)
_MAX_COMBINATIONS = 4096


@dataclass(frozen=True)
class Ask:
    """One of pip's cause lines: who asks for which range of a package."""

    name: str  # canonical
    requirement: str  # without its marker: "psycopg2>=2.7"
    parent: str = ""  # "sqlalchemy[postgresql]"; "" for the project's own line or a constraint
    version: str = ""  # the parent's version pip tried
    constraint: bool = False

    @property
    def side(self) -> str:
        """The requirement with who asked for it, for a message: ``helperdep<1 (from needsold 1.0)``."""
        who = f"from {self.parent} {self.version}" if self.parent else "constraint" if self.constraint else ""
        return f"{self.requirement} ({who})" if who else self.requirement


@dataclass(frozen=True)
class Impossible:
    """pip's ResolutionImpossible, classified: the packages in conflict (each with every ask for it), and the
    packages none of whose distributions fits the target, as failures naming what asked for them."""

    conflicts: tuple[tuple[Ask, ...], ...]
    unavailable: tuple[Failure, ...]


def read_causes(output: str) -> list[Ask]:
    """pip's cause lines ("The conflict is caused by:"), in pip's order; [] when there are none."""
    block = _CAUSES.search(output)
    asks = []
    for line in block.group(1).splitlines() if block else []:
        line = line.strip()
        user, depends = _USER.fullmatch(line), _DEPENDS.fullmatch(line)
        if user:
            asks.append(_ask(user.group(2), constraint=bool(user.group(1))))
        elif depends:
            asks.append(_ask(depends.group(3), depends.group(1), depends.group(2)))
    return [ask for ask in asks if ask.name]


def _ask(text: str, parent: str = "", version: str = "", constraint: bool = False) -> Ask:
    # pip prints a range of several clauses for people: "corelib!=1.29.5, <1.30.0 and >=1.29.0"
    requirement, _, marker = text.partition(";")
    text = requirement.replace(" and ", ",") + (f";{marker}" if marker else "")
    try:
        parsed = Requirement(text.strip())
    except InvalidRequirement:
        name = re.split(r"[<>=!~ ;\[(@]", text.strip(), maxsplit=1)[0]
        return Ask(canonicalize_name(name), text.split(";", 1)[0].strip(), parent, version, constraint)
    extras = f"[{','.join(sorted(parsed.extras))}]" if parsed.extras else ""
    shown = f"{parsed.name}{extras}{parsed.specifier}{f' @ {parsed.url}' if parsed.url else ''}"
    return Ask(canonicalize_name(parsed.name), shown, parent, version, constraint)


def classify(output: str, shown: str, lines: Mapping[str, str] | None = None) -> Impossible | None:
    """pip's ResolutionImpossible in ``output`` classified; None when pip printed no cause lines (no
    ResolutionImpossible, or a form this does not know). ``shown`` names the project's requirements; ``lines``
    maps a canonical name to the line that asks for it (``requirements.txt line 3``), where there is one."""
    asks = read_causes(output)
    if not asks:
        return None
    by_name: dict[str, list[Ask]] = {}
    for ask in asks:
        by_name.setdefault(ask.name, []).append(ask)
    conflicts = tuple(tuple(group) for group in by_name.values() if not _can_meet(group))
    unavailable = tuple(_unavailable(group, shown, lines or {}) for group in by_name.values() if _can_meet(group))
    return Impossible(conflicts, unavailable)


def _can_meet(asks: list[Ask]) -> bool:
    """True when one choice per requester (a parent's versions are alternatives; each line of the project and
    each constraint must hold) asks for ranges that some version could satisfy together."""
    choices: dict[str, dict[str, Ask]] = {}
    for number, ask in enumerate(asks):
        key = f"parent:{canonicalize_name(ask.parent)}" if ask.parent else f"line:{number}"
        choices.setdefault(key, {}).setdefault(ask.requirement, ask)
    for combination in itertools.islice(itertools.product(*(list(c.values()) for c in choices.values())),
                                        _MAX_COMBINATIONS):
        if _meet(combination):
            return True
    return len(choices) > 0 and _combinations(choices) > _MAX_COMBINATIONS  # too many to tell: not a conflict


def _combinations(choices: dict[str, dict[str, Ask]]) -> int:
    count = 1
    for alternatives in choices.values():
        count *= len(alternatives)
    return count


def _meet(asks: tuple[Ask, ...]) -> bool:
    """True when some version satisfies every ask (probed at, just above and just below each bound)."""
    urls = {ask.requirement.split(" @ ", 1)[1] for ask in asks if " @ " in ask.requirement}
    if len(urls) > 1:
        return False
    specifiers = []
    for ask in asks:
        text = ask.requirement.split(" @ ", 1)[0]
        text = re.sub(r"^[^<>=!~]*", "", text)  # the name and extras
        try:
            specifiers.append(SpecifierSet(text))
        except InvalidSpecifier:
            return False  # a range this cannot read: pip's own word for it (a conflict), with pip's lines
    probes: set[str] = {"0", "999999"}
    for specifier in (one for specifiers_ in specifiers for one in specifiers_):
        probes.add(specifier.version)
        probes |= _around(specifier.version.removesuffix(".*"))
    return any(all(specifier.contains(probe, prereleases=True) for specifier in specifiers) for probe in probes)


def _around(text: str) -> set[str]:
    """Versions just above and just below ``text`` (``2.7`` -> ``2.7.1``, ``2.6.999``)."""
    try:
        version = Version(text)
    except InvalidVersion:
        return set()
    release = list(version.release)
    around = {".".join(map(str, [*release, 1])), f"{version.public}.post1"}
    for index in range(len(release) - 1, -1, -1):
        if release[index] > 0:
            below = [*release[:index], release[index] - 1, 999]
            around.add(".".join(map(str, below)))
            break
    return around


def _where(ask: Ask, lines: Mapping[str, str], shown: str) -> str:
    """The project's line that asks for ``ask``: by its exact requirement, else by its name, else ``shown``."""
    return lines.get(ask.requirement) or lines.get(ask.name) or shown


def _unavailable(asks: list[Ask], shown: str, lines: Mapping[str, str]) -> Failure:
    """The failure for a package none of whose distributions fits: what asked for it, with the ranges."""
    first = asks[0]
    parents = list(dict.fromkeys(ask.parent for ask in asks if ask.parent))
    details = []
    for parent in parents[:3]:
        wanted = list(dict.fromkeys(ask.requirement for ask in asks if ask.parent == parent))
        tried = len({ask.version for ask in asks if ask.parent == parent})
        each = "each depends on" if len(wanted) == 1 else "they depend on"
        details.append(f"pip tried {tried} version(s) of {parent}: {each} {' or '.join(wanted[:3])}")
    own = [ask for ask in asks if not ask.parent]
    details += [f"{'a constraint' if ask.constraint else _where(ask, lines, shown)} asks for {ask.requirement}"
                for ask in own]
    requirement = own[0].requirement if own else first.requirement
    if own or not parents:
        via = _where(own[0] if own else first, lines, shown)
    else:
        asked = dict.fromkeys(lines.get(canonicalize_name(re.sub(r"\[.*", "", parent)), shown) for parent in parents)
        via = f"{', '.join(parents[:2])}, {', '.join(list(asked)[:2])}"
    return Failure(requirement, "no wheel and no usable source distribution", tuple(details), "compiled", via)


def conflict_message(conflicts: tuple[tuple[Ask, ...], ...], shown: str, also: tuple[Failure, ...] = (),
                     lines: Mapping[str, str] | None = None) -> str:
    """The error for packages in conflict: the first line names the package and two sides, every side below;
    ``lines`` as for :func:`classify`."""
    def side(ask: Ask) -> str:
        if ask.constraint:
            return ask.side
        if not ask.parent:
            return f"{ask.requirement} ({_where(ask, lines or {}, shown)})"
        line = (lines or {}).get(canonicalize_name(re.sub(r"\[.*", "", ask.parent)))
        return f"{ask.requirement} (from {ask.parent} {ask.version}{f', {line}' if line else ''})"

    names = ", ".join(group[0].name for group in conflicts)
    first_sides = list(dict.fromkeys(side(ask) for ask in conflicts[0]))
    first = f"the requirements in {shown} conflict: {' and '.join(first_sides[:2])}"
    if len(first) >= 160:  # the two ranges without where they come from (below)
        bare = dict.fromkeys(ask.requirement for ask in conflicts[0])
        first = f"the requirements in {shown} conflict: {' and '.join(list(bare)[:2])}"
    if len(conflicts) > 1 or len(first_sides) > 2 or len(first) >= 160:
        first = f"the requirements in {shown} conflict on {names}"
    out = [first[:156] + "..." if len(first) >= 160 else first]
    for group in conflicts:
        sides = list(dict.fromkeys(side(ask) for ask in group))
        out.append(f"  {group[0].name}: {'; '.join(sides[:6])}{' ...' if len(sides) > 6 else ''}")
    out += [f"  also: {failure.named}: {failure.summary}" for failure in also]
    out.append("  the way out: loosen one of the pins, or pin another version of what asks for the other range")
    return "\n".join(out)
