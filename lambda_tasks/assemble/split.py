"""Split dependency units into Lambda layers: pure, deterministic, sticky to the previous build.

A unit is a whole distribution (or one top-level ``vendor/`` entry) with its exact zipped and
unzipped sizes; a unit is never split, so every file lands in exactly one layer.

Algorithm (all orders are by size, then name, so input order never matters):

1. Checks, in this order: all units together over the unzipped budget; one unit alone over a
   layer's cap (advice: ``s3_bucket`` when only the inline zipped cap is broken); pins
   (``layer_groups``) out of range or overflowing their layer.
2. Pinned units go to their layer first. A layer named by a pin holds only the units pinned to
   it, so units that change often stay apart from the rest ("pinned apart").
3. Sticky (a previous assignment is given): each unpinned unit stays in its previous layer.
   A layer that no longer fits (a unit grew) evicts the smallest unit whose removal makes it
   fit (else the largest, and repeats), so one grown unit normally moves alone. New and
   evicted units then go first-fit-decreasing (zip bytes, ties by name) into layers 1..N,
   lowest number first; a new layer opens only when nothing has room.
4. Fresh (no previous, or the sticky result would need more than ``max_layers``): plain
   first-fit-decreasing, which minimises the layer count in practice; fitting beats
   stability. Fresh layers are then numbered to overlap the previous assignment most.
5. Gaps: a layer that became empty below a higher one is refilled from the highest unpinned
   layer above it (as many of its units as fit, smallest first; usually all of them, so
   the top layer disappears: two layers change, no hole). A hole below a pinned layer with
   nothing above to pull takes the smallest unit of a lower layer holding two or more; if
   even that is impossible the pin is an error. Trailing empty layers are dropped.

Guarantees with a previous assignment: adding a unit changes one layer (the first with room,
or a new last one); removing one changes its layer only (plus the top layer, if it refills a
hole); growing one changes its old layer and the layer it moves to. Units whose names are gone
simply disappear; previous layer numbers above ``max_layers`` or now pinned count as new.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..entries import unit_key
from ..errors import LimitError
from ..limits import MAX_LAYERS
from ..report import human_bytes
from ..targets import RUNTIME_PROVIDED

#: How many of the largest units an error lists.
LARGEST_LISTED = 10


@dataclass(frozen=True)
class Unit:
    """One indivisible piece of a layer."""

    name: str  # distribution canonical name, or "vendor/<entry>"
    zip_bytes: int  # exact bytes this unit adds to a layer zip (upper bound incl. its directory entries)
    unzipped_bytes: int


@dataclass(frozen=True)
class Budget:
    """What the layers may use, as computed by the caller."""

    max_layers: int  # 1..5
    layer_zip_bytes: int  # per layer zipped cap, already minus the zip's fixed overhead
    layer_unzipped_bytes: int  # per layer unzipped cap (262,144,000 normally)
    total_unzipped_bytes: int  # what all layers together may hold (limit - app - extra layers)
    s3: bool = False  # True when uploads go through S3 (changes the advice in errors)
    slim: bool = False  # True when slim is on already (the errors do not advise it)


class _Bin:
    """A layer being filled."""

    __slots__ = ("units", "unzipped", "zip")

    def __init__(self, units: Iterable[Unit] = ()) -> None:
        self.units: list[Unit] = []
        self.zip = self.unzipped = 0
        for unit in units:
            self.add(unit)

    def fits(self, unit: Unit, budget: Budget) -> bool:
        return (self.zip + unit.zip_bytes <= budget.layer_zip_bytes
                and self.unzipped + unit.unzipped_bytes <= budget.layer_unzipped_bytes)

    def add(self, unit: Unit) -> None:
        self.units.append(unit)
        self.zip += unit.zip_bytes
        self.unzipped += unit.unzipped_bytes

    def remove(self, unit: Unit) -> None:
        self.units.remove(unit)
        self.zip -= unit.zip_bytes
        self.unzipped -= unit.unzipped_bytes


Bins = dict[int, _Bin]


def _big_first(unit: Unit) -> tuple[int, int, str]:
    return (-unit.zip_bytes, -unit.unzipped_bytes, unit.name)


def _small_first(unit: Unit) -> tuple[int, int, str]:
    return (unit.zip_bytes, unit.unzipped_bytes, unit.name)


def pack(units: Sequence[Unit], budget: Budget,
         previous: Mapping[str, int] | None = None,
         groups: Mapping[str, int] | None = None,
         ) -> list[list[str]]:
    """Layers in order (index 0 is layer 1), each a sorted list of unit names. Deterministic:
    the same inputs give the same answer regardless of input order. Raises LimitError."""
    ordered = sorted(units, key=lambda u: u.name)
    for first, second in itertools.pairwise(ordered):
        if first.name == second.name:
            raise ValueError(f"unit {first.name!r} given twice")
    if not ordered:
        return []
    _check_sizes(ordered, budget)
    pins = _pins(ordered, groups or {}, budget)
    reserved = set(pins.values())
    free = [n for n in range(1, budget.max_layers + 1) if n not in reserved]
    pinned = _place_pins(ordered, pins, budget)
    rest = [u for u in ordered if u.name not in pins]
    bins = _sticky(rest, budget, previous, free, pinned) if previous else None
    if bins is None:
        bins, needed = _fresh(rest, budget, free, pinned, previous or {})
        if bins is None:
            raise _too_many_layers(ordered, budget, needed, bool(pins))
    _fill_holes(bins, reserved, budget, pins)
    top = max(n for n, b in bins.items() if b.units)
    return [sorted(u.name for u in bins[n].units) if n in bins else [] for n in range(1, top + 1)]


def _first_fit(units: Iterable[Unit], bins: Bins, numbers: Sequence[int], budget: Budget) -> list[Unit]:
    """First-fit-decreasing into ``numbers`` (in order); returns what did not fit."""
    left = []
    for unit in sorted(units, key=_big_first):
        for n in numbers:
            target = bins.setdefault(n, _Bin())
            if target.fits(unit, budget):
                target.add(unit)
                break
        else:
            left.append(unit)
    return left


def _copy(bins: Bins) -> Bins:
    return {n: _Bin(b.units) for n, b in bins.items()}


def _sticky(rest: list[Unit], budget: Budget, previous: Mapping[str, int],
            free: list[int], pinned: Bins) -> Bins | None:
    """Keep units where they were, evicting as little as possible; None if it needs too many layers."""
    bins = _copy(pinned)
    allowed = set(free)
    moving = [u for u in rest if previous.get(u.name) not in allowed]
    for unit in rest:
        if previous.get(unit.name) in allowed:
            bins.setdefault(previous[unit.name], _Bin()).add(unit)
    for n in sorted(allowed & bins.keys()):
        moving.extend(_evict(bins[n], budget))
    return None if _first_fit(moving, bins, free, budget) else bins


def _evict(layer: _Bin, budget: Budget) -> list[Unit]:
    """Remove units until the layer fits: the smallest single unit that suffices, else the largest."""
    evicted = []
    while layer.zip > budget.layer_zip_bytes or layer.unzipped > budget.layer_unzipped_bytes:
        over_zip = layer.zip - budget.layer_zip_bytes
        over_unzipped = layer.unzipped - budget.layer_unzipped_bytes
        enough = [u for u in layer.units if u.zip_bytes >= over_zip and u.unzipped_bytes >= over_unzipped]
        unit = min(enough, key=_small_first) if enough else min(layer.units, key=_big_first)
        layer.remove(unit)
        evicted.append(unit)
    return evicted


def _fresh(rest: list[Unit], budget: Budget, free: list[int], pinned: Bins,
           previous: Mapping[str, int]) -> tuple[Bins | None, int]:
    """First-fit-decreasing from scratch; (None, layers needed) if over ``max_layers``."""
    bins = _copy(pinned)
    beyond = range(budget.max_layers + 1, budget.max_layers + 1 + len(rest))
    _first_fit(rest, bins, [*free, *beyond], budget)
    used = sorted(n for n, b in bins.items() if b.units)
    if used and used[-1] > budget.max_layers:
        return None, len(used)
    mine = [n for n in used if n not in pinned]
    if previous and mine:  # renumber the fresh layers to overlap the previous ones most
        slots = free[:len(mine)]
        pairs = sorted(
            (-sum(u.zip_bytes for u in bins[n].units if previous.get(u.name) == slot), i, j)
            for i, n in enumerate(mine) for j, slot in enumerate(slots)
        )
        placed: dict[int, int] = {}
        for overlap, i, j in pairs:
            if overlap < 0 and i not in placed and j not in placed.values():
                placed[i] = j
        spare = iter(j for j in range(len(slots)) if j not in placed.values())
        contents = [bins.pop(n) for n in mine]
        for i, layer in enumerate(contents):
            bins[slots[placed[i] if i in placed else next(spare)]] = layer
    return bins, len(used)


def _fill_holes(bins: Bins, reserved: set[int], budget: Budget, pins: Mapping[str, int]) -> None:
    """Refill empty layers below the top one (see the module docstring)."""
    while True:
        used = sorted(n for n, b in bins.items() if b.units)
        holes = [n for n in range(1, used[-1]) if n not in used]
        if not holes:
            return
        hole = holes[0]
        target = bins.setdefault(hole, _Bin())
        for donor in [n for n in reversed(used) if n > hole and n not in reserved]:
            for unit in sorted(bins[donor].units, key=_small_first):
                if target.fits(unit, budget):
                    bins[donor].remove(unit)
                    target.add(unit)
            if target.units:
                break
        if target.units:
            continue
        for donor in [n for n in reversed(used) if n < hole and n not in reserved]:
            if len(bins[donor].units) > 1:
                unit = min(bins[donor].units, key=_small_first)
                bins[donor].remove(unit)
                target.add(unit)
                break
        else:
            above = min(n for n in reserved if n > hole)
            names = ", ".join(sorted(name for name, n in pins.items() if n == above))
            raise LimitError(
                f"layer_groups pins {names} to layer {above}, but layer {hole} below it would be empty "
                f"(too few other units to fill layers 1..{above - 1}); pin to a lower layer number"
            )


# -- checks and their messages ---------------------------------------------------------------


def _size(n: int) -> str:
    return f"{human_bytes(n)} ({n:,} bytes)"


def _largest(units: Sequence[Unit], by_zip: bool) -> str:
    key = (lambda u: (-u.zip_bytes, u.name)) if by_zip else (lambda u: (-u.unzipped_bytes, u.name))
    top = sorted(units, key=key)[:LARGEST_LISTED]
    return ", ".join(
        f"{u.name} {human_bytes(u.unzipped_bytes)} unzipped ({human_bytes(u.zip_bytes)} zipped)" for u in top
    )


def _ways(units: Sequence[Unit], *first: str, slimmed: bool, container: bool = True) -> list[str]:
    ways = list(first)
    present = [u for u in units if u.name in RUNTIME_PROVIDED]
    if present:
        names = ", ".join(u.name for u in present)
        size = human_bytes(sum(u.unzipped_bytes for u in present))
        ways.append(
            f"leave out what the Lambda runtime already provides ({names}: {size} unzipped) with "
            f"exclude_runtime_provided = true or exclude = [...]"
        )
    ways += ["drop unused extras and dependencies from requirements", *([] if slimmed else ["set slim = true"])]
    if container:
        ways.append('set package_type = "image" to ship a container image instead (up to 10 GB uncompressed)')
    return ways


def _error(headline: str, detail: str, units: Sequence[Unit], ways: list[str], by_zip: bool) -> LimitError:
    """A short first line (human sizes), then the exact figures, the largest units and the ways out below."""
    total_zip = sum(u.zip_bytes for u in units)
    total_unzipped = sum(u.unzipped_bytes for u in units)
    return LimitError(
        f"{headline}\n  {detail}\n  all layer units: {_size(total_unzipped)} unzipped, {_size(total_zip)} zipped"
        f"\n  largest: {_largest(units, by_zip)}\n  ways out:" + "".join(f"\n  - {way}" for way in ways)
    )


def _check_sizes(units: list[Unit], budget: Budget) -> None:
    """The total unzipped budget, then each unit against one layer's caps."""
    total = sum(u.unzipped_bytes for u in units)
    if total > budget.total_unzipped_bytes:
        raise _error(
            f"layers over the unzipped size limit: the dependencies need {human_bytes(total)}, "
            f"{human_bytes(budget.total_unzipped_bytes)} is left for layers",
            f"needed: {_size(total)} unzipped; left for layers: {_size(budget.total_unzipped_bytes)} (Lambda's "
            f"limit of {_size(budget.layer_unzipped_bytes)} for the function and all its layers unzipped, minus "
            f"the function zip and extra_layers)",
            units, _ways(units, slimmed=budget.slim), by_zip=False,
        )
    for unit in sorted(units, key=_big_first):
        if unit.unzipped_bytes > budget.layer_unzipped_bytes:
            raise _error(
                f"{unit.name} alone is {human_bytes(unit.unzipped_bytes)} unzipped, over the "
                f"{human_bytes(budget.layer_unzipped_bytes)} one layer may hold: it cannot fit in any layer",
                f"{unit.name}: {_size(unit.unzipped_bytes)} unzipped; one layer's limit: "
                f"{_size(budget.layer_unzipped_bytes)}",
                units, _ways(units, slimmed=budget.slim), by_zip=False,
            )
    for unit in sorted(units, key=_big_first):
        if unit.zip_bytes > budget.layer_zip_bytes:
            detail = (f"{unit.name}: {_size(unit.zip_bytes)} zipped; the per-layer zipped cap: "
                      f"{_size(budget.layer_zip_bytes)}")
            if budget.s3:
                headline = (f"{unit.name} alone is {human_bytes(unit.zip_bytes)} zipped, over the per-layer cap of "
                            f"{human_bytes(budget.layer_zip_bytes)} even through S3: it cannot fit in any layer")
                ways = _ways(units, slimmed=budget.slim)
            else:
                headline = (f"{unit.name} alone is {human_bytes(unit.zip_bytes)} zipped, over the "
                            f"{human_bytes(budget.layer_zip_bytes)} cap of a zip uploaded inline: it needs s3_bucket")
                ways = _ways(units, "set s3_bucket so layers upload through S3, which lifts the zipped cap",
                             slimmed=budget.slim)
            raise _error(headline, detail, units, ways, by_zip=True)


def _pins(units: list[Unit], groups: Mapping[str, int], budget: Budget) -> dict[str, int]:
    """unit name -> pinned layer for the units present; out-of-range pins are errors."""
    wanted = {unit_key(k): v for k, v in sorted(groups.items())}
    pins = {}
    for unit in units:
        layer = wanted.get(unit_key(unit.name))
        if layer is None:
            continue
        if not 1 <= layer <= budget.max_layers:
            raise LimitError(
                f"layer_groups pins {unit.name} to layer {layer}, but only layers 1..{budget.max_layers} may "
                f"be used\n  Lambda allows {MAX_LAYERS} per function, minus extra_layers; pin it to one of those"
            )
        pins[unit.name] = layer
    return pins


def _place_pins(units: list[Unit], pins: Mapping[str, int], budget: Budget) -> Bins:
    bins: Bins = {}
    for unit in sorted((u for u in units if u.name in pins), key=_big_first):
        layer = pins[unit.name]
        target = bins.setdefault(layer, _Bin())
        if not target.fits(unit, budget):
            zipped = target.zip + unit.zip_bytes > budget.layer_zip_bytes
            size, cap = ((target.zip + unit.zip_bytes, budget.layer_zip_bytes) if zipped
                         else (target.unzipped + unit.unzipped_bytes, budget.layer_unzipped_bytes))
            kind = "zipped" if zipped else "unzipped"
            others = ", ".join(sorted(u.name for u in target.units))
            raise LimitError(
                f"layer_groups pins {unit.name} to layer {layer}, which would then hold {human_bytes(size)} {kind}, "
                f"over the cap of {human_bytes(cap)}\n  layer {layer}: {_size(size)} {kind}; the per-layer cap: "
                f"{_size(cap)}; also pinned there: {others}\n  pin {unit.name} to another layer or remove its pin"
            )
        target.add(unit)
    return bins


def _too_many_layers(units: list[Unit], budget: Budget, needed: int, pinned: bool) -> LimitError:
    first = []
    if not budget.s3:
        first.append("set s3_bucket so layers upload through S3, which allows larger layer zips")
    if budget.max_layers < MAX_LAYERS:
        first.append("attach fewer extra_layers")
    if pinned:
        first.append("remove layer_groups pins that keep units apart")
    return _error(
        f"the dependencies need {needed} layers of at most {human_bytes(budget.layer_zip_bytes)} zipped each, "
        f"but only {budget.max_layers} may be used",
        f"each layer: at most {_size(budget.layer_zip_bytes)} zipped; Lambda allows {MAX_LAYERS} layers per "
        f"function, minus extra_layers: a limit of {_size(budget.max_layers * budget.layer_zip_bytes)} zipped",
        units, _ways(units, *first, slimmed=budget.slim), by_zip=True,
    )
