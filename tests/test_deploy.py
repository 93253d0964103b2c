"""deploy: pure comparison of configurations, and create/update against the shared moto server (``moto_env``)."""

from __future__ import annotations

import io
from pathlib import Path

import boto3
import pytest
from aws_helpers import REGION, CallLog, FakeBuild, create_role

from lambda_tasks.aws import clients as aws
from lambda_tasks.config import FunctionSpec
from lambda_tasks.deploy.functions import code_changed, config_changes, deploy_functions, desired_config, layer_list
from lambda_tasks.errors import AwsError, LambdaTasksError, LimitError
from lambda_tasks.report import Reporter

# ---------------------------------------------------------------- pure


def test_desired_config_falls_back_to_settings(tmp_path: Path) -> None:
    settings = FakeBuild(tmp_path).settings(memory=256, timeout=30, environment={"A": "1"}, role="arn:role")
    config = desired_config(settings.function, FunctionSpec("f", "app.h"), ["l1"])
    assert config == {"Runtime": "python3.12", "Handler": "app.h", "MemorySize": 256, "Timeout": 30,
                      "Environment": {"Variables": {"A": "1"}}, "Layers": ["l1"], "Role": "arn:role",
                      "VpcConfig": {"SubnetIds": [], "SecurityGroupIds": []}, "TracingConfig": {"Mode": "PassThrough"},
                      "EphemeralStorage": {"Size": 512}}
    own = desired_config(settings.function, FunctionSpec("g", "app.g", memory=512, timeout=5, environment={}), [])
    assert (own["MemorySize"], own["Timeout"], own["Environment"]) == (512, 5, {"Variables": {}})
    assert "Role" not in desired_config(FakeBuild(tmp_path).settings().function, FunctionSpec("f"), [])


def test_config_changes_compares_only_our_fields() -> None:
    desired = {"Runtime": "python3.12", "Handler": "app.handler", "MemorySize": 128, "Timeout": 60,
               "Environment": {"Variables": {}}, "Layers": ["arn:1", "arn:2"]}
    current = {"Runtime": "python3.12", "Handler": "app.handler", "MemorySize": 128, "Timeout": 60,
               "Layers": [{"Arn": "arn:1", "CodeSize": 1}, {"Arn": "arn:2", "CodeSize": 2}],
               "Role": "arn:someone", "TracingConfig": {"Mode": "Active"}}
    assert config_changes(current, desired) == []
    reordered = {**current, "Layers": [{"Arn": "arn:2"}, {"Arn": "arn:1"}]}
    assert config_changes(reordered, desired) == ["Layers"]  # order matters: later layers win
    assert config_changes({**current, "MemorySize": 256, "Environment": {"Variables": {"A": "1"}}}, desired) == [
        "MemorySize", "Environment"]
    assert config_changes(current, {**desired, "Role": "arn:other"}) == ["Role"]


def test_code_changed() -> None:
    assert not code_changed({"CodeSha256": "x", "Architectures": ["arm64"]}, "x", "arm64")
    assert code_changed({"CodeSha256": "y", "Architectures": ["arm64"]}, "x", "arm64")
    assert code_changed({"CodeSha256": "x", "Architectures": ["x86_64"]}, "x", "arm64")


def test_layer_list_order_and_limit(tmp_path: Path) -> None:
    extra = FakeBuild(tmp_path).settings(extra_layers=["arn:extra"]).extra_layers
    assert layer_list(extra, ["a", "b"]) == ["a", "b", "arn:extra"]
    with pytest.raises(LimitError, match="Lambda allows 5"):
        layer_list(extra, ["a", "b", "c", "d", "e"])


# ---------------------------------------------------------------- moto server (names from unique_name)


def deploy(build: FakeBuild, log: CallLog | None = None, plan: bool = False, **flags):
    out = io.StringIO()
    settings = build.settings(**flags)
    result = deploy_functions(settings.function, settings.deploy, settings.layers, build.manifest(),
                              clients=aws.Clients(on_client=log.attach if log else None),
                              reporter=Reporter(out), plan=plan, sleep=lambda _: None)
    return result, out.getvalue()


def function(name: str, region: str = REGION) -> dict:
    return boto3.client("lambda", region_name=region).get_function(FunctionName=name)["Configuration"]


def our_layers(build: FakeBuild) -> list[dict]:
    """The layers this test's build names (the shared server also holds other tests' layers)."""
    layers = boto3.client("lambda", region_name=REGION).list_layers()["Layers"]
    return [layer for layer in layers if layer["LayerName"].startswith(f"{build.layer_name}-")]


@pytest.mark.slow
def test_create_then_no_change_then_app_only_change(moto_env, unique_name, tmp_path: Path) -> None:
    role = create_role(unique_name("role"))
    fn = unique_name("f")
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [{"a.py": "a"}, {"b.py": "b"}])
    result, out = deploy(build, function_name=fn, role=role, memory=256, environment={"STAGE": "dev"})
    manifest = build.manifest()
    config = function(fn)
    assert config["CodeSha256"] == aws.code_sha256(manifest.app.sha256)
    assert [l["Arn"] for l in config["Layers"]] == [l.published[REGION] for l in manifest.layers]
    assert (config["Handler"], config["MemorySize"], config["Runtime"]) == ("app.handler", 256, "python3.12")
    assert config["Environment"]["Variables"] == {"STAGE": "dev"} and config["Architectures"] == ["x86_64"]
    assert "created" in out

    log = CallLog()
    result, out = deploy(build, log, function_name=fn, memory=256, environment={"STAGE": "dev"})
    assert not result.changed and log.mutations() == {}
    assert "Nothing changed since the last deploy" in out

    build.build({"app.py": "v2"}, [{"a.py": "a"}, {"b.py": "b"}])
    log = CallLog()
    result, out = deploy(build, log, function_name=fn, memory=256, environment={"STAGE": "dev"})
    assert log.mutations() == {"UpdateFunctionCode": 1}
    assert function(fn)["CodeSha256"] == aws.code_sha256(build.manifest().app.sha256)
    assert "updated code" in out


def test_config_and_layer_change_updates_configuration_only(moto_env, unique_name, tmp_path: Path) -> None:
    role = create_role(unique_name("role"))
    fn = unique_name("f")
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [{"a.py": "a"}, {"b.py": "b"}])
    deploy(build, function_name=fn, role=role)
    build.build({"app.py": "v1"}, [{"a.py": "a"}, {"b.py": "b2"}])
    log = CallLog()
    _result, out = deploy(build, log, function_name=fn, timeout=15)
    assert log.mutations() == {"PublishLayerVersion": 1, "UpdateFunctionConfiguration": 1}
    config = function(fn)
    assert config["Timeout"] == 15 and config["Layers"][1]["Arn"].endswith(f"{build.layer(2)}:2")
    assert "configuration (Timeout, Layers)" in out


def test_missing_role_for_new_function_is_a_clear_error(moto_env, unique_name, tmp_path: Path) -> None:
    fn = unique_name("f")
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [{"a.py": "a"}])
    with pytest.raises(LambdaTasksError, match="pass --role ARN"):
        deploy(build, function_name=fn, manage_iam_role=False)
    assert our_layers(build) == []  # refused before publishing
    with pytest.raises(AwsError, match="check --role"):
        deploy(build, function_name=fn, role="arn:aws:iam::123456789012:role/does-not-exist")


def test_no_function_name_is_a_clear_error(moto_env, unique_name, tmp_path: Path) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [])
    with pytest.raises(LambdaTasksError, match="--function-name"):
        deploy(build)


def test_several_functions_share_the_zip_and_layers(moto_env, unique_name, tmp_path: Path) -> None:
    role = create_role(unique_name("role"))
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [{"a.py": "a"}])
    api_name, worker_name = unique_name("api"), unique_name("worker")
    functions = [{"name": api_name, "handler": "app.app"},
                 {"name": worker_name, "handler": "app.worker", "memory": 1024}]
    deploy(build, role=role, functions=functions)
    api, worker = function(api_name), function(worker_name)
    assert api["CodeSha256"] == worker["CodeSha256"] and api["Layers"] == worker["Layers"]
    assert (api["Handler"], worker["Handler"], worker["MemorySize"]) == ("app.app", "app.worker", 1024)
    log = CallLog()
    result, _ = deploy(build, log, functions=functions)
    assert log.mutations() == {} and not result.changed


@pytest.mark.slow
def test_plan_changes_nothing(moto_env, unique_name, tmp_path: Path) -> None:
    role = create_role(unique_name("role"))
    fn = unique_name("f")
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [{"a.py": "a"}])
    log = CallLog()
    _result, out = deploy(build, log, plan=True, function_name=fn, role=role, publish_version=True)
    assert "would publish a new version" in out and "would create" in out and "would publish a version" in out
    assert log.mutations() == {}
    deploy(build, function_name=fn, role=role)
    build.build({"app.py": "v2"}, [{"a.py": "a"}])
    log = CallLog()
    _result, out = deploy(build, log, plan=True, function_name=fn, memory=512)
    assert "would update code and configuration (MemorySize)" in out and log.mutations() == {}
    assert function(fn)["MemorySize"] == 128


@pytest.mark.slow
def test_publish_version_and_alias_are_idempotent(moto_env, unique_name, tmp_path: Path) -> None:
    role = create_role(unique_name("role"))
    fn = unique_name("f")
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [{"a.py": "a"}])
    deploy(build, function_name=fn, role=role, alias="live")
    client = boto3.client("lambda", region_name=REGION)
    assert client.get_alias(FunctionName=fn, Name="live")["FunctionVersion"] == "1"
    log = CallLog()
    _result, out = deploy(build, log, function_name=fn, alias="live")
    assert log.mutations() == {} and "version 1 is current" in out
    build.build({"app.py": "v2"}, [{"a.py": "a"}])
    deploy(build, function_name=fn, alias="live")
    alias = client.get_alias(FunctionName=fn, Name="live")
    assert alias["FunctionVersion"] == "2"
    version = client.get_function(FunctionName=fn, Qualifier="2")["Configuration"]
    assert version["CodeSha256"] == aws.code_sha256(build.manifest().app.sha256)


def test_too_many_layers_and_total_size_are_enforced(moto_env, unique_name, tmp_path: Path) -> None:
    fn = unique_name("f")
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [{"a.py": "a"}, {"b.py": "b"}])
    with pytest.raises(LimitError, match="Lambda allows 5"):
        deploy(build, function_name=fn, extra_layers=["arn:1", "arn:2", "arn:3", "arn:4"], max_layers=1)
    with pytest.raises(LimitError, match="unzip to"):
        deploy(build, function_name=fn, unzipped_limit=3)
    assert our_layers(build) == []


@pytest.mark.slow
def test_large_app_zip_goes_through_s3(moto_env, unique_name, tmp_path: Path) -> None:
    role = create_role(unique_name("role"))
    fn, bucket = unique_name("f"), unique_name("artifacts")
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=bucket)
    build = FakeBuild(tmp_path, unique_name("deps"), settings_overrides={"layer_zip_limit": 200})
    build.build({"app.py": "x" * 3000, "big.bin": bytes(range(256)) * 20}, [{"a.py": "a"}])
    with pytest.raises(LimitError, match="app zip"):
        deploy(build, function_name=fn, role=role)
    log = CallLog()
    deploy(build, log, function_name=fn, role=role, s3_bucket=bucket)
    sha = build.manifest().app.sha256
    assert function(fn)["CodeSha256"] == aws.code_sha256(sha)
    boto3.client("s3", region_name=REGION).head_object(Bucket=bucket, Key=f"lambda-tasks/{sha}.zip")


def test_function_created_by_a_lost_request_is_updated(moto_env, unique_name, tmp_path: Path) -> None:
    """CreateFunction succeeded but its answer was lost: the re-run sees a conflict and updates instead."""
    role = create_role(unique_name("role"))
    fn = unique_name("f")
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [{"a.py": "a"}])
    client = boto3.client("lambda", region_name=REGION)
    client.create_function(FunctionName=fn, Role=role, Runtime="python3.12", Handler="old.handler",
                           Code={"ZipFile": b"PK old"})
    from lambda_tasks.deploy.functions import Deployer, FunctionStep
    from lambda_tasks.deploy.layer_publish import Publisher

    settings = build.settings(function_name=fn, role=role)
    deployer = Deployer(settings.function, settings.deploy, build.manifest(),
                        Publisher(settings.layers, aws.Clients(), Reporter(io.StringIO())), plan=False)
    step = FunctionStep(REGION, settings.function_specs()[0], {**dict(Runtime="python3.12", Handler="app.handler",
                        MemorySize=128, Timeout=60, Environment={"Variables": {}}, Layers=[], Role=role)}, "create",
                        code=True)
    deployer.apply(step)
    assert step.action == "update" and step.code and "Handler" in step.config
    assert function(fn)["Handler"] == "app.handler"
    assert function(fn)["CodeSha256"] == aws.code_sha256(build.manifest().app.sha256)
