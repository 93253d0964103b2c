"""``invoke clean``: remove the artifacts the last build wrote, as its manifest names them, and nothing else."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

from ..manifest import Manifest
from ..sections import AppSettings, Where

#: Files lambda-tasks writes beside the manifest that the manifest does not list: the size report and the
#: templates of ``invoke package`` (aws/templates.py FILE_NAMES; build may not import aws).
BESIDE_MANIFEST = ("report.html", "previous-build.json", "cloudformation.json", "template.json", "lambda.tf.json")


@dataclass(frozen=True)
class Removal:
    path: Path
    size: int


def artifacts(settings: Where, manifest: Manifest) -> tuple[list[Removal], list[str]]:
    """The files to remove (each a regular file inside the output directory) and why others are kept."""
    root = settings.output_dir.resolve()
    named = [manifest.app.path, *(layer.path for layer in manifest.layers)]
    if manifest.bill_of_materials is not None:
        named.append(manifest.bill_of_materials.path)
    paths = [settings.output_dir / name for name in named]
    paths += [settings.layers_path / name for name in BESIDE_MANIFEST]
    paths.append(settings.manifest_path)  # last: an interrupted clean can run again
    found: list[Removal] = []
    kept: list[str] = []
    for path in dict.fromkeys(paths):
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        shown = _shown(path, root)
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
            kept.append(f"{shown}: not a regular file (a link?), left alone")
        elif not path.resolve().is_relative_to(root):
            kept.append(f"{shown}: outside {root}, left alone")
        else:
            found.append(Removal(path, info.st_size))
    return found, kept


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def remove_artifacts(settings: AppSettings, removals: list[Removal]) -> int:
    """Unlink them, then dist/ (the app zip's directory) when that leaves it empty; the bytes freed."""
    freed = 0
    for removal in removals:
        removal.path.unlink(missing_ok=True)
        freed += removal.size
    folder = settings.app_zip_path.parent
    if folder.resolve() != settings.output_dir.resolve() and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
    return freed
