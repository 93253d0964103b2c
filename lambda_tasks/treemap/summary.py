"""The report's rows (one per distribution: version, sizes, chain, slimming estimates), the change since the
previous build, and their two short forms: the terminal's lines and ``--json``. Pure.

Sizes are labelled everywhere: "zipped" is a distribution's files' compressed bytes in its zip (an image
layer's gzipped bytes shared by size), "unzipped" their real sizes. An artifact's file on disk is larger than
its members' compressed bytes by the zip's local headers and central directory: said, not hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..report import human_bytes
from ..target_lock import Reason
from .bom import Shipped, chain, chain_text, step_text
from .figures import Change, Figures
from .savings import Saving, Slimming
from .sizes import OVERHEAD, Artifact

NO_BOM = ("no versions or chains: layers/pylock.toml is missing, is not the one the build recorded, or was never "
          "written (layers from the shared cache)")
#: Distributions shown one by one on the terminal; the rest are one line.
TOP = 10


@dataclass(frozen=True)
class Row:
    """One distribution (or vendor/ entry, or the app) in one artifact."""

    name: str
    version: str  # "" when the BOM has none (vendor/, the app, a build from the shared cache)
    artifact: str
    zipped: int
    unzipped: int
    files: int
    chain: tuple[Reason, ...] = ()
    reasons: int = 0  # how many reasons the BOM records (the chain follows the shortest)
    saving: Saving = field(default_factory=Saving)


@dataclass(frozen=True)
class Summary:
    title: str
    image: bool
    artifacts: tuple[Artifact, ...]
    rows: tuple[Row, ...]  # largest (unzipped) first
    rules: Slimming
    has_bom: bool
    previous: Figures | None
    changes: tuple[Change, ...]

    @property
    def unexplained(self) -> bool:
        """Distributions shown without versions or chains: the build recorded no BOM (layers from the cache)."""
        return not self.has_bom and any(r.name != "app" and not r.name.startswith("vendor/") for r in self.rows)


def rows_of(artifacts: Sequence[Artifact], shipped: Mapping[str, Shipped] | None,
            savings: Mapping[str, Saving]) -> tuple[Row, ...]:
    rows = []
    for artifact in artifacts:
        for node in artifact.tree.children:
            if node.name == OVERHEAD:
                continue
            item = (shipped or {}).get(node.name)
            rows.append(Row(node.name, item.version if item else "", artifact.tree.path, node.zipped, node.unzipped,
                            node.files, chain(node.name, shipped) if shipped else (),
                            len(item.reasons) if item else 0, savings.get(node.name, Saving())))
    return tuple(sorted(rows, key=lambda r: (-r.unzipped, r.name)))


def chain_of(row: Row) -> str:
    if row.name == "app":
        return "the project's code"
    if row.name.startswith("vendor/"):
        return "the project's vendor/ directory"
    text = chain_text(row.chain)
    return text + (f" (+{row.reasons - 1} more)" if row.reasons > 1 else "")


def _name(row: Row) -> str:
    return f"{row.name} {row.version}" if row.version else row.name


def text_lines(summary: Summary) -> list[str]:
    """The terminal's short form: each artifact, the largest distributions, the estimates, the change."""
    zipped = "gzipped" if summary.image else "zipped"
    lines = [f"{a.tree.path}: {human_bytes(a.zip_bytes)} {zipped} (file), {human_bytes(a.unzipped_bytes)} unzipped"
             for a in summary.artifacts if not a.base]
    rows = summary.rows
    if rows:
        lines.append(f"largest (unzipped; {zipped} = the files' compressed bytes in their "
                     f"{'layer' if summary.image else 'zip'}):")
        width = max(len(_name(r)) for r in rows[:TOP])
        for row in rows[:TOP]:
            lines.append(f"  {_name(row):<{width}}  {human_bytes(row.unzipped):>10} unzipped  "
                         f"{human_bytes(row.zipped):>10} {zipped}  {chain_of(row)}")
        rest = rows[TOP:]
        if rest:
            lines.append(f"  and {len(rest)} more of {human_bytes(rest[0].unzipped)} or less "
                         f"({human_bytes(sum(r.unzipped for r in rest))} unzipped in all)")
        if summary.unexplained:
            lines.append(f"  ({NO_BOM})")
    lines += slimming_lines(summary)
    lines += change_lines(summary)
    return lines


def totals(rows: Sequence[Row], image: bool) -> tuple[tuple[int, int], int | None, tuple[int, int]]:
    """slim (zipped, unzipped), strip (unzipped; None for an image: not measured), runtime (zipped, unzipped)."""
    return ((sum(r.saving.slim[0] for r in rows), sum(r.saving.slim[1] for r in rows)),
            None if image else sum(r.saving.strip or 0 for r in rows),
            (sum(r.saving.runtime[0] for r in rows), sum(r.saving.runtime[1] for r in rows)))


def _state(on: bool) -> str:
    return "on" if on else "off"


def _most(rows: Sequence[Row], saving: Callable[[Row], int], shown: int = 3) -> str:
    """" (pgdriver 29.3 KiB, ...)": the distributions that would save the most, largest first."""
    ranked = sorted(((saving(r), r.name) for r in rows if saving(r)), key=lambda item: (-item[0], item[1]))
    if not ranked:
        return ""
    named = [f"{name} {human_bytes(size)}" for size, name in ranked[:shown]]
    more = f", {len(ranked) - shown} more" if len(ranked) > shown else ""
    return f" ({', '.join(named)}{more})"


def slimming_lines(summary: Summary) -> list[str]:
    """The estimates' totals, each with the distributions that would save the most (unzipped)."""
    rules, zipped, rows = summary.rules, "gzipped" if summary.image else "zipped", summary.rows
    slim, strip, runtime = totals(rows, summary.image)
    strip_text = (f"{human_bytes(strip)} unzipped of .debug sections{_most(rows, lambda r: r.saving.strip or 0)}"
                  if strip is not None else "not estimated (an image's layers are not read for it)")
    return ["slimming would save (estimates, measured on these artifacts):",
            f"  slim ({_state(rules.slim)}): {human_bytes(slim[1])} unzipped, {human_bytes(slim[0])} {zipped}"
            + _most(rows, lambda r: r.saving.slim[1]),
            f"  strip_binaries ({_state(rules.strip_binaries)}): {strip_text}",
            f"  exclude_runtime_provided ({_state(rules.exclude_runtime_provided)}): {human_bytes(runtime[1])} "
            f"unzipped, {human_bytes(runtime[0])} {zipped}" + _most(rows, lambda r: r.saving.runtime[1], 4)]


def change_text(change: Change) -> str:
    if change.kind == "added":
        return f"+ {change.name} {change.new_version}".rstrip() + f": {human_bytes(change.new_bytes)} unzipped"
    if change.kind == "removed":
        return f"- {change.name} {change.old_version}".rstrip() + f": {human_bytes(change.old_bytes)} unzipped"
    versions = (f" {change.old_version} -> {change.new_version}" if change.old_version != change.new_version
                else f" {change.new_version}".rstrip())
    sign = "+" if change.delta >= 0 else "-"
    return (f"{'~'} {change.name}{versions}: {change.kind} {sign}{human_bytes(abs(change.delta))} "
            f"({human_bytes(change.old_bytes)} -> {human_bytes(change.new_bytes)} unzipped)")


def change_lines(summary: Summary) -> list[str]:
    previous = summary.previous
    if previous is None:
        return ["since the previous build: no figures kept (this is the first build here, or it was cleaned)"]
    head = f"since the previous build ({previous.target})"
    zipped = "gzipped" if summary.image else "zipped"
    grown = []
    for artifact in summary.artifacts:
        old = previous.artifacts.get(artifact.tree.path if not summary.image else artifact.tree.name)
        if old is not None and old != (artifact.zip_bytes, artifact.unzipped_bytes):
            grown.append(f"  {artifact.tree.path}: {human_bytes(old[0])} -> {human_bytes(artifact.zip_bytes)} "
                         f"{zipped}, {human_bytes(old[1])} -> {human_bytes(artifact.unzipped_bytes)} unzipped")
    if not summary.changes and not grown:
        return [f"{head}: no distribution changed"]
    return [f"{head}:", *grown, *(f"  {change_text(c)}" for c in summary.changes)]


def to_json(summary: Summary) -> dict[str, Any]:
    slim, strip, runtime = totals(summary.rows, summary.image)
    return {
        "artifacts": [{"path": a.tree.path, "zipped_bytes": a.zip_bytes, "unzipped_bytes": a.unzipped_bytes,
                       "members_zipped_bytes": a.tree.zipped - sum(c.zipped for c in a.tree.children
                                                                   if c.name == OVERHEAD),
                       "base": a.base} for a in summary.artifacts],
        "distributions": [{"name": r.name, "version": r.version or None, "artifact": r.artifact,
                           "zipped_bytes": r.zipped, "unzipped_bytes": r.unzipped, "files": r.files,
                           "chain": [step_text(step) for step in r.chain], "reasons": r.reasons,
                           "slimming_estimate": {"slim_unzipped_bytes": r.saving.slim[1],
                                                 "slim_zipped_bytes": r.saving.slim[0],
                                                 "strip_unzipped_bytes": r.saving.strip,
                                                 "runtime_provided_unzipped_bytes": r.saving.runtime[1],
                                                 "runtime_provided_zipped_bytes": r.saving.runtime[0]}}
                          for r in summary.rows],
        "slimming_estimate": {"slim": {"on": summary.rules.slim, "zipped_bytes": slim[0], "unzipped_bytes": slim[1]},
                              "strip_binaries": {"on": summary.rules.strip_binaries, "unzipped_bytes": strip},
                              "exclude_runtime_provided": {"on": summary.rules.exclude_runtime_provided,
                                                           "zipped_bytes": runtime[0], "unzipped_bytes": runtime[1]}},
        "previous": None if summary.previous is None else {"target": summary.previous.target},
        "changes": [{"name": c.name, "change": c.kind, "old_version": c.old_version or None,
                     "new_version": c.new_version or None, "old_unzipped_bytes": c.old_bytes,
                     "new_unzipped_bytes": c.new_bytes} for c in summary.changes],
    }
