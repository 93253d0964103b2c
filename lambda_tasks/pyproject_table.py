"""The ``[tool.lambda-tasks]`` table of a pyproject.toml, and its ``[project] name``: read once, where the settings
are loaded (config.load_settings). A table under a near-miss name (``[tool.lambda_tasks]``) is an error, since
its settings would otherwise be ignored without a word."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Any

from .errors import SettingsError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

PYPROJECT_TABLE = "lambda-tasks"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path.name} is not valid TOML: {exc}\n  in {path}") from None
    return data


def near_name(found: str, expected: str) -> bool:
    """``found`` is a near miss of ``expected`` (``lambda_tasks``, ``lambda-task``, ``Lambda-Tasks`` for
    ``lambda-tasks``): a table or key under it would be silently ignored."""
    a, b = (name.lower().replace("_", "-").replace(".", "-") for name in (found, expected))
    return found != expected and (a == b or difflib.SequenceMatcher(None, a, b).ratio() >= 0.85)


def read_pyproject(directory: Path) -> dict[str, Any]:
    """The ``[tool.lambda-tasks]`` table of ``directory/pyproject.toml``, or {}. A table of a near-miss name
    (``[tool.lambda_tasks]``) is an error: its settings would be ignored without a word."""
    path = directory / "pyproject.toml"
    if not path.is_file():
        return {}
    tools = _read_toml(path).get("tool", {})
    if not isinstance(tools, dict):
        return {}
    for name in tools:
        if near_name(name, PYPROJECT_TABLE):
            raise SettingsError(f"[tool.{name}] is not read; did you mean [tool.{PYPROJECT_TABLE}]?\n  in {path}\n"
                                f"  rename the table: its settings are ignored under this name")
    table = tools.get(PYPROJECT_TABLE, {})
    if not isinstance(table, dict):
        raise SettingsError(f"[tool.{PYPROJECT_TABLE}] in {path} must be a table")
    return table


def project_name(directory: Path) -> str | None:
    """``[project] name`` of ``directory/pyproject.toml``, if it has one."""
    path = directory / "pyproject.toml"
    if not path.is_file():
        return None
    name = _read_toml(path).get("project", {}).get("name")
    return name if isinstance(name, str) and name.strip() else None
