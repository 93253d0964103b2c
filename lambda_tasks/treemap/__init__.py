"""``invoke report``: layers/report.html, a treemap of what takes the space in the built zips or image, and why
each distribution is there; its short form for the terminal and ``--json``.

layout (the squarified layout, pure) · sizes (the zips' central directories -> a tree; grouping) · image_trees
(an image's layers -> trees: the blobs streamed and checked) · bom (layers/pylock.toml read back: versions and
the chain that pulled each distribution in) · savings (what slimming would save, measured) · figures (a build's
figures, the previous build's kept, the difference) · summary (rows, terminal lines, --json) · page, tables (the
HTML, pure) · writer (reads what the manifest names, writes the page).

Empty on purpose: a build imports ``figures`` alone (to keep the previous build's figures), not the rest.
"""
