"""What AWS would refuse, refused first (aws/validate.py): each rule with good and bad values, the collected
report, and through the real command against moto that nothing is built or published before the refusal."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from aws_helpers import REGION, FakeBuild, deploy_problems, zip_bytes
from conftest import offline_pyproject
from factory import make_project, make_wheel

from lambda_tasks import commands
from lambda_tasks import lambda_values as values
from lambda_tasks.config import load_settings
from lambda_tasks.deploy import preflight
from lambda_tasks.errors import DeployError
from lambda_tasks.report import Reporter

BIN = Path(sys.executable).parent

# ---------------------------------------------------------------- one rule at a time


@pytest.mark.parametrize("value", [128, 129, 1024, 10_240])
def test_memory_good(value) -> None:
    assert values.memory_problem(value) is None


@pytest.mark.parametrize("value", [0, 127, 10_241, -1, True, "512", 512.0, None])
def test_memory_bad(value) -> None:
    problem = values.memory_problem(value)
    assert problem and "128 to 10240 MB" in problem and repr(value) in problem


@pytest.mark.parametrize(("value", "ok"), [(1, True), (900, True), (60, True), (0, False), (901, False),
                                           (99_999, False), (False, False)])
def test_timeout(value, ok) -> None:
    assert (values.timeout_problem(value) is None) is ok


@pytest.mark.parametrize(("value", "ok"), [(512, True), (10_240, True), (511, False), (10_241, False)])
def test_ephemeral_storage(value, ok) -> None:
    assert (values.ephemeral_storage_problem(value) is None) is ok


@pytest.mark.parametrize("variables", [{}, {"STAGE": "dev"}, {"ab": "1", "A_1": "", "TZ": "Europe/Paris"},
                                       {"PYTHONPATH": "/opt/x", "LANG": "C", "AWS_LAMBDA_EXEC_WRAPPER": "/opt/w"}])
def test_environment_good(variables) -> None:
    assert values.environment_problems(variables) == []


@pytest.mark.parametrize(("key", "why"), [("A", "names must match"), ("1ABC", "names must match"),
                                          ("MY-VAR", "names must match"), ("_PRIVATE", "names must match"),
                                          ("MY VAR", "names must match"), ("AWS_REGION", "set by Lambda"),
                                          ("_HANDLER", "set by Lambda"), ("AWS_LAMBDA_FUNCTION_NAME", "set by Lambda"),
                                          ("LAMBDA_TASK_ROOT", "set by Lambda"), ("AWS_SESSION_TOKEN", "set by Lambda")])
def test_environment_bad_names(key, why) -> None:
    problems = values.environment_problems({key: "value-that-is-secret"})
    assert len(problems) == 1 and why in problems[0] and "value-that-is-secret" not in problems[0]


def test_environment_size_is_the_compact_json_lambda_measures() -> None:
    # {"KEY":"xxx..."} : 2 braces + 2x2 quotes + 1 colon = 7 bytes around the key and value
    fits = {"KEY": "x" * (4096 - 7 - 3)}
    assert values.environment_bytes(fits) == 4096 and values.environment_problems(fits) == []
    over = {"KEY": "x" * (4096 - 7 - 3 + 1)}
    problems = values.environment_problems(over)
    assert len(problems) == 1 and "4097 bytes" in problems[0] and "allows 4096" in problems[0]
    assert "xxxx" not in problems[0]  # values are never printed
    assert values.environment_bytes({"K1": '"'}) == len('{"K1":"\\""}')  # escapes count, as Lambda counts them
    assert values.environment_bytes({"K1": "é"}) == len('{"K1":""}') + 2  # UTF-8 bytes


def test_environment_not_a_table_of_strings() -> None:
    assert values.environment_problems({"KEY": 1}) and values.environment_problems(["A=1"])


@pytest.mark.parametrize(("name", "ok"), [
    ("f", True), ("my-function_2", True), ("x" * 64, True), ("x" * 65, False), ("", False), ("my.function", False),
    ("my function", False), ("arn:aws:lambda:us-east-1:123456789012:function:my-fn", True),
    ("arn:aws-cn:lambda:cn-north-1:123456789012:function:f", True),
    ("arn:aws:lambda:us-east-1:1234:function:f", False), ("arn:aws:lambda:us-east-1:123456789012:function:a:b", False),
    (None, False),
])
def test_function_name(name, ok) -> None:
    assert (values.function_name_problem(name) is None) is ok


@pytest.mark.parametrize(("name", "room", "ok"), [("deps", 0, True), ("x" * 140, 0, True), ("x" * 141, 0, False),
                                                  ("x" * 137, 3, True), ("x" * 138, 3, False), ("my layer", 0, False),
                                                  ("", 0, False), ("a.b", 0, False)])
def test_layer_name(name, room, ok) -> None:
    assert (values.layer_name_problem(name, room) is None) is ok


@pytest.mark.parametrize(("arn", "ok"), [("arn:aws:lambda:eu-west-1:123456789012:layer:my-layer:3", True),
                                         ("arn:aws:lambda:eu-west-1:123456789012:layer:my-layer", False),
                                         ("arn:aws:lambda:eu-west-1:123456789012:layer:my-layer:0", False),
                                         ("arn:1", False)])
def test_layer_arn(arn, ok) -> None:
    assert (values.layer_arn_problem(arn) is None) is ok


@pytest.mark.parametrize(("name", "ok"), [("live", True), ("v2", True), ("prod-1_a", True), ("x" * 128, True),
                                          ("x" * 129, False), ("123", False), ("", False), ("my alias", False),
                                          ("$LATEST", False)])
def test_alias(name, ok) -> None:
    assert (values.alias_problem(name) is None) is ok


@pytest.mark.parametrize(("handler", "ok"), [
    ("app.handler", True), ("chalicelib.api.handler", True), ("src/app.handler", True), ("my-app.handler", True),
    ("app", False), ("app.", False), (".handler", False), ("app..handler", False), ("app.my handler", False),
    ("app.1handler", False), ("a" * 121 + ".handler", False), ("a" * 120 + ".handler", True), (None, False),
])
def test_handler(handler, ok) -> None:
    assert (values.handler_problem(handler) is None) is ok


@pytest.mark.parametrize(("arn", "ok"), [
    ("arn:aws:iam::123456789012:role/lambda-exec", True), ("arn:aws:iam::123456789012:role/service/path/r+=,.@-", True),
    ("arn:aws-us-gov:iam::123456789012:role/r", True), ("arn:aws:iam::12345:role/r", False),
    ("arn:aws:iam::123456789012:user/r", False), ("my-role", False), ("arn:role", False),
    ("arn:aws:iam::123456789012:role/", False),
])
def test_role(arn, ok) -> None:
    assert (values.role_problem(arn) is None) is ok


@pytest.mark.parametrize(("region", "ok"), [
    ("us-east-1", True), ("eu-central-2", True), ("ap-southeast-5", True), ("us-gov-west-1", True),
    ("us-iso-east-1", True), ("us-isob-east-1", True), ("cn-north-1", True), ("il-central-1", True),
    ("us-east1", False), ("US-EAST-1", False), ("useast", False), ("", False), ("us-east-1 ", False),
])
def test_region(region, ok) -> None:
    assert (values.region_problem(region) is None) is ok


@pytest.mark.parametrize(("handler", "names", "ok"), [
    ("app.handler", {"app.py"}, True),
    ("chalicelib.api.handler", {"app.py", "chalicelib/__init__.py", "chalicelib/api.py"}, True),
    ("chalicelib.handler", {"chalicelib/__init__.py"}, True),
    ("src/app.handler", {"src/app.py"}, True),
    ("app.handler", {"app.pyc"}, True),
    ("fast.handler", {"fast.cpython-312-x86_64-linux-gnu.so"}, True),
    ("mangum_app.handler", {"python/mangum_app.py"}, True),  # in a layer: Lambda imports it from /opt/python
    ("nomodule.handler", {"app.py"}, False),
    ("chalicelib.api.handler", {"chalicelib/__init__.py", "chalicelib/apis.py"}, False),
    ("app.handler", {"sub/app.py"}, False),
])
def test_handler_module_in_the_zips(handler, names, ok) -> None:
    problem = values.handler_module_problem(handler, names, roots=("", "python/"))
    assert (problem is None) is ok
    if problem:
        assert "looked for" in problem and ".py" in problem


# ---------------------------------------------------------------- collected and reported together


def settings(tmp_path: Path, **flags):
    """Settings with ``flags``; names the settings refuse at load (config._check_names) are put in afterwards, so
    that the preflight, deploy's second line, is tested on them too."""
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 1\n")
    late = {key: flags.pop(key) for key in ("layer_name", "regions", "function_name") if key in flags}
    loaded = load_settings(tmp_path, {}, {"runtime": "python3.12", **flags})
    late = {key: tuple(value) if isinstance(value, list) else value for key, value in late.items()}
    return dataclasses.replace(loaded, **late)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    s = settings(tmp_path, function_name="f", memory=0, timeout=99999,
                 environment={"AWS_REGION": "secret-value", "OK_KEY": "another-secret"})
    with pytest.raises(DeployError) as info:
        preflight.check_deploy(s.function, s.deploy, s.layers, s.package_type)
    lines = str(info.value).splitlines()
    assert lines[0] == "3 settings AWS would refuse: memory, timeout, environment" and len(lines[0]) < 160
    assert lines[1].startswith("  memory: Lambda takes 128 to 10240 MB, not 0")
    assert lines[2].startswith("  timeout: Lambda takes 1 to 900 seconds, not 99999")
    assert lines[3].startswith("  environment: AWS_REGION is set by Lambda")
    assert "secret" not in str(info.value)


def test_good_settings_pass(tmp_path: Path) -> None:
    good = settings(tmp_path, function_name="f", memory=10240, timeout=900, environment={"STAGE": "x"},
                    role="arn:aws:iam::123456789012:role/r", alias="live", regions=["eu-west-1"],
                    extra_layers=["arn:aws:lambda:eu-west-1:123456789012:layer:x:1"])
    preflight.check_deploy(good.function, good.deploy, good.layers, good.package_type)


def test_each_function_is_checked_and_named(tmp_path: Path) -> None:
    s = settings(tmp_path, functions=[{"name": "api"}, {"name": "worker", "memory": 64, "handler": "app"},
                                      {"name": "bad name", "timeout": 1000, "environment": {"X": "1"}}],
                 role="my-role", alias="123", regions=["eu-west1"], layer_name="my layer")
    problems = deploy_problems(s)
    settings_named = [p.setting for p in problems]
    assert settings_named == ["functions[worker].handler", "functions[worker].memory", "functions[bad name].name",
                              "functions[bad name].timeout", "functions[bad name].environment", "role", "alias",
                              "layer_name", "regions"]
    with pytest.raises(DeployError) as info:
        preflight.refuse(problems)
    head = str(info.value).splitlines()[0]
    assert head.startswith("9 settings AWS would refuse: functions[worker].handler") and len(head) < 160
    assert head.endswith(", ...")


def test_function_arn_in_another_region(tmp_path: Path) -> None:
    s = settings(tmp_path, function_name="arn:aws:lambda:eu-west-1:123456789012:function:f", regions=["us-east-1"])
    assert [p.detail for p in deploy_problems(s)] == ["is in eu-west-1, but regions are us-east-1"]


def test_publish_checks_layer_name_extra_layers_and_regions(tmp_path: Path) -> None:
    plain = settings(tmp_path)
    preflight.check_publish(plain.layers, plain.regions)
    bad = settings(tmp_path, layer_name="x" * 139, regions=["us-east-1", "Frankfurt"])
    with pytest.raises(DeployError, match=r"^2 settings AWS would refuse: layer_name, regions\n"):
        preflight.check_publish(bad.layers, bad.regions)


def test_manifest_checks_each_handler_against_the_built_zips(tmp_path: Path) -> None:
    build = FakeBuild(tmp_path, "proj-deps")
    build.build({"app.py": "def handler(e, c): pass\n", "chalicelib/__init__.py": "", "chalicelib/jobs.py": ""},
                [{"vendored_entry.py": ""}])
    s = build.settings(functions=[{"name": "a"}, {"name": "b", "handler": "chalicelib.jobs.run"},
                                  {"name": "c", "handler": "vendored_entry.handler"},
                                  {"name": "d", "handler": "chalicelib.missing.run"}])
    problems = preflight.manifest_problems(s.layers, build.manifest(),
                                           [spec.handler or s.handler for spec in s.function_specs()])
    assert [p.line() for p in problems] == [
        "handler: chalicelib.missing.run: module chalicelib.missing is in neither the app zip nor a layer (looked for "
        "chalicelib/missing.py or chalicelib/missing/__init__.py); check the handler and --project-dir"]


def test_commands_deploy_refuses_before_building(tmp_path: Path) -> None:
    s = settings(tmp_path, function_name="f", memory=0)
    with pytest.raises(DeployError, match="memory"):
        commands.deploy(s, reporter=Reporter(quiet=True), verify=False)
    assert not (tmp_path / "dist").exists() and not (tmp_path / "layers").exists()


def test_commands_deploy_refuses_a_handler_whose_module_is_not_built(tmp_path: Path, aws_env) -> None:
    s = settings(tmp_path, function_name="f", handler="handlers.main", regions=[REGION])
    with pytest.raises(DeployError, match=r"module handlers is in neither the app zip nor a layer"):
        commands.deploy(s, reporter=Reporter(quiet=True), verify=False)
    assert (tmp_path / "dist" / "app.zip").is_file()  # built, but nothing was asked of AWS


def test_zip_listing_helper_reads_names(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(zip_bytes({"app.py": "x", "pkg/__init__.py": ""}))
    assert preflight._zip_names(path) == {"app.py", "pkg/__init__.py"}
    assert preflight._zip_names(tmp_path / "missing.zip") is None


# ---------------------------------------------------------------- the real command, against moto


@pytest.fixture
def project(tmp_path, wheelhouse, unique_name):
    make_wheel(wheelhouse, "alpha")
    name = unique_name("val")
    root = make_project(tmp_path / name, "alpha\n", pyproject=offline_pyproject(wheelhouse, 'runtime = "python3.12"\n'))
    return root


def run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "lambda-tasks"), *args], cwd=root, capture_output=True, text=True,
                          env=dict(os.environ), timeout=300)


def layer_versions(name: str) -> list:
    return boto3.client("lambda", region_name=REGION).list_layer_versions(LayerName=name)["LayerVersions"]


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("flags", [("--memory", "0"), ("--plan", "--timeout", "99999")])
def test_deploy_refuses_before_publishing_any_layer(moto_env, project, flags) -> None:
    role = "arn:aws:iam::123456789012:role/whatever"
    result = run(project, "deploy", "--function-name", f"{project.name}-f", "--role", role, *flags)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    head = result.stderr.splitlines()[0]
    assert head == "error: 1 setting AWS would refuse: " + ("memory" if "--memory" in flags else "timeout")
    assert layer_versions(f"{project.name}-deps-1") == []
    assert not (project / "layers" / "manifest.json").exists()  # refused before the build, too
    ok = run(project, "deploy", "--function-name", f"{project.name}-f", "--role", role, "--plan")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "would publish a new version" in ok.stdout and layer_versions(f"{project.name}-deps-1") == []


@pytest.mark.e2e
@pytest.mark.slow
def test_publish_refuses_a_bad_region_before_building(moto_env, project) -> None:
    result = run(project, "publish-layer", "--region", "us-east1")
    assert result.returncode == 1 and "1 setting AWS would refuse: regions" in result.stderr
    assert "us-east-1 or eu-west-1, not 'us-east1'" in result.stderr
    assert not (project / "layers").exists()
