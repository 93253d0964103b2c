"""The app's own code: app.py, chalicelib/ and the ``app_paths`` setting, as project paths; and the check that
every module of the project the app imports ships with it.
"""

from __future__ import annotations

import ast
import re
import sys
import zipfile
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

from ..entries import APP_UNIT, LAYER_PREFIX, Entry
from ..errors import ProjectError, SettingsError
from ..project_paths import ProjectPath, find, too_deep
from . import tree
from .collect import file_entry
from .zip_names import member_names

#: Directories at the project's top that hold no app code (outputs, environments, tools' caches).
_NOT_APP_CODE = frozenset({"dist", "layers", "build", "tests", "test", "venv", "env", "node_modules"})


def app_files(project_dir: Path, app_paths: Sequence[str] = (),
              outputs: Mapping[str, tuple[str, Path]] | None = None,
              warn: Callable[[str], None] = print) -> list[tuple[str, ProjectPath]]:
    """app.py, everything under chalicelib/ and under each of ``app_paths``, as (arcname, file); each root is
    checked like every file (inside the project, links resolved, a regular file or directory), and against the
    build's ``outputs`` (setting -> (its value, its path)): none may lie inside another. ``warn`` is told of the
    ``.pyc`` files left out without their source (Chalice ships them; Lambda could import them)."""
    app = find(project_dir, "app.py", "the handler module", want_dir=False)
    if app is None:
        raise ProjectError(
            f"no app.py in the project directory: the handler module must be there\n  in {project_dir}\n"
            "  point --project-dir (or project_dir) at your app"
        )
    files: dict[str, ProjectPath] = {"app.py": app}
    roots = [("chalicelib", find(project_dir, "chalicelib", "chalicelib", want_dir=True))]
    roots += [(rel, find(project_dir, rel, "app_paths entry")) for rel in app_paths]
    check_outputs([app, *(root for _, root in roots if root is not None)], outputs or {}, "the function zip")
    for rel, root in roots:
        if root is None:
            if rel == "chalicelib":
                continue
            raise ProjectError(f"app_paths names {rel}, which is not in the project\n  in {project_dir}\n"
                               "  fix the app_paths setting, or create it")
        if any(tree.is_junk(part) for part in root.rel.split("/")):
            raise ProjectError(f"app_paths names {rel}, which the function zip never ships (tools' directories, "
                               "caches, editor backups, .pyc)\n  remove it from app_paths")
        if root.is_dir:
            sourceless: list[str] = []
            files.update((f"{root.rel}/{name}", path) for name, path in tree.walk_files(root, sourceless))
            for name in sourceless:
                warn(f"{root.rel}/{name} is compiled Python without its source, left out: the function zip ships "
                     f"sources only; if the app imports it, ship its .py (else delete the .pyc)")
        else:
            files[root.rel] = root
    _check_shadowed(files, project_dir)
    return sorted(files.items())


def check_outputs(roots: Sequence[ProjectPath], outputs: Mapping[str, tuple[str, Path]], artifact: str) -> None:
    """An output inside a root that ships (``app_zip = "chalicelib/out.zip"``, ``app_paths = ["dist"]``), or a
    root inside an output, would ship the last build's output in the next one (or write over the app)."""
    for setting, (value, path) in outputs.items():
        real = path.resolve()
        for root in roots:
            if real == root.path or real.is_relative_to(root.path) or root.path.is_relative_to(real):
                raise SettingsError(
                    f"{setting} {value} and {root.rel} overlap, and {root.rel} ships in {artifact}: each build "
                    "would ship the last one's output\n"
                    f"  in {root.root}\n  move {setting} out of what ships (or {root.rel} out of {setting})")


def warn_shadowing(app_entries: Sequence[Entry], deps: Mapping[str, str], image_mode: bool,
                   warn: Callable[[str], None]) -> None:
    """The app's top-level modules that have a dependency's name (``deps``: module -> whose): in a zip, /var/task
    comes before the layers on sys.path, so the dependency is never imported; in an image both share /var/task
    (the app's files overwrite the dependency's, and a package is imported before a module of its name)."""
    apps = {name: entry.arcname.split("/", 1)[0] + ("/" if "/" in entry.arcname else "")
            for entry in app_entries if (name := _module(entry.arcname))}
    for name in sorted(apps.keys() & deps.keys()):
        where = "they share /var/task in the image" if image_mode else "/var/task comes before the layers"
        warn(f"the app's {apps[name]} has the name of {deps[name]}'s module {name}: {where}, so the app's "
             f"hides it; rename the app's {apps[name]} (unless it is meant to replace it)")


def entry_modules(dep_entries: Sequence[Entry], image_mode: bool) -> dict[str, str]:
    """The top-level modules of the layers' entries (a zip's ``python/``; an image's /var/task), with their unit."""
    deps: dict[str, str] = {}
    for entry in dep_entries:
        if image_mode or entry.arcname.startswith(LAYER_PREFIX):  # a zip's lib/ is not on sys.path
            name = _module(entry.arcname if image_mode else entry.arcname[len(LAYER_PREFIX):])
            if name:
                deps.setdefault(name, entry.unit)
    return deps


def zip_modules(layers: Sequence[tuple[str, Path]]) -> dict[str, str]:
    """The top-level modules of kept layer zips ((name, path)), with the layer's name (their central directories
    only: a layer kept since the app changed is checked too)."""
    deps: dict[str, str] = {}
    for name, path in layers:
        try:
            names = member_names(path)
        except (OSError, zipfile.BadZipFile, UnicodeDecodeError):
            continue  # kept layers were checked against the manifest; publish says what is wrong with one
        nested: dict[str, bool] = {}  # each top-level name once (a layer has thousands of members under few)
        for member in names:
            if member.startswith(LAYER_PREFIX):
                first, _, rest = member[len(LAYER_PREFIX):].partition("/")
                nested[first] = nested.get(first, False) or bool(rest)
        for first, below in nested.items():
            if module := _module(f"{first}/{below}" if below else first):
                deps.setdefault(module, f"the layer {name}")
    return deps


def _module(path: str) -> str | None:
    """The top-level module a path in a zip makes importable (None: not a module)."""
    first, _, rest = path.partition("/")
    if rest:
        name = first
    elif first.endswith(".py"):
        name = first[:-3]
    elif first.endswith((".so", ".pyd")):
        name = first.split(".", 1)[0]
    else:
        return None
    return name if name.isidentifier() and name != "__pycache__" else None


def _check_shadowed(files: Collection[str], project_dir: Path) -> None:
    """``x.py`` beside a package ``x/`` never imports: Python takes the package (app.py beside an app/ package
    in app_paths would make ``app.handler`` the package's)."""
    for arcname in sorted(files):
        if arcname.endswith("/__init__.py") and (module := arcname.removesuffix("/__init__.py") + ".py") in files:
            raise ProjectError(
                f"{module} and the package {module[:-3]}/ both ship: Python imports the package, never {module}\n"
                f"  in {project_dir}\n  rename one of them (or leave the package out of app_paths)")


def app_entries(files: Sequence[tuple[str, ProjectPath]]) -> list[Entry]:
    return [file_entry(arcname, path.path, APP_UNIT) for arcname, path in files]


def check_imports(files: Sequence[tuple[str, ProjectPath]], project_dir: Path, skip: Sequence[str] = (),
                  warn: Callable[[str], None] = print) -> None:
    """A module of the project that the app imports must ship: ``import todo`` with a ``todo/`` package (or
    ``todo.py``) beside app.py that is in neither chalicelib/ nor ``app_paths`` would fail on Lambda.

    ``skip``: top-level names that are no app code (the vendor directory). Imports inside functions and ``try``
    blocks count too (Lambda runs them sooner or later); relative imports are inside what ships. The project's
    own package in a src/ layout is a warning (``warn``): a requirement may install it."""
    shipped = {arcname.split("/", 1)[0].removesuffix(".py") for arcname, _ in files}
    for arcname, path in files:
        if not arcname.endswith(".py"):
            continue
        for name in sorted(_imports(path, arcname, warn) - shipped - set(skip) - _NOT_APP_CODE):
            where = _project_module(project_dir, name)
            if where:
                raise ProjectError(
                    f"{arcname} imports {name}, a module of the project that does not ship\n"
                    f"  {where} is in the project, but not in app.py, chalicelib/ or app_paths\n"
                    f'  add it to the app: app_paths = ["{where.rstrip("/")}"] in [tool.lambda-tasks] (pyproject.toml)'
                )
            where = None if "src" in skip else _project_module(project_dir / "src", name)
            if where:  # a src layout (uv init --package, Poetry, Hatch): the project is not installed, unless a
                # requirement names it (`-e .`), which this check cannot see
                warn(f"{arcname} imports {name}, the project's own package under src/ (src/{where}): the build "
                     "ships what the project depends on, not the project itself (unless a requirement installs "
                     f'it); ship src/ at the layer\'s top with vendor_dir = "src", or move it beside app.py with '
                     f'app_paths = ["{where.rstrip("/")}"]')


def imports_chalice(files: Sequence[tuple[str, ProjectPath]]) -> bool:
    """Whether a shipped module imports chalice (a Chalice app made by a factory in chalicelib/, which app.py's
    syntax tree does not show): Chalice's runtime must then ship, as ``chalice package`` always ships it."""
    return any(arcname.endswith(".py") and _CHALICE_IMPORT.search(path.read_bytes())
               and "chalice" in _imports(path, arcname) for arcname, path in files)


#: A line that may import chalice (not chalicelib): only such a module is parsed to be sure (a cheap look on a
#: build that makes nothing).
_CHALICE_IMPORT = re.compile(rb"(?m)^[ \t]*(?:from|import)[ \t][^\n#]*\bchalice\b")


def _imports(path: ProjectPath, arcname: str, warn: Callable[[str], None] | None = None) -> set[str]:
    """The top-level names a module imports; ``warn`` is told when it does not parse (with this host's Python:
    only the bytecode step, with the runtime's, can be sure)."""
    try:
        syntax = ast.parse(path.read_bytes(), filename=arcname)
    except (SyntaxError, ValueError) as exc:
        if warn is not None:
            line = f" (line {exc.lineno}: {exc.msg})" if isinstance(exc, SyntaxError) else ""
            here = ".".join(map(str, sys.version_info[:2]))
            warn(f"{arcname} does not parse with Python {here}{line}: an import of it would fail on Lambda; "
                 "fix it (bytecode = true checks it with the runtime's Python)")
        return set()
    except (RecursionError, MemoryError):
        raise too_deep(arcname) from None
    found: set[str] = set()
    for node in ast.walk(syntax):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".", 1)[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".", 1)[0])
    return found


def _project_module(project_dir: Path, name: str) -> str | None:
    """``name.py`` or ``name/`` when the project's top holds that module (a package: Python files inside)."""
    if not name.isidentifier() or name.startswith("."):
        return None
    if (project_dir / f"{name}.py").is_file():
        return f"{name}.py"
    package = project_dir / name
    if package.is_dir() and ((package / "__init__.py").is_file() or any(package.glob("*.py"))):
        return f"{name}/"
    return None
