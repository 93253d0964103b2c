"""The squarified treemap layout (Bruls, Huizing, van Wijk 2000): pure, no I/O.

Values are laid out in rows along the shorter side of the free space; a row grows while adding the next value
improves the worst aspect ratio in it. Written here (about 50 lines) rather than depending on the ``squarify``
package for the same algorithm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def area(self) -> float:
        return self.w * self.h


def squarify(values: Sequence[float], box: Rect) -> list[Rect]:
    """One rectangle per value, in the order given, tiling ``box``; each area proportional to its value.

    Give the values sorted largest first for the squarest result. Zero and negative values get empty
    rectangles (at the box's corner) so that the result still lines up with ``values``.
    """
    total = sum(v for v in values if v > 0)
    out = [Rect(box.x, box.y, 0.0, 0.0) for _ in values]
    if total <= 0 or box.w <= 0 or box.h <= 0:
        return out
    scale = box.area / total
    todo = [(i, v * scale) for i, v in enumerate(values) if v > 0]
    free = box
    while todo:
        side = min(free.w, free.h)
        row = [todo[0]]
        rest = todo[1:]
        while rest and _worst([a for _, a in [*row, rest[0]]], side) <= _worst([a for _, a in row], side):
            row.append(rest.pop(0))
        todo = rest
        free = _place(row, free, out, last=not todo)
    return out


def _worst(areas: Sequence[float], side: float) -> float:
    """The largest aspect ratio in a row of ``areas`` laid along a side of length ``side``."""
    total = sum(areas)
    return max(max(side * side * a / (total * total), total * total / (side * side * a)) for a in areas)


def _place(row: Sequence[tuple[int, float]], free: Rect, out: list[Rect], last: bool) -> Rect:
    """Lay ``row`` along the shorter side of ``free``; return the space left."""
    total = sum(a for _, a in row)
    if free.w >= free.h:  # a column on the left
        width = free.w if last else total / free.h
        y = free.y
        for index, area in row:
            height = area / width if width else 0.0
            out[index] = Rect(free.x, y, width, height)
            y += height
        return Rect(free.x + width, free.y, free.w - width, free.h)
    height = free.h if last else total / free.w  # a row on top
    x = free.x
    for index, area in row:
        width = area / height if height else 0.0
        out[index] = Rect(x, free.y, width, height)
        x += width
    return Rect(free.x, free.y + height, free.w, free.h - height)
