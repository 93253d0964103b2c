"""Image functions deploy as zip functions do (the shared function_config / deployer / rollout / versions code):
the whole configuration, tags, reserved concurrency, versions and the alias, several functions side by side, one
failure not stopping the others; and what only images have: the command override, ECR's one region, no layers.
Against Debian's docker-registry (the image) and moto (Lambda); the last test runs the real `invoke deploy`."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_helpers import FakeBuild, create_role, zip_sections
from conftest import AWS_REGION, IAM_ACCOUNT
from test_deploy_config import Params
from test_image_build import image_project, settings_for

from lambda_tasks import commands
from lambda_tasks.assemble import build
from lambda_tasks.aws import clients as aws
from lambda_tasks.config import FunctionSpec
from lambda_tasks.deploy.function_config import (
    common_config,
    config_changes,
    desired_config,
    desired_image_config,
    image_changed,
    package_type_problem,
)
from lambda_tasks.deploy.functions import deploy_functions
from lambda_tasks.deploy.image_functions import check_regions, deploy_image
from lambda_tasks.errors import DeployError
from lambda_tasks.lambda_values import image_override_problem
from lambda_tasks.report import Reporter

pytestmark = pytest.mark.tool("skopeo")  # conftest.need_tool: skips, or fails under CI=true
QUIET = Reporter(quiet=True)
SUBNET, GROUP = "subnet-0123abcd", "sg-0123abcd"
APP = ("import alpha\n\ndef handler(event, context):\n    return alpha.A\n\n"
       "def other(event, context):\n    return 2\n")

# ---------------------------------------------------------------- pure


def test_an_image_function_wants_what_a_zip_function_wants_but_runtime_handler_and_layers(tmp_path: Path) -> None:
    settings = FakeBuild(tmp_path).settings(xray=True, ephemeral_storage=1024, subnet_ids=[SUBNET],
                                            security_group_ids=[GROUP], memory=256, environment={"A": "1"})
    spec = FunctionSpec("f", timeout=30)
    image = desired_image_config(settings.function, spec, ["app.handler"], role="arn:managed")
    zipped = desired_config(settings.function, spec, ["arn:layer"], role="arn:managed")
    shared = common_config(settings.function, spec, "arn:managed")
    assert image == {**shared, "ImageConfig": {}}  # the handler is the image's Cmd: no override
    assert zipped == {**shared, "Runtime": "python3.12", "Handler": "app.handler", "Layers": ["arn:layer"]}
    assert shared["TracingConfig"] == {"Mode": "Active"} and shared["EphemeralStorage"] == {"Size": 1024}
    assert shared["Timeout"] == 30 and shared["Role"] == "arn:managed"
    other = desired_image_config(settings.function, FunctionSpec("g", handler="app.other"), ["app.handler"])
    assert other["ImageConfig"] == {"Command": ["app.other"]} and "Role" not in other


def test_image_config_changes_compare_only_the_command_and_read_none_as_the_cmd(tmp_path: Path) -> None:
    desired = desired_image_config(FakeBuild(tmp_path).settings().function, FunctionSpec("f"), ["app.handler"])
    deployed = {"MemorySize": 128, "Timeout": 60, "Environment": {"Variables": {}}, "PackageType": "Image",
                "VpcConfig": {"SubnetIds": [], "SecurityGroupIds": [], "VpcId": ""},
                "ImageConfigResponse": {"ImageConfig": {"Command": [], "EntryPoint": []}}}
    assert config_changes(deployed, desired) == []  # moto's empty Command, Lambda's missing one: no override
    assert config_changes({**deployed, "ImageConfigResponse": {}}, desired) == []
    overridden = {**deployed, "ImageConfigResponse": {"ImageConfig": {"Command": ["app.other"]}}}
    assert config_changes(overridden, desired) == ["ImageConfig"]  # sent as {}: back to the image's Cmd
    assert config_changes({**deployed, "MemorySize": 512}, desired) == ["MemorySize"]


def test_entry_point_and_working_directory_overrides_are_compared_and_checked(tmp_path: Path) -> None:
    settings = FakeBuild(tmp_path).settings(package_type="image", image_entry_point=["/entry.sh", "-x"],
                                            image_working_directory="/var/task")
    desired = desired_image_config(settings.function, FunctionSpec("f"), ["app.handler"])
    assert desired["ImageConfig"] == {"EntryPoint": ["/entry.sh", "-x"], "WorkingDirectory": "/var/task"}
    deployed = {"ImageConfigResponse": {"ImageConfig": {"EntryPoint": ["/entry.sh", "-x"], "Command": [],
                                                        "WorkingDirectory": "/var/task"}}}
    assert config_changes({**deployed, **{k: v for k, v in desired.items() if k != "ImageConfig"}}, desired) == []
    assert image_override_problem(["/entry.sh"], "zip") == \
        'applies only to package_type = "image" (a zip function has no entry point to override)'
    assert image_override_problem("relative/dir", "image") == "must be an absolute path of at most 1,000 characters"
    assert image_override_problem([""], "image") is not None and image_override_problem((), "zip") is None


def test_image_changed_by_uri_or_architecture_and_package_type_switches_are_refused() -> None:
    uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + "a" * 64
    current = {"Code": {"ImageUri": uri}, "Architectures": ["x86_64"]}
    assert not image_changed(current, uri, "x86_64")
    assert image_changed(current, uri, "arm64") and image_changed(current, uri.replace("a" * 64, "b" * 64), "x86_64")
    assert package_type_problem({"PackageType": "Image"}, "Image") is None
    assert package_type_problem({}, "Zip") is None  # Lambda's default
    to_image = package_type_problem({"PackageType": "Zip"}, "Image") or ""
    to_zip = package_type_problem({"PackageType": "Image"}, "Zip") or ""
    assert to_image.startswith("is a zip function; Lambda cannot change a function's package type\n")
    assert "deploy the image under a new function name" in to_image and 'package_type = "zip"' in to_image
    assert to_zip.startswith("is an image function;") and 'package_type = "image"' in to_zip


def test_regions_other_than_the_repositorys_are_refused_in_one_line() -> None:
    api, edge = FunctionSpec("api"), FunctionSpec("edge")
    check_regions("us-east-1", "r", [("us-east-1", api), ("us-east-1", edge)])
    check_regions(None, "127.0.0.1:5000/app", [("eu-west-1", api)])  # a local registry: an emulator's business
    with pytest.raises(DeployError) as caught:
        check_regions("us-east-1", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app",
                      [("us-east-1", api), ("eu-west-1", api), ("eu-west-1", edge), ("ap-south-1", edge)])
    first, *detail = str(caught.value).splitlines()
    assert first == ("cannot deploy image functions to eu-west-1, ap-south-1: the image is in ECR in us-east-1, and "
                     "Lambda pulls images only from its own region")
    assert len("error: " + first) < 152
    assert detail[:2] == ["  eu-west-1: api, edge", "  ap-south-1: edge"]
    assert detail[-1].startswith("  push the image to a repository in each of those regions")


def test_what_lambda_refuses_for_an_image_is_refused_before_building(tmp_path: Path, wheelhouse: Path) -> None:
    """moto takes any value: the checks are ours, and run before the build (nothing built, nothing pushed)."""
    root = image_project(tmp_path / "proj", wheelhouse, "127.0.0.1:9/base:1", requirements="")
    settings = settings_for(root, image_repository="127.0.0.1:9/app", role="arn:aws:iam::123456789012:role/r",
                            extra_layers=["arn:aws:lambda:us-east-1:123456789012:layer:x:1"],
                            functions=[{"name": "f", "memory": 64, "ephemeral_storage": 20480,
                                        "layers": ["arn:aws:lambda:us-east-1:123456789012:layer:y:2"]}])
    with pytest.raises(DeployError) as caught:
        commands.deploy(settings, reporter=QUIET)
    text = str(caught.value)
    assert text.splitlines()[0] == ("4 settings AWS would refuse: functions[f].memory, functions[f].ephemeral_storage, "
                                    "functions[f].layers, extra_layers")
    assert "Lambda takes 512 to 10240 MB, not 20480" in text and "Lambda takes 128 to 10240 MB, not 64" in text
    assert "an image function takes no Lambda layers" in text
    assert not (root / "dist").exists()


def test_a_zip_deploy_refuses_an_image_function(moto_env, unique_name, tmp_path: Path) -> None:
    role = create_role(unique_name("role"))
    fn = unique_name("f")
    boto3.client("lambda", region_name=AWS_REGION).create_function(
        FunctionName=fn, Role=role, PackageType="Image",
        Code={"ImageUri": f"123456789012.dkr.ecr.{AWS_REGION}.amazonaws.com/app@sha256:{'a' * 64}"})
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "def handler(e, c): pass\n"}, [])
    with pytest.raises(DeployError) as caught:
        deploy_functions(*zip_sections(build.settings(function_name=fn, role=role)), build.manifest(), reporter=QUIET)
    assert str(caught.value).startswith(f"function {fn} in {AWS_REGION} is an image function; Lambda cannot")


def test_a_region_the_ecr_repository_is_not_in_is_refused_before_building(tmp_path, wheelhouse, moto_env,
                                                                          unique_name):
    root = image_project(tmp_path / "proj", wheelhouse, "127.0.0.1:9/base:1", requirements="")
    repository = unique_name("repo")
    settings = settings_for(root, image_repository=f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{repository}",
                            role="arn:aws:iam::123456789012:role/r",
                            functions=[{"name": unique_name("api")},
                                       {"name": unique_name("edge"), "regions": ["us-east-1", "eu-west-1"]}])
    with pytest.raises(DeployError) as caught:
        commands.deploy(settings, reporter=QUIET)
    assert str(caught.value).startswith("cannot deploy image functions to eu-west-1: the image is in ECR in us-east-1")
    assert not (root / "dist").exists()  # nothing built
    ecr = boto3.client("ecr", region_name="us-east-1")
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):  # nothing pushed, not even the repository
        ecr.describe_repositories(repositoryNames=[repository])
    with pytest.raises(DeployError, match="not an Amazon ECR private repository"):
        commands.deploy(settings_for(root, image_repository="ghcr.io/someone/app", function_name="f"),
                        reporter=QUIET)


# ---------------------------------------------------------------- against moto and the local registry


def lambda_client() -> Any:
    return boto3.client("lambda", region_name=AWS_REGION)


def run(settings: Any, log: Params | None = None, plan: bool = False) -> tuple[Any, str]:
    out = io.StringIO()
    result = deploy_image(settings.function, settings.deploy, settings.layers, settings.image, build(settings, reporter=QUIET), plan=plan, reporter=Reporter(out),
                          clients=aws.Clients(on_client=log.attach if log else None), sleep=lambda _: None)
    return result, out.getvalue()


@pytest.mark.slow
def test_image_functions_get_the_whole_configuration_versions_and_alias_then_nothing_changes(
        tmp_path, wheelhouse, registry, base_image, moto_env, unique_name):
    root = image_project(tmp_path / "proj", wheelhouse, base_image, requirements="alpha\n")
    (root / "app.py").write_text(APP)
    api, worker = unique_name("api"), unique_name("worker")
    functions = [
        {"name": api, "tags": {"team": "web"}, "reserved_concurrency": 5, "xray": True, "subnet_ids": [SUBNET],
         "security_group_ids": [GROUP]},
        {"name": worker, "handler": "app.other", "memory": 1024, "timeout": 300, "ephemeral_storage": 2048,
         "environment": {"QUEUE": "jobs"}},
    ]
    flags = {"image_repository": f"{registry}/{unique_name('repo')}", "role": create_role(unique_name("role")),
             "functions": functions, "tags": {"app": "shop"}, "publish_version": True, "alias": "live",
             "max_parallel": 2}
    settings = settings_for(root, **flags)
    planned, out = run(settings, plan=True)
    assert planned.changed and f"function {api} [{AWS_REGION}]: would create" in out
    with pytest.raises(lambda_client().exceptions.ResourceNotFoundException):
        lambda_client().get_function(FunctionName=api)

    result, out = run(settings)
    digest = build(settings, reporter=QUIET).image.digest
    assert sorted(step.action for step in result.functions) == ["create", "create"]
    assert "functions x regions: 2 of 2 deployed (2 function(s) in 1 region(s), 2 at once)" in out
    a, w = (lambda_client().get_function(FunctionName=name) for name in (api, worker))
    for function in (a, w):
        assert function["Configuration"]["PackageType"] == "Image"
        assert function["Code"]["ImageUri"] == f"{flags['image_repository']}@{digest}"
    ac, wc = a["Configuration"], w["Configuration"]
    assert a["Tags"] == {"team": "web"} and w["Tags"] == {"app": "shop"}
    assert a["Concurrency"] == {"ReservedConcurrentExecutions": 5} and "Concurrency" not in w
    assert ac["TracingConfig"] == {"Mode": "Active"} and wc["TracingConfig"] == {"Mode": "PassThrough"}
    assert (ac["VpcConfig"]["SubnetIds"], ac["VpcConfig"]["SecurityGroupIds"]) == ([SUBNET], [GROUP])
    assert (wc["MemorySize"], wc["Timeout"], wc["EphemeralStorage"]) == (1024, 300, {"Size": 2048})
    assert wc["Environment"]["Variables"] == {"QUEUE": "jobs"}
    assert wc["ImageConfigResponse"]["ImageConfig"]["Command"] == ["app.other"]  # not the image's Cmd
    assert not ac["ImageConfigResponse"]["ImageConfig"].get("Command")
    for name in (api, worker):
        assert lambda_client().get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "1"

    log = Params()
    again, out = run(settings, log)
    assert not again.changed and log.mutations() == {}
    assert "Nothing changed since the last deploy: no blob pushed, no function updated" in out
    assert {step.version_action for step in again.functions} == {"keep"}

    functions = [{**functions[0], "memory": 512, "reserved_concurrency": None},
                 {**functions[1], "tags": {"app": "shop", "tier": "batch"}}]
    log = Params()
    _, out = run(settings_for(root, **{**flags, "functions": functions}), log)
    assert log.params["UpdateFunctionConfiguration"] == [{"FunctionName": api, "MemorySize": 512}]
    assert log.mutations() == {"UpdateFunctionConfiguration": 1, "DeleteFunctionConcurrency": 1, "TagResource": 1,
                               "PublishVersion": 1, "UpdateAlias": 1}  # the image is the same: no code update
    assert (f"function {api} [{AWS_REGION}]: updated configuration (MemorySize) and reserved concurrency (none); "
            "published version 2; alias live -> 2") in out
    assert f"function {worker} [{AWS_REGION}]: updated tags (tier); version 1 is current" in out


@pytest.mark.slow
def test_one_failed_image_function_does_not_stop_the_others(tmp_path, wheelhouse, registry, base_image, moto_env,
                                                            unique_name):
    root = image_project(tmp_path / "proj", wheelhouse, base_image, requirements="alpha\n")
    role = create_role(unique_name("role"))
    good, zipped = unique_name("good"), unique_name("zipped")
    lambda_client().create_function(FunctionName=zipped, Role=role, Runtime="python3.12", Handler="app.handler",
                                    Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18})
    settings = settings_for(root, image_repository=f"{registry}/{unique_name('repo')}", role=role,
                            functions=[{"name": zipped}, {"name": good}])
    with pytest.raises(DeployError) as caught:
        run(settings)
    lines = str(caught.value).splitlines()
    assert lines[0] == f"deploy failed for 1 of 2 functions x regions: {zipped} [{AWS_REGION}]"
    assert f"{zipped} [{AWS_REGION}]: failed: function {zipped} in {AWS_REGION} is a zip function" in lines[1]
    assert lambda_client().get_function(FunctionName=good)["Configuration"]["PackageType"] == "Image"


# ---------------------------------------------------------------- the real `invoke deploy`

BIN = Path(sys.executable).parent


def invoke(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "invoke"), *args], cwd=root, capture_output=True, text=True,
                          env=dict(os.environ), timeout=300)


@pytest.mark.e2e
@pytest.mark.slow
def test_invoke_deploy_an_image_with_the_whole_configuration_then_nothing_changes(
        tmp_path, wheelhouse, registry, base_image, iam_env, unique_name):
    """The real command: build, verify, push, the managed role (with the VPC policy), two functions side by side,
    each with everything a zip function takes; the second run changes nothing; a failure is named, exit code 1."""
    name, app_name = unique_name(), unique_name("app")
    repository = f"{registry}/{name}"
    functions = (f'functions = [{{name = "{name}", tags = {{team = "web"}}, reserved_concurrency = 3, xray = true, '
                 f'subnet_ids = ["{SUBNET}"], security_group_ids = ["{GROUP}"], ephemeral_storage = 4096}}, '
                 f'{{name = "{name}-other", handler = "app.other", memory = 512}}]\n')
    extra = (f'image_repository = "{repository}"\napp_name = "{app_name}"\nregions = ["{AWS_REGION}"]\n'
             f'publish_version = true\nalias = "live"\nmax_parallel = 2\ntags = {{app = "shop"}}\n{functions}'
             'image_entry_point = ["/lambda-entrypoint.sh"]\nimage_working_directory = "/var/task"\n')
    root = image_project(tmp_path / "proj", wheelhouse, base_image, requirements="alpha\n", extra=extra)
    (root / "app.py").write_text(APP)
    (root / "tasks.py").write_text("from lambda_tasks.tasks import ns\n")

    done = invoke(root, "deploy")
    assert done.returncode == 0, done.stderr + done.stdout
    assert f"role {app_name}-dev: created" in done.stdout
    assert "not applied" not in done.stdout + done.stderr  # the old image deploy's warnings are gone
    digest = json.loads((root / "layers" / "manifest.json").read_text())["image"]["digest"]
    function = lambda_client().get_function(FunctionName=name)
    config = function["Configuration"]
    assert config["PackageType"] == "Image" and function["Code"]["ImageUri"] == f"{repository}@{digest}"
    assert function["Tags"] == {"team": "web"} and function["Concurrency"] == {"ReservedConcurrentExecutions": 3}
    assert config["VpcConfig"]["SubnetIds"] == [SUBNET] and config["VpcConfig"]["SecurityGroupIds"] == [GROUP]
    assert config["TracingConfig"] == {"Mode": "Active"} and config["EphemeralStorage"] == {"Size": 4096}
    assert config["Role"] == f"arn:aws:iam::{IAM_ACCOUNT}:role/{app_name}-dev"
    policies = boto3.client("iam").list_attached_role_policies(RoleName=f"{app_name}-dev")["AttachedPolicies"]
    assert "AWSLambdaVPCAccessExecutionRole" in {policy["PolicyName"] for policy in policies}
    versions = lambda_client().list_versions_by_function(FunctionName=name)["Versions"]
    assert [version["Version"] for version in versions] == ["$LATEST", "1"]
    assert lambda_client().get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "1"
    other = lambda_client().get_function(FunctionName=f"{name}-other")
    assert other["Tags"] == {"app": "shop"} and other["Configuration"]["MemorySize"] == 512
    assert other["Configuration"]["ImageConfigResponse"]["ImageConfig"] == {
        "Command": ["app.other"], "EntryPoint": ["/lambda-entrypoint.sh"], "WorkingDirectory": "/var/task"}

    again = invoke(root, "deploy", "--json")
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["changed"] is False and summary["image"] == f"{repository}@{digest}"
    assert sorted((f["action"], f["version_action"], f["alias_action"]) for f in summary["functions"]) == [
        ("none", "keep", "keep"), ("none", "keep", "keep")]
    assert "Nothing changed since the last deploy: no blob pushed, no function updated" in again.stderr
    assert len(lambda_client().list_versions_by_function(FunctionName=name)["Versions"]) == 2

    zipped = unique_name("zipped")  # Lambda cannot make a zip function an image one: named, the others go on
    lambda_client().create_function(FunctionName=zipped, Role=config["Role"], Runtime="python3.12",
                                    Handler="app.handler", Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18})
    (root / "pyproject.toml").write_text((root / "pyproject.toml").read_text().replace(
        f'{{name = "{name}-other"', f'{{name = "{zipped}"}}, {{name = "{name}-other"'))
    failed = invoke(root, "deploy")
    assert failed.returncode == 1
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: deploy failed for 1 of 3 functions x regions: {zipped} [{AWS_REGION}]"]
    assert "is a zip function; Lambda cannot change a function's package type" in failed.stderr
    assert "Traceback" not in failed.stderr
