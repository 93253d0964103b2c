"""The package's shape (CONTRIBUTING.md): arrows only downward, no cycle, no module over 400 lines."""

import ast
from pathlib import Path

import pytest
from radon.complexity import cc_rank, cc_visit
from radon.visitors import Class

PACKAGE = Path(__file__).resolve().parent.parent / "lambda_tasks"
SUBPACKAGES = {"sources", "resolve", "assemble", "checks", "verify", "aws", "deploy", "push", "iac", "treemap"}
#: subpackage -> the other subpackages it may import (besides the top level)
ALLOWED = {"assemble": {"sources", "resolve", "checks"}, "checks": {"sources"}, "resolve": {"sources"},
           "deploy": {"aws", "push"}, "push": {"aws"}, "iac": {"aws", "deploy"}}
#: top-level modules that may import subpackages (the entry points and the commands' orders)
ENTRY_POINTS = {"tasks", "cli", "commands", "frontend", "framework"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """The lambda_tasks modules ``path`` imports (relative imports resolved), at any depth."""
    name = _module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            module = ".".join([*base, node.module] if node.module else base)
            if node.module:
                found.add(module)
            else:
                found.update(f"{module}.{alias.name}".lstrip(".") for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lambda_tasks"):
            found.add(node.module.removeprefix("lambda_tasks").lstrip("."))
    return {module for module in found if module}


def _room(module: str) -> str:
    return module.split(".", 1)[0]


@pytest.mark.slow
def test_subpackages_import_only_the_top_level_and_what_they_are_allowed():
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        room = _room(module) if "." in module or module in SUBPACKAGES else None
        for imported in _imports(path):
            target = _room(imported)
            if target not in SUBPACKAGES or target == room:
                continue
            if room is None and module not in ENTRY_POINTS:
                bad.append(f"top-level {module} imports {imported}")
            elif room is not None and target not in ALLOWED.get(room, set()):
                bad.append(f"{module} imports {imported}")
    assert bad == []


@pytest.mark.slow
def test_no_import_cycle_between_modules():
    graph = {_module_name(path): _imports(path) for path in PACKAGE.rglob("*.py")}
    modules = set(graph)
    edges = {m: {i for i in deps if i in modules and i != m} for m, deps in graph.items()}
    # a package's __init__ may import its own modules; those may not import the package back (a cycle)
    seen: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(edges[node]):
            assert seen.get(nxt) != 1, f"import cycle: {' -> '.join([*stack, node, nxt])}"
            if nxt not in seen:
                visit(nxt, [*stack, node])
        seen[node] = 2

    for module in sorted(modules):
        if module not in seen:
            visit(module, [])


def test_no_module_over_400_lines():
    long = {_module_name(p): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}


#: the subpackages a build runs through: no function there above radon's grade C (cyclomatic complexity 20)
BUILD_PATH = ("assemble", "resolve", "sources", "checks")


def test_no_function_in_the_build_path_graded_d_or_worse():
    graded = {}
    for sub in BUILD_PATH:
        for path in sorted((PACKAGE / sub).rglob("*.py")):
            for block in cc_visit(path.read_text(encoding="utf-8")):
                for function in block.methods if isinstance(block, Class) else [block]:
                    if cc_rank(function.complexity) in "DEF":
                        graded[f"{_module_name(path)}:{function.fullname}"] = \
                            f"{cc_rank(function.complexity)} ({function.complexity})"
    assert graded == {}, "split these into smaller functions (radon cc -s -n D lambda_tasks/)"


def _continues_imports(line: str) -> bool:
    """An import, a line of a parenthesised one, or the blank line between two sections of one block."""
    return not line or line.startswith(("import ", "from ", ")")) or (line.endswith(",") and not line.startswith("#"))


def _function_imports(tree: ast.AST) -> list[int]:
    """The line of each import inside a function (at any depth), in one walk of the tree."""
    found: list[int] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)) and in_function:
                found.append(child.lineno)
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    visit(tree, False)
    return found


def _lazy_imports_without_a_reason(path: Path) -> list[str]:
    """Imports inside functions whose block does not start with a ``# lazy: <reason>`` line."""
    text = path.read_text()
    lines = text.splitlines()
    missing = []
    for lineno in _function_imports(ast.parse(text)):
        above = lineno - 2  # up over the imports of the same block (and their parenthesised names)
        while above >= 0 and _continues_imports(lines[above].strip()):
            above -= 1
        if above < 0 or not lines[above].strip().startswith("# lazy: "):
            missing.append(f"{_module_name(path)}:{lineno}")
    return missing


@pytest.mark.slow  # parses every module, as the two tests above
def test_imports_are_at_the_top_or_say_why_not():
    """Imports live at the top of modules (what a module depends on reads at a glance); the few inside functions
    are the measured heavy ones (boto3/botocore, pip, elftools) and what a no-op build must not load, each
    under a ``# lazy: <reason>`` line (docs/speed.md)."""
    missing = [where for path in sorted(PACKAGE.rglob("*.py")) for where in _lazy_imports_without_a_reason(path)]
    assert missing == []
