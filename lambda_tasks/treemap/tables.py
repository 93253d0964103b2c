"""The report page's tables: every distribution (version, sizes, chain, slimming estimate), each artifact's
total as its bar shows it, what slimming would save, and the change since the previous build. Pure HTML text."""

from __future__ import annotations

from html import escape

from ..report import human_bytes
from .sizes import OVERHEAD
from .summary import NO_BOM, Row, Summary, chain_of, change_lines, change_text, slimming_lines


def tables(summary: Summary, total: int) -> str:
    return _distributions(summary, total) + _estimates(summary) + _changes(summary)


def _saving(row: Row, zipped: str) -> str:
    parts = []
    if row.saving.slim[1]:
        parts.append(f"slim: {human_bytes(row.saving.slim[1])} unzipped ({human_bytes(row.saving.slim[0])} {zipped})")
    if row.saving.strip:
        parts.append(f"strip_binaries: {human_bytes(row.saving.strip)} unzipped")
    if row.saving.runtime[1]:
        parts.append(f"exclude_runtime_provided: {human_bytes(row.saving.runtime[1])} unzipped (all of it)")
    return "; ".join(parts) or "-"


def _distributions(summary: Summary, total: int) -> str:
    zipped = "gzipped" if summary.image else "zipped"
    rows = {(row.artifact, row.name): row for row in summary.rows}
    out = [f"<h2>By distribution</h2><table><tr><th>{'layer' if summary.image else 'artifact'}</th>"
           f"<th>distribution</th><th>version</th><th>{zipped}{' (share)' if summary.image else ''}</th>"
           "<th>unzipped</th><th>files</th><th>share of total (unzipped)</th><th>pulled in by</th>"
           "<th>slimming would save (estimate)</th></tr>"]

    def share(unzipped: int) -> str:
        return f"{unzipped * 100 / total:.1f}%" if total else "-"

    for artifact in summary.artifacts:
        where = escape(artifact.tree.path)
        if artifact.base:
            out.append(f"<tr><td>{where}</td><td>(base image layer)</td><td></td>"
                       f"<td>{human_bytes(artifact.zip_bytes)}</td><td>{human_bytes(artifact.unzipped_bytes)}</td>"
                       f"<td>-</td><td>{share(artifact.unzipped_bytes)}</td><td></td><td></td></tr>")
            continue
        for node in artifact.tree.children:
            row = rows.get((artifact.tree.path, node.name))
            if row is None:  # the zip's headers and directory
                out.append(f"<tr><td>{where}</td><td>{escape(OVERHEAD)}</td><td></td>"
                           f"<td>{human_bytes(node.zipped)}</td><td>{human_bytes(node.unzipped)}</td><td>-</td>"
                           f"<td></td><td class=\"chain\">what the file holds beside its members' compressed "
                           f"bytes</td><td></td></tr>")
                continue
            out.append(f"<tr><td>{where}</td><td>{escape(row.name)}</td><td>{escape(row.version) or '-'}</td>"
                       f"<td>{human_bytes(row.zipped)}</td><td>{human_bytes(row.unzipped)}</td><td>{row.files}</td>"
                       f"<td>{share(row.unzipped)}</td><td class=\"chain\">{escape(chain_of(row))}</td>"
                       f"<td class=\"saving\">{escape(_saving(row, zipped))}</td></tr>")
        out.append(f"<tr class=\"total\"><td>{where}</td><td>the {'layer' if summary.image else 'file'} "
                   f"(as its bars show)</td><td></td><td>{human_bytes(artifact.zip_bytes)}</td>"
                   f"<td>{human_bytes(artifact.unzipped_bytes)}</td><td>{artifact.tree.files}</td>"
                   f"<td>{share(artifact.unzipped_bytes)}</td><td></td><td></td></tr>")
    out.append("</table>")
    if summary.unexplained:
        out.append(f"<p>{escape(NO_BOM[0].upper() + NO_BOM[1:])}.</p>")
    return "".join(out)


def _estimates(summary: Summary) -> str:
    head, *items = slimming_lines(summary)
    return (f"<h2>Slimming</h2><p>{escape(head)}</p><ul>"
            + "".join(f"<li>{escape(item.strip())}</li>" for item in items) + "</ul>")


def _changes(summary: Summary) -> str:
    head, *_ = change_lines(summary)
    items = "".join(f"<li class=\"{c.kind}\">{escape(change_text(c))}</li>" for c in summary.changes)
    listed = f"<ul>{items}</ul>" if items else ""
    return f"<h2>Since the previous build</h2><p>{escape(head.rstrip(':'))}</p>{listed}"
