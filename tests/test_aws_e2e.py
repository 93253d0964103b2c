"""End to end: moto's server on 127.0.0.1 (conftest's session-wide ``moto_server``), and the real
`invoke publish-layer` / `invoke deploy` in a subprocess that finds it through AWS_ENDPOINT_URL, as a user's
CI would."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from aws_helpers import ROLE_POLICY
from conftest import AWS_REGION, offline_pyproject
from factory import make_project, make_wheel

from lambda_tasks.aws import clients as aws

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BIN = Path(sys.executable).parent
REGION = AWS_REGION


@pytest.fixture
def env(moto_env, monkeypatch) -> dict[str, str]:
    """``moto_env`` with only AWS_REGION: we read it when botocore does not."""
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    return {name: value for name, value in moto_env.items() if name != "AWS_DEFAULT_REGION"}


class RequestLog(logging.Handler):
    """Every HTTP request moto's server answered (werkzeug logs one line per request)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def writes(self) -> list[str]:
        """Requests that change something: POST, PUT, DELETE (our reads are GET and HEAD)."""
        return [line for line in self.lines if any(f'"{m} ' in line or f'{m} /' in line for m in ("POST", "PUT", "DELETE"))]


@pytest.fixture
def requests():
    log = RequestLog()
    logger = logging.getLogger("werkzeug")
    logger.addHandler(log)
    old = logger.level
    logger.setLevel(logging.INFO)
    yield log
    logger.removeHandler(log)
    logger.setLevel(old)


def client(service: str):
    return boto3.client(service, region_name=REGION)


@pytest.fixture
def project(tmp_path, wheelhouse, unique_name):
    make_wheel(wheelhouse, "alpha")
    make_wheel(wheelhouse, "beta", version="1.0")
    make_wheel(wheelhouse, "beta", version="2.0")
    name = unique_name("e2e")  # layer, function and bucket names start with it: unique on the shared server
    root = make_project(tmp_path / name, "alpha\nbeta==1.0\n", pyproject=offline_pyproject(
        wheelhouse, 'runtime = "python3.12"\nlayer_groups = { alpha = 1, beta = 2 }\n'))
    (root / "tasks.py").write_text("from lambda_tasks.tasks import ns\n")
    return root


def invoke(root: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(BIN / "invoke"), *args], cwd=root, capture_output=True, text=True,
                            env=dict(os.environ), timeout=300)
    return result


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def manifest(root: Path) -> dict:
    return json.loads((root / "layers" / "manifest.json").read_text())


def versions(layer: str) -> int:
    return len(client("lambda").list_layer_versions(LayerName=layer)["LayerVersions"])


def function(name: str) -> dict:
    return client("lambda").get_function(FunctionName=name)["Configuration"]


def test_publish_then_deploy_then_nothing_then_app_then_requirements(env, project, requests):
    role = client("iam").create_role(RoleName=f"{project.name}-role", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
    fn = f"{project.name}-f"

    out = ok(invoke(project, "publish-layer"))
    data = manifest(project)
    layer1, layer2 = (layer["name"] for layer in data["layers"])
    assert [l["distributions"] for l in data["layers"]] == [["alpha"], ["beta"]]
    assert all(REGION in l["published"] for l in data["layers"]) and out.count("published version 1") == 2
    assert versions(layer1) == versions(layer2) == 1

    out = ok(invoke(project, "deploy", "--function-name", fn, "--role", role))
    data = manifest(project)
    config = function(fn)
    assert config["CodeSha256"] == aws.code_sha256(data["app"]["sha256"])
    assert [l["Arn"] for l in config["Layers"]] == [l["published"][REGION] for l in data["layers"]]
    assert "created" in out and "published version" not in out

    # no change: no layer published, no update call
    before = function(fn)
    requests.lines.clear()
    out = ok(invoke(project, "deploy", "--function-name", fn))
    assert "Nothing changed since the last deploy" in out
    assert requests.lines and requests.writes() == []
    assert function(fn)["LastModified"] == before["LastModified"]
    assert versions(layer1) == versions(layer2) == 1

    # --plan after an app change: says what, changes nothing
    (project / "app.py").write_text("def handler(event, context):\n    return 'v2'\n")
    out = ok(invoke(project, "deploy", "--function-name", fn, "--plan"))
    assert "would update code" in out and function(fn)["CodeSha256"] == before["CodeSha256"]

    # app only: code updated, no layer published
    requests.lines.clear()
    out = ok(invoke(project, "deploy", "--function-name", fn))
    assert len(requests.writes()) == 1 and "/code" in requests.writes()[0]
    assert function(fn)["CodeSha256"] == aws.code_sha256(manifest(project)["app"]["sha256"]) != before["CodeSha256"]
    assert "updated code" in out and "configuration" not in out
    assert versions(layer1) == versions(layer2) == 1

    # requirements: only the changed layer is republished, the function gets it
    (project / "requirements.txt").write_text("alpha\nbeta==2.0\n")
    out = ok(invoke(project, "deploy", "--function-name", fn))
    assert versions(layer1) == 1 and versions(layer2) == 2
    data = manifest(project)
    assert [l["Arn"] for l in function(fn)["Layers"]] == [l["published"][REGION] for l in data["layers"]]
    assert data["layers"][1]["published"][REGION].endswith(":2")
    assert "updated configuration (Layers)" in out


def test_errors_are_one_line_with_exit_code_1(env, project):
    result = invoke(project, "publish-layer", "--s3-bucket", "no-such-bucket-anywhere")
    assert result.returncode == 1 and "no-such-bucket-anywhere does not exist" in result.stderr

    with (project / "pyproject.toml").open("a") as pyproject:
        pyproject.write("manage_iam_role = false\n")
    result = invoke(project, "deploy", "--function-name", f"{project.name}-norole")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and "pass --role" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert versions(f"{project.name}-deps-1") == 0  # refused before publishing anything

    result = invoke(project, "deploy", "--function-name", f"{project.name}-x", "--role",
                    "arn:aws:iam::123456789012:role/no-such-role")
    assert result.returncode == 1 and "check --role" in result.stderr and "Traceback" not in result.stderr

    assert "testing" not in result.stderr + result.stdout  # no secret printed


def test_plan_on_a_fresh_project_publishes_nothing(env, project):
    out = ok(invoke(project, "publish-layer", "--plan"))
    assert out.count("would publish a new version") == 2
    layer = manifest(project)["layers"][0]
    assert layer["published"] == {} and versions(layer["name"]) == 0


def test_s3_and_several_regions(env, project):
    for region in (REGION, "eu-west-1"):
        s3 = boto3.client("s3", region_name=region)
        bucket = f"{project.name}-{region}"
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    bucket = project.name + "-{region}"
    ok(invoke(project, "publish-layer", "--s3-bucket", bucket, "--region", REGION, "--region", "eu-west-1"))
    data = manifest(project)
    for layer in data["layers"]:
        assert set(layer["published"]) == {REGION, "eu-west-1"}
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.head_object(Bucket=f"{project.name}-eu-west-1", Key=f"lambda-tasks/{layer['sha256']}.zip")
    out = ok(invoke(project, "publish-layer", "--s3-bucket", bucket, "--region", REGION, "--region", "eu-west-1"))
    assert "nothing to publish" in out


def test_deploy_verifies_the_handler_first(env, project):
    role = client("iam").create_role(RoleName=f"{project.name}-vrole", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
    fn = f"{project.name}-broken"
    (project / "app.py").write_text("import not_a_module_anywhere\n\ndef handler(event, context):\n    return 1\n")
    result = invoke(project, "deploy", "--function-name", fn, "--role", role)
    assert result.returncode == 1 and "not_a_module_anywhere" in result.stderr and "Traceback" not in result.stderr
    assert versions(f"{project.name}-deps-1") == 0  # nothing published, no function made
    with pytest.raises(Exception, match=r"ResourceNotFound|Function not found"):
        function(fn)
    ok(invoke(project, "deploy", "--function-name", fn, "--role", role, "--no-verify"))
    assert function(fn)["Handler"] == "app.handler"
