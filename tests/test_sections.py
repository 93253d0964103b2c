"""Each stage takes its section of the settings, never the whole object: no function below the commands
(commands.py, tasks.py, frontend.py, cli.py and config.py, which loads them) has a parameter typed ``Settings``
(checked on the code). The exceptions are listed; the list may only shrink."""

import ast
import dataclasses
import inspect
from pathlib import Path

import pytest

from lambda_tasks import config, sections

PACKAGE = Path(__file__).resolve().parent.parent / "lambda_tasks"
ABOVE = {"commands.py", "tasks.py", "frontend.py", "cli.py", "config.py"}

#: module:function that still take the whole Settings (issue 22: being moved to their sections)
ALLOWED: set[str] = {
    "assemble/__init__.py:build",
    "assemble/zip_pipeline.py:_write_and_commit",
    "assemble/zip_pipeline.py:finish_zip",
}


def _takers() -> set[str]:
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in ABOVE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
                if any(a.annotation is not None and "Settings" in ast.unparse(a.annotation).replace(
                        "Settings", "Settings ").split() for a in arguments):
                    found.add(f"{relative}:{node.name}")
    return found


def test_no_function_below_the_commands_takes_the_whole_settings():
    assert sorted(_takers()) == sorted(ALLOWED)


def test_every_setting_is_in_one_section_and_a_section_holds_only_its_fields():
    declared = {f.name for f in dataclasses.fields(config.Settings)} - {"names_from"}
    classes = [sections.Where, sections.TargetSection, sections.Uploads, sections.Shipping, sections.SourceSettings,
               sections.ResolveSettings, sections.AppSettings, sections.LayerSettings, sections.ImageSettings,
               sections.FunctionSettings, sections.DeploySettings]
    owners: dict[str, list[str]] = {}
    for cls in classes:
        for name in inspect.get_annotations(cls):
            owners.setdefault(name, []).append(cls.__name__)
    assert set(owners) == declared
    assert {name: where for name, where in owners.items() if len(where) > 1} == {}


@pytest.mark.parametrize("name", ["sources", "resolve", "app", "layers", "image", "function", "deploy"])
def test_a_section_is_a_frozen_copy_without_the_other_sections_fields(tmp_path, name):
    settings = config.load_settings(tmp_path, flags={"runtime": "python3.12", "memory": 512})
    section = getattr(settings, name)
    assert type(section) is not config.Settings
    for field in dataclasses.fields(section):
        assert getattr(section, field.name) == getattr(settings, field.name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(section, dataclasses.fields(section)[0].name, None)
    assert hasattr(section, "memory") == (name == "function")
