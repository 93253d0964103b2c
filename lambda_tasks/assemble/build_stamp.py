"""What a build read, derived from its sections, its declaration and its manifest, for the stamp that lets the
next ``build`` decide a no-op before the settings load (``up_to_date.py``)."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from pathlib import Path

from .. import stamp_commit, up_to_date
from ..manifest import Manifest
from ..report import Reporter
from ..sections import BuildSections
from ..sources.declaration import Declaration
from .chalice_runtime import Runtime
from .output_lock import LOCK_NAME


def _paths_in(section: object) -> list[Path]:
    """Every path a section holds (a directory, a file, a list of them)."""
    found: list[Path] = []
    for field in dataclasses.fields(section):  # type: ignore[arg-type]
        value = getattr(section, field.name)
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(item, Path):
                found.append(item)
    return found


def variables(files: Sequence[Path]) -> list[str]:
    """The environment variables pip expands in ``files`` (``${NAME}``): their values are inputs too."""
    names: list[str] = []
    for path in files:
        try:
            names += re.findall(r"\$\{([A-Z0-9_]+)\}", path.read_text(errors="replace"))
        except OSError:
            continue
    return names


def up_to_date_line(manifest: Manifest, sections: BuildSections) -> str:
    """The line a no-op build prints, without its time."""
    what = manifest.image.path if manifest.image else f"{sections.app.app_zip} and {len(manifest.layers)} layer(s)"
    return f"up to date: {what} for {sections.layers.target}"


def write(sections: BuildSections, declaration: Declaration, framework: Runtime | None, manifest: Manifest,
          reporter: Reporter, prelude: Sequence[str], started_ns: int) -> None:
    """Stamp this build's inputs (only for a build run from the command line: ``up_to_date.pending``).
    ``prelude``: what the command printed before the build started; the next no-op prints it again. Not
    stamped: a command that warned, or printed something that does not come back (a lock waited for)."""
    if up_to_date.pending is None:
        return
    if reporter.warned or any(not line.startswith("names: ") for line in prelude):
        up_to_date.forget()
        return
    inputs = json.loads(declaration.local_inputs)
    if inputs.get("local") or inputs.get("directories"):  # projects, archives, a lock's directories: not stamped
        up_to_date.forget()
        return
    layers = sections.layers
    found = [path for section in (sections.sources, sections.resolve, sections.app, layers, sections.image)
             for path in _paths_in(section)]
    found += [*declaration.find_links, layers.layers_path, sections.app.app_zip_path.parent, sections.image.image_path,
              Path(__file__).parents[1]]
    roots = [path for path in found if path.is_dir()]
    paths = [path for path in found if not path.is_dir()]
    # the source, what it includes (expanded as pip does), the declaration beside a lock, absent find-links
    paths += declaration.watched
    requirements = declaration.source is not None and declaration.source.kind == "requirements"
    names = variables(declaration.watched) if requirements else []  # pip expands them in requirements files only
    if framework is not None:
        paths.append(framework.wheel)
    outputs = [layers.layers_path, sections.app.app_zip_path, sections.image.image_path]
    lines = [] if reporter.quiet else [*prelude, up_to_date_line(manifest, sections)]
    # what ships whole, walked with only what the build skips there left out (a node_modules/ in chalicelib/ ships)
    sources = sections.sources
    shipped = [sources.project_dir / name for name in ("chalicelib", *sources.app_paths)] + [sources.vendor_path]
    stamp_commit.record(layers.layers_path, roots, paths, names, lines, started_ns, outputs,
                      [path for path in shipped if path.is_dir()], sources.project_dir, layers.layers_path / LOCK_NAME)
