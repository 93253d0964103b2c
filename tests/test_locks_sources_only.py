"""Every dependency source is read in lambda_tasks/sources/ only: no function elsewhere opens a requirements file
or a lock file (checked on the code: a read -- open, read_text, read_bytes, tomllib/json load -- in a function
that takes a requirements or lock path, or whose expression names one). The exceptions are listed with why;
the list may only shrink."""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "lambda_tasks"
NAMES = re.compile(r"requirement|lock|pyproject|pipfile", re.I)
READS = {"open", "read_text", "read_bytes", "load", "loads"}

#: module:function -> why it may read such a file
ALLOWED = {
    "resolve/uv.py:compile_lock": "uv's own output (a pylock.toml it wrote in a temporary directory), not a source",
    "resolve/pylock_writer.py:write_pylock": "uv's own output before `invoke lock` writes it, not a source",
    "project_paths.py:read_bytes": "the boundary's bounded reader every project file goes through (sources read "
                                   "their files with it): it reads what it is given, it names no source",
}


def _reads(function: ast.AST) -> list[ast.Call]:
    found = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in READS:
                found.append(node)
    return found


def _readers() -> set[str]:
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("sources/") or relative == "config.py":  # config.py: [tool.lambda-tasks] settings
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            parameters = [a.arg for a in [*node.args.args, *node.args.kwonlyargs]]
            takes_source = any(NAMES.search(name) for name in parameters)
            for call in _reads(node):
                if takes_source or NAMES.search(ast.unparse(call)):
                    found.add(f"{relative}:{node.name}")
    return found


@pytest.mark.slow
def test_no_function_outside_sources_reads_a_dependency_source():
    assert _readers() == set(ALLOWED)
