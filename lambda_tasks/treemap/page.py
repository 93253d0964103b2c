"""The report page: one self-contained HTML file (inline SVG and CSS, no script, nothing fetched). Pure.

Both treemaps (zipped and unzipped bytes) are drawn; two radio buttons and CSS show one. Hovering a block
shows its path and sizes (the SVG ``<title>``, which every browser shows as a tooltip). For an image the
artifacts are its layers, "zipped" means gzipped, and the bars measure against the image limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from ..report import human_bytes
from .layout import Rect, squarify
from .sizes import OVERHEAD, Artifact, Node, grouped
from .summary import Summary
from .tables import tables

WIDTH, HEIGHT = 1200, 640
#: Blocks smaller than this (px²) are not drawn, nor what is inside them: they could not be seen or hovered.
MIN_AREA = 6.0
CHAR_WIDTH = 6.6  # of the 11px sans-serif labels, for deciding whether a label fits
HUES = (210, 28, 140, 280, 0, 90, 180, 320, 50, 240)


@dataclass(frozen=True)
class Limits:
    """What the fill bars are measured against."""

    zip_bytes: int  # one zip (the function's, a layer's)
    unzipped_bytes: int  # one archive unzipped, and the function with all its layers
    extra_layers_bytes: int = 0  # layers from elsewhere (extra_layers), counted in the total
    #: a container image: no per-layer limit; ``unzipped_bytes`` is the whole image's (``image_limit``)
    image: bool = False


def render(summary: Summary, limits: Limits) -> str:
    """The whole page: the bars, the two maps (small distributions grouped), the table, the estimates, the change."""
    artifacts, title = summary.artifacts, summary.title
    total = sum(a.unzipped_bytes for a in artifacts) + limits.extra_layers_bytes
    zipped = "gzipped" if limits.image else "zipped"
    trees = [grouped(a.tree) for a in artifacts]
    maps = "".join(f'<div class="map {mode}">{_svg(trees, mode == "zipped", limits.image)}</div>'
                   for mode in ("zipped", "unzipped"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>{_CSS}</style></head><body>
<h1>{escape(title)}</h1>
{_fills(artifacts, limits, total)}
<input type="radio" name="mode" id="zipped" checked><label for="zipped">{zipped}</label>
<input type="radio" name="mode" id="unzipped"><label for="unzipped">unzipped</label>
<span class="hint">hover a block for its path and sizes; {_IMAGE_HINT if limits.image else _ZIP_HINT}</span>
<div class="maps">{maps}</div>
{tables(summary, total)}
</body></html>
"""


_ZIP_HINT = ("zipped: each file's compressed bytes, and each zip's headers and directory, so that a zip's blocks "
             "add up to its file's size, the bar's figure")
_IMAGE_HINT = ("gzipped: each layer's gzipped bytes shared among its files in proportion to their size (a gzip "
               "stream does not say which bytes are whose); the base image's layers are one block each")

_CSS = """
body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:18px;margin:0 0 8px}
.fills{display:grid;grid-template-columns:max-content 260px max-content;gap:3px 10px;align-items:center;margin:8px 0}
.bar{height:10px;background:#eee;border-radius:2px;overflow:hidden}
.bar i{display:block;height:100%;background:#4a8}
.bar i.warn{background:#d90}
.bar i.over{background:#c33}
.map{display:none;margin:8px 0}
#zipped:checked~.maps .zipped,#unzipped:checked~.maps .unzipped{display:block}
svg text{font:11px system-ui,sans-serif;fill:#111;pointer-events:none}
svg rect{stroke:#fff;stroke-width:.6}
svg g:hover>rect{stroke:#000;stroke-width:1.5}
.hint{color:#666;margin-left:12px}
table{border-collapse:collapse;margin-top:12px}
td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #eee;white-space:nowrap}
td:nth-child(-n+3),th:nth-child(-n+3){text-align:left}
td.chain,td.saving,th:nth-child(n+8){text-align:left}
td.chain,td.saving{font-size:12px;color:#444;white-space:normal;min-width:300px}
th{white-space:normal}
h2{font-size:15px;margin:16px 0 4px}
tr.total td{font-weight:600;border-bottom:2px solid #ccc}
"""


def _fills(artifacts: Sequence[Artifact], limits: Limits, total: int) -> str:
    if limits.image:
        return _image_fills(artifacts, limits, total)
    rows = []
    for artifact in artifacts:
        rows.append(_bar(f"{artifact.tree.path} zipped", artifact.zip_bytes, limits.zip_bytes))
        rows.append(_bar(f"{artifact.tree.path} unzipped", artifact.unzipped_bytes, limits.unzipped_bytes))
    extra = f" (with {human_bytes(limits.extra_layers_bytes)} of extra layers)" if limits.extra_layers_bytes else ""
    rows.append(_bar(f"total unzipped{extra}", total, limits.unzipped_bytes))
    return f'<div class="fills">{"".join(rows)}</div>'


def _image_fills(artifacts: Sequence[Artifact], limits: Limits, total: int) -> str:
    """The base's layers, ours and the whole image, uncompressed, against the image limit; the gzipped total."""
    base = [a for a in artifacts if a.base]
    ours = [a for a in artifacts if not a.base]
    gzipped = sum(a.zip_bytes for a in artifacts)
    limit = limits.unzipped_bytes
    rows = [_bar(f"base image ({_layers(len(base))}) unzipped", sum(a.unzipped_bytes for a in base), limit),
            _bar(f"ours ({_layers(len(ours))}) unzipped", sum(a.unzipped_bytes for a in ours), limit),
            _bar("image unzipped", total, limit),
            f"<span>image gzipped</span><span></span><span>{human_bytes(gzipped)} (what a registry stores)</span>"]
    return f'<div class="fills">{"".join(rows)}</div>'


def _layers(count: int) -> str:
    return f"{count} layer" if count == 1 else f"{count} layers"


def _bar(label: str, value: int, limit: int) -> str:
    share = value / limit if limit > 0 else 0.0
    level = "over" if share > 1 else "warn" if share > 0.8 else ""
    return (f"<span>{escape(label)}</span><div class=\"bar\"><i class=\"{level}\" "
            f"style=\"width:{min(share, 1) * 100:.1f}%\"></i></div>"
            f"<span>{human_bytes(value)} of {human_bytes(limit)} ({share * 100:.1f}%)</span>")


def _svg(trees: Sequence[Node], zipped: bool, image: bool) -> str:
    parts: list[str] = []
    rects = squarify([t.size(zipped) for t in trees], Rect(0, 0, WIDTH, HEIGHT))
    for tree, rect in zip(trees, rects, strict=True):
        _draw(tree, rect, 0, 0, zipped, parts, "gzipped" if image else "zipped")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
            f'height="{HEIGHT}">{"".join(parts)}</svg>')


def _draw(node: Node, rect: Rect, depth: int, hue: int, zipped: bool, parts: list[str], word: str) -> None:
    if rect.area < MIN_AREA:
        return
    light = (55, 58, 72, 84)[min(depth, 3)]
    # the zips grey, each distribution a hue of its own; a zip's headers and directory grey too
    saturation = 0 if depth == 0 or node.name == OVERHEAD else 45
    tip = f"{node.path or node.name}\n{human_bytes(node.zipped)} {word}, {human_bytes(node.unzipped)} unzipped"
    if node.files > 1:
        tip += f", {node.files} files"
    parts.append(f'<g><title>{escape(tip)}</title><rect x="{rect.x:.1f}" y="{rect.y:.1f}" width="{rect.w:.1f}" '
                 f'height="{rect.h:.1f}" fill="hsl({hue},{saturation}%,{light}%)"/>')
    header = 14.0 if node.children and rect.h > 40 and rect.w > 40 else 0.0
    label_room = rect.w - 6
    if label_room > CHAR_WIDTH * 3 and rect.h > 13:
        fits = len(node.name) * CHAR_WIDTH <= label_room
        label = node.name if fits else node.name[: int(label_room / CHAR_WIDTH) - 1] + "…"
        parts.append(f'<text x="{rect.x + 3:.1f}" y="{rect.y + 11:.1f}">{escape(label)}</text>')
    if node.children and rect.w > 8 and rect.h > 8 + header:
        inner = Rect(rect.x + 2, rect.y + 2 + header, rect.w - 4, rect.h - 4 - header)
        children = sorted((c for c in node.children if c.size(zipped) > 0), key=lambda c: -c.size(zipped))
        boxes = squarify([c.size(zipped) for c in children], inner)
        for index, (child, box) in enumerate(zip(children, boxes, strict=True)):
            _draw(child, box, depth + 1, HUES[index % len(HUES)] if depth == 0 else hue, zipped, parts, word)
    parts.append("</g>")
