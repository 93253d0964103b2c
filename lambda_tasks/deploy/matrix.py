"""The deploy matrix, functions x regions (pure): which function goes to which region, the table ``--plan``
prints, and the summary of what failed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..config import FunctionSpec
from .steps import FunctionStep

Pair = tuple[str, FunctionSpec]  # (region, function)


def deploy_matrix(specs: Sequence[FunctionSpec], regions: Sequence[str]) -> list[Pair]:
    """Every (region, function) to deploy: a function's own ``regions``, else ``regions``. Region by region, in
    the order they are first named; within one, the functions in their order."""
    wanted = [(spec, tuple(dict.fromkeys(spec.regions if spec.regions is not None else regions))) for spec in specs]
    order = list(dict.fromkeys([*regions, *(region for _, own in wanted for region in own)]))
    return [(region, spec) for region in order for spec, own in wanted if region in own]


def matrix_regions(pairs: Sequence[Pair]) -> list[str]:
    return list(dict.fromkeys(region for region, _ in pairs))


def label(region: str, name: str) -> str:
    return f"function {name} [{region}]"


@dataclass
class Failure:
    """One function in one region that was not deployed, and why (the error's first line)."""

    region: str
    function: str
    reason: str
    error: BaseException | None = None

    def line(self) -> str:
        return f"{label(self.region, self.function)}: failed: {self.reason}"


def short_outcome(step: FunctionStep) -> str:
    """A table cell: create, update (what), up to date."""
    if step.action == "create":
        return "create"
    if step.action == "update":
        parts = [*(["code"] if step.code else []), *(["config"] if step.config else []),
                 *(["tags"] if step.tags_set or step.tags_removed else []),
                 *(["concurrency"] if step.concurrency_action else [])]
        return f"update {'+'.join(parts)}"
    return "up to date" + (" + version" if step.version_action == "publish" else "")


def plan_table(pairs: Sequence[Pair], steps: Sequence[FunctionStep], failures: Sequence[Failure]) -> list[str]:
    """Functions down, regions across; ``-`` where a function is not deployed."""
    regions = matrix_regions(pairs)
    names = list(dict.fromkeys(spec.name for _, spec in pairs))
    cells = {(step.region, step.spec.name): short_outcome(step) for step in steps}
    cells.update({(f.region, f.function): "FAILED" for f in failures})
    wanted = {(region, spec.name) for region, spec in pairs}
    rows = [[name, *(cells.get((region, name), "?") if (region, name) in wanted else "-" for region in regions)]
            for name in names]
    header = ["function", *regions]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in [header, *rows]]


def failure_message(failures: Sequence[Failure], total: int) -> str:
    """The error of a matrix with failures: the first line names them (under 160 characters), one line each below."""
    ordered = sorted(failures, key=lambda f: (f.region, f.function))
    head = f"deploy failed for {len(ordered)} of {total} functions x regions: "
    names = ", ".join(f"{f.function} [{f.region}]" for f in ordered)
    if len(head) + len(names) > 155:
        names = names[: 150 - len(head)].rsplit(", ", 1)[0] + ", ..."
    lines = [head + names, *(f"  {f.line()}" for f in ordered),
             "  the others were deployed; running the command again retries what failed"]
    return "\n".join(lines)
