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
    "assemble/app_pipeline.py:make_app",
    "assemble/base_image.py:_credentials_for",
    "assemble/base_image.py:base_image",
    "assemble/clean.py:artifacts",
    "assemble/clean.py:remove_artifacts",
    "assemble/image_pipeline.py:finish_image",
    "assemble/layers.py:check_total",
    "assemble/layers.py:pack_app",
    "assemble/layers.py:plan_layers",
    "assemble/layers.py:write",
    "assemble/layers.py:write_layers",
    "assemble/oci_image.py:assemble",
    "assemble/oci_image.py:check_size",
    "assemble/oci_image.py:image_config",
    "assemble/oci_image.py:plan_app_layer",
    "assemble/oci_image.py:plan_dependency_layers",
    "assemble/oci_image.py:write_layers",
    "assemble/oci_image.py:write_layout",
    "assemble/zip_pipeline.py:_write_and_commit",
    "assemble/zip_pipeline.py:finish_zip",
    "deploy/deployer.py:__init__",
    "deploy/deployer.py:check_total_size",
    "deploy/deployer.py:desired",
    "deploy/function_config.py:common_config",
    "deploy/function_config.py:desired_concurrency",
    "deploy/function_config.py:desired_config",
    "deploy/function_config.py:desired_image_config",
    "deploy/function_config.py:desired_tags",
    "deploy/function_config.py:explicit_role",
    "deploy/function_config.py:layer_list",
    "deploy/function_config.py:managed_role_name",
    "deploy/function_config.py:pick",
    "deploy/function_config.py:vpc_config",
    "deploy/functions.py:default_regions",
    "deploy/functions.py:deploy_functions",
    "deploy/functions.py:function_specs",
    "deploy/image_functions.py:deploy_image",
    "deploy/image_functions.py:desired",
    "deploy/image_functions.py:image_matrix",
    "deploy/interrupt.py:interrupted_message",
    "deploy/interrupt.py:report_interrupted",
    "deploy/layer_publish.py:__init__",
    "deploy/layer_publish.py:bucket_for",
    "deploy/layer_publish.py:check_uploadable",
    "deploy/layer_publish.py:describe",
    "deploy/layer_publish.py:inline_limit",
    "deploy/layer_publish.py:publish_layers",
    "deploy/layer_publish.py:s3_key",
    "deploy/layer_publish.py:verified_path",
    "deploy/layer_publish.py:via_s3",
    "deploy/preflight.py:check_deploy",
    "deploy/preflight.py:check_manifest",
    "deploy/preflight.py:check_publish",
    "deploy/preflight.py:deploy_problems",
    "deploy/preflight.py:manifest_problems",
    "deploy/preflight.py:publish_problems",
    "deploy/versions.py:versions",
    "framework.py:_chalice_values",
    "framework.py:app_wiring",
    "framework.py:chalice_functions",
    "framework.py:chalice_notes",
    "iac/package.py:_tokens_as_roles",
    "iac/package.py:package",
    "iac/package.py:upload_artifacts",
    "iac/templates.py:_function",
    "iac/templates.py:plan",
    "push/image_push.py:publish_image",
    "push/image_push.py:push",
    "push/image_push.py:repository_of",
    "verify/__init__.py:_lay_out_image",
    "verify/__init__.py:verify",
    "verify/app_dump.py:read_by_import",
    "verify/calls.py:_call",
    "verify/calls.py:calls_of",
    "verify/calls.py:every_call",
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
