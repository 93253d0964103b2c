"""Static import check for verify: every top-level import of app.py and chalicelib/ must resolve to a file
in the artifacts (or the standard library, or the runtime's boto3 & co), and each handler must exist.

Works for any target Python version and machine: nothing is imported, files are only looked up.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..targets import RUNTIME_MODULES, Target

_CATCHES_IMPORT = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def check_static(task: Path, search: Sequence[str], target: Target, handlers: Sequence[str]) -> list[str]:
    """Problems: unresolvable top-level imports of the app's code, and handlers that are not there."""
    dirs = [Path(p) for p in search]
    problems: list[str] = []
    for path in app_sources(task):
        rel = path.relative_to(task).as_posix()
        try:
            tree = ast.parse(path.read_bytes(), filename=rel)
        except SyntaxError as exc:
            problems.append(f"{rel}:{exc.lineno} does not parse: {exc.msg}")
            continue
        package = _package_of(rel)
        for node, name in top_level_imports(tree, package):
            if name is None:
                problems.append(f"{rel}:{node.lineno} has a relative import that goes above the top of the app")
            elif not resolves(name, dirs, target):
                problems.append(f"{rel}:{node.lineno} imports {name}, which is in neither the function zip nor the "
                                f"layers (nor the standard library or the runtime's boto3)")
    for handler in handlers:
        problem = check_handler(handler, dirs, target)
        if problem:
            problems.append(problem)
    return problems


def app_sources(task: Path) -> list[Path]:
    """app.py and every .py under chalicelib/ in the unpacked function zip."""
    found = [task / "app.py"] if (task / "app.py").is_file() else []
    if (task / "chalicelib").is_dir():
        found += sorted(p for p in (task / "chalicelib").rglob("*.py") if "__pycache__" not in p.parts)
    return found


def top_level_imports(tree: ast.Module, package: str) -> Iterator[tuple[ast.stmt, str | None]]:
    """(statement, absolute module name) for each import that runs when the module is imported.

    Function bodies are skipped; so are ``if TYPE_CHECKING:`` blocks and ``try:`` bodies guarded by
    ``except ImportError`` (optional dependencies). ``from pkg import name`` yields ``pkg`` only (name may
    be an attribute); a relative import that cannot be resolved yields None.
    """
    for node in _executed(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                if node.level > len(base):  # above the top package (or a relative import in app.py)
                    yield node, None
                    continue
                base = base[: len(base) - (node.level - 1)]
                if node.module:
                    yield node, ".".join([*base, node.module])
                elif base:  # from . import a, b: a and b may be modules or names; the package must exist (once)
                    yield node, ".".join(base)
            elif node.module != "__future__":
                yield node, node.module


def _executed(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.If):
            if _is_type_checking(node.test):
                yield from _executed(node.orelse)
                continue
            yield from _executed(node.body)
            yield from _executed(node.orelse)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            guarded = any(_catches_import(handler) for handler in node.handlers)  # type: ignore[attr-defined]
            if not guarded:
                yield from _executed(node.body)  # type: ignore[attr-defined]
            yield from _executed(node.orelse)  # type: ignore[attr-defined]
            yield from _executed(node.finalbody)  # type: ignore[attr-defined]
        elif isinstance(node, (ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While, ast.ClassDef)):
            yield from _executed(node.body)
        else:
            yield node


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _catches_import(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any((isinstance(k, ast.Name) and k.id in _CATCHES_IMPORT) or
               (isinstance(k, ast.Attribute) and k.attr in _CATCHES_IMPORT) for k in kinds)


def _package_of(rel: str) -> str:
    """The package a module's relative imports start from: ``chalicelib/a.py`` -> ``chalicelib``."""
    return ".".join(rel.split("/")[:-1])


def extension_suffixes(target: Target) -> tuple[str, ...]:
    """The file name endings of extension modules the target's interpreter loads."""
    return (f".{target.extension_suffix}.so", ".abi3.so", ".so")


def module_suffixes(target: Target) -> tuple[str, ...]:
    return (".py", ".pyc", *extension_suffixes(target))


def find_module(name: str, dirs: Sequence[Path], target: Target) -> Path | None:
    """The file or package directory ``name`` (dotted) is loaded from, searching ``dirs`` like the path finder."""
    suffixes = module_suffixes(target)
    parts = name.split(".")
    search = list(dirs)
    found: Path | None = None
    for index, part in enumerate(parts):
        packages: list[Path] = []
        module: Path | None = None
        for directory in search:
            candidate = directory / part
            if (candidate / "__init__.py").is_file() or (candidate / "__init__.pyc").is_file():
                packages = [candidate]  # a regular package ends the search
                break
            file = next((directory / f"{part}{s}" for s in suffixes if (directory / f"{part}{s}").is_file()), None)
            if file is not None:
                module = file
                break
            if candidate.is_dir():
                packages.append(candidate)  # a namespace portion: keep looking for a regular one
        if module is not None:
            return module if index == len(parts) - 1 else None
        if not packages:
            return None
        found, search = packages[0], packages
    return found


def resolves(name: str, dirs: Sequence[Path], target: Target) -> bool:
    """True when ``name`` is in the artifacts, the standard library, or the runtime's own packages."""
    top = name.split(".", 1)[0]
    if find_module(top, dirs, target) is not None:
        return find_module(name, dirs, target) is not None or _is_submodule_of_compiled(top, dirs, target)
    return top in sys.stdlib_module_names or top in sys.builtin_module_names or top in RUNTIME_MODULES


def _is_submodule_of_compiled(top: str, dirs: Sequence[Path], target: Target) -> bool:
    """``import a.b`` where a is an extension module can define b at run time: do not guess."""
    found = find_module(top, dirs, target)
    return found is not None and found.suffix == ".so"


def check_handler(handler: str, dirs: Sequence[Path], target: Target) -> str | None:
    """A problem when the handler's module is missing or plainly does not define the handler."""
    module, _, function = handler.rpartition(".")
    module = module.replace("/", ".")
    if not module or not function:
        return f"handler {handler!r} is not module.function (e.g. app.handler)"
    path = find_module(module, dirs, target)
    if path is None:
        return f"handler {handler}: module {module} is in neither the function zip nor the layers"
    if path.is_dir():
        path = path / "__init__.py"
    if path.suffix != ".py" or not path.is_file():
        return None  # compiled or sourceless: the import decides
    try:
        tree = ast.parse(path.read_bytes())
    except SyntaxError as exc:
        return f"handler {handler}: {module} does not parse (line {exc.lineno}: {exc.msg})"
    if function in defined_names(tree):
        return None
    return f"handler {handler}: {module} defines no {function} at its top level"


def defined_names(tree: ast.Module) -> set[str] | frozenset[str]:
    """Names a module defines at its top level; everything when it cannot be told (star import, __getattr__)."""
    names: set[str] = set()
    for node in _all_top(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    return _EVERYTHING
                names.add(alias.asname or alias.name.split(".", 1)[0])
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    if "__getattr__" in names:
        return _EVERYTHING
    return names


def _all_top(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement run at import time, including both branches of if/try and function definitions."""
    for node in body:
        yield node
        if isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)) or type(node).__name__ == "TryStar":
            for attr in ("body", "orelse", "finalbody"):
                yield from _all_top(getattr(node, attr, []))
            for handler in getattr(node, "handlers", []):
                yield from _all_top(handler.body)


class _Everything(frozenset[str]):
    def __contains__(self, item: object) -> bool:
        return True


_EVERYTHING = _Everything()
