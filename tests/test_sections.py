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
    "assemble/__init__.py:_used_cache",
    "assemble/__init__.py:build",
    "assemble/chalice_runtime.py:chalice_requirement",
    "assemble/chalice_runtime.py:runtime",
    "assemble/fingerprint.py:_settings_data",
    "assemble/fingerprint.py:app_fingerprint",
    "assemble/fingerprint.py:image_fingerprint",
    "assemble/fingerprint.py:layers_fingerprint",
    "assemble/fingerprint.py:outputs_present",
    "assemble/fingerprint.py:vendor_tree",
    "assemble/layer_pipeline.py:_excluded",
    "assemble/layer_pipeline.py:_from_cache",
    "assemble/layer_pipeline.py:_made",
    "assemble/layer_pipeline.py:_slimmed",
    "assemble/layer_pipeline.py:bill_of_materials",
    "assemble/layer_pipeline.py:make_layers",
    "assemble/plan.py:dependency_source",
    "assemble/plan.py:fingerprints",
    "assemble/plan.py:last_build",
    "assemble/wheel_resolution.py:_app_roots",
    "assemble/wheel_resolution.py:_find_links",
    "assemble/wheel_resolution.py:_roots",
    "assemble/wheel_resolution.py:_without_framework",
    "assemble/wheel_resolution.py:resolve_wheels",
    "assemble/zip_pipeline.py:_write_and_commit",
    "assemble/zip_pipeline.py:finish_zip",
    "aws/s3_cache.py:__init__",
    "aws/s3_cache.py:_download",
    "aws/s3_cache.py:_fetch",
    "aws/s3_cache.py:_put_zip",
    "aws/s3_cache.py:fetch",
    "aws/s3_cache.py:store",
    "layer_cache.py:fetch",
    "layer_cache.py:layer_path",
    "layer_cache.py:parse_record",
    "layer_cache.py:record_bytes",
    "layer_cache.py:store",
    "resolve/__init__.py:_download_with_uv",
    "resolve/__init__.py:_find_links",
    "resolve/__init__.py:download_pins",
    "resolve/__init__.py:resolution_key",
    "resolve/__init__.py:resolve",
    "resolve/chalice_wheel.py:runtime_key",
    "resolve/chalice_wheel.py:runtime_wheel",
    "resolve/installer.py:choose",
    "resolve/installer.py:configuration_key",
    "resolve/local.py:_wheel_for",
    "resolve/local.py:prepare",
    "resolve/lock_hashes.py:_cached",
    "resolve/lock_hashes.py:_download",
    "resolve/lock_hashes.py:fetch_by_hashes",
    "resolve/lockfile.py:_build",
    "resolve/lockfile.py:_fetch_by_name",
    "resolve/lockfile.py:locked_packages",
    "resolve/lockfile.py:resolve_lock",
    "resolve/pip.py:_diagnose",
    "resolve/pip.py:download",
    "resolve/pip.py:download_pins",
    "resolve/pip.py:explain_pip_failure",
    "resolve/pip.py:pip_env",
    "resolve/pylock_writer.py:_shown",
    "resolve/pylock_writer.py:_with_environment",
    "resolve/pylock_writer.py:write_pylock",
    "resolve/sdists.py:build_sdist",
    "resolve/sdists.py:build_wheel",
    "resolve/uv.py:_compile_picks",
    "resolve/uv.py:compile_lock",
    "resolve/uv.py:download",
    "resolve/uv.py:download_pins",
    "resolve/uv.py:explain_uv_failure",
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
