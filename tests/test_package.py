"""invoke package: CloudFormation and SAM templates that cfn-lint passes, Terraform JSON that checkov parses and
that reads back as the build, the zips uploaded to moto's S3 at the keys the templates name."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from conftest import REPO, need_tool, offline_pyproject
from factory import make_project, make_wheel
from fake_chalice import make_chalice
from hypothesis import given
from hypothesis import strategies as st

from lambda_tasks import commands
from lambda_tasks.config import FunctionSpec
from lambda_tasks.errors import DeployError
from lambda_tasks.framework import project_settings
from lambda_tasks.iac import templates
from lambda_tasks.report import Reporter

EXAMPLE = REPO / "examples" / "chalice-app"
BIN = Path(sys.executable).parent


def quiet() -> Reporter:
    return Reporter(stream=io.StringIO())


@pytest.fixture
def example(tmp_path, wheelhouse) -> Path:
    """examples/chalice-app (three functions), offline."""
    make_chalice(wheelhouse)
    make_wheel(wheelhouse, "six")
    make_wheel(wheelhouse, "python-dateutil", version="2.9.0.post0", requires=["six"])
    root = tmp_path / "chalice-app"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("dist", "layers"))
    pyproject = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(pyproject + f'pip_args = ["--no-index", "--find-links", "{wheelhouse}"]\n'
                                         's3_bucket = "artifacts-{region}"\n')
    return root


def cfn_lint(path: Path) -> None:
    result = subprocess.run([BIN / "cfn-lint", str(path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_the_chalice_example_as_cloudformation_and_sam_passes_cfn_lint(example):
    settings = project_settings(example, {}, {"stage": "prod"})
    cfn = commands.package(settings, fmt="cloudformation", reporter=quiet())
    sam = commands.package(settings, fmt="sam", reporter=quiet())
    assert cfn.functions == ["chalice-app-prod", "chalice-app-prod-crunch", "chalice-app-prod-every_hour",
                             "chalice-app-prod-on_upload", "chalice-app-prod-on_job"]
    manifest = json.loads(settings.manifest_path.read_text())
    template = json.loads(cfn.template.read_text())
    resources = template["Resources"]
    crunch = resources["ChaliceAppProdCrunch"]["Properties"]
    assert (crunch["MemorySize"], crunch["Timeout"], crunch["Handler"]) == (1024, 120, "app.crunch")  # config.json
    assert crunch["Environment"]["Variables"] == {"STAGE": "prod", "GREETING": "Good day"}
    assert {"Key": "team", "Value": "examples"} in crunch["Tags"]
    assert crunch["Code"] == {"S3Bucket": {"Fn::Sub": "artifacts-${AWS::Region}"},
                              "S3Key": f"lambda-tasks/{manifest['app']['sha256']}.zip"}
    assert crunch["Layers"] == [{"Ref": "Layer1"}] and crunch["Role"] == {"Fn::GetAtt": ["ChaliceAppProdCrunchRole",
                                                                                          "Arn"]}
    layer = resources["Layer1"]["Properties"]
    assert layer["Content"]["S3Key"] == f"lambda-tasks/{manifest['layers'][0]['sha256']}.zip"
    assert layer["CompatibleRuntimes"] == ["python3.12"] and layer["CompatibleArchitectures"] == ["x86_64"]
    cfn_lint(cfn.template)
    assert json.loads(sam.template.read_text())["Transform"] == "AWS::Serverless-2016-10-31"
    cfn_lint(sam.template)


def spec_settings(tmp_path, wheelhouse, **flags):
    make_wheel(wheelhouse, "purelib")
    root = make_project(tmp_path / "proj", "purelib\n", pyproject=offline_pyproject(wheelhouse))
    return project_settings(root, {}, {"runtime": "python3.11", "arch": "arm64", **flags})


def full_spec() -> tuple[FunctionSpec, ...]:
    return (FunctionSpec("api", handler="app.handler", memory=256, timeout=10, environment={"MODE": "1"},
                         role="arn:aws:iam::123456789012:role/given", tags={"team": "t"},
                         layers=("arn:aws:lambda:us-east-1:123456789012:layer:other:3",),
                         subnet_ids=("subnet-0123456789abcdef0",), security_group_ids=("sg-0123456789abcdef0",),
                         reserved_concurrency=5, xray=True, ephemeral_storage=2048),
            FunctionSpec("worker", subnet_ids=("subnet-0123456789abcdef0",),
                         security_group_ids=("sg-0123456789abcdef0",)))


@pytest.mark.slow
def test_every_function_setting_reaches_the_templates_and_cfn_lint_passes(tmp_path, wheelhouse):
    settings = spec_settings(tmp_path, wheelhouse, functions=full_spec(), s3_bucket="my-artifacts")
    commands.build(settings, reporter=quiet())
    result = commands.package(settings, fmt="cloudformation", out=tmp_path / "out", reporter=quiet())
    template = json.loads(result.template.read_text())
    assert template["Parameters"]["ArtifactBucket"]["Default"] == "my-artifacts"
    api = template["Resources"]["Api"]["Properties"]
    assert api["Role"] == "arn:aws:iam::123456789012:role/given" and "ApiRole" not in template["Resources"]
    assert api["Layers"] == [{"Ref": "Layer1"}, "arn:aws:lambda:us-east-1:123456789012:layer:other:3"]
    assert api["VpcConfig"] == {"SubnetIds": ["subnet-0123456789abcdef0"], "SecurityGroupIds": ["sg-0123456789abcdef0"]}
    assert (api["ReservedConcurrentExecutions"], api["TracingConfig"], api["EphemeralStorage"]) == (
        5, {"Mode": "Active"}, {"Size": 2048})
    assert (api["Architectures"], api["Runtime"], api["Environment"]) == (["arm64"], "python3.11",
                                                                           {"Variables": {"MODE": "1"}})
    worker = template["Resources"]["Worker"]["Properties"]
    assert (worker["MemorySize"], worker["Timeout"]) == (128, 60)  # the settings' defaults
    assert templates.VPC_POLICY in template["Resources"]["WorkerRole"]["Properties"]["ManagedPolicyArns"]
    cfn_lint(result.template)
    sam = commands.package(settings, fmt="sam", out=tmp_path / "out", reporter=quiet())
    sam_api = json.loads(sam.template.read_text())["Resources"]["Api"]["Properties"]
    assert (sam_api["Tracing"], sam_api["Tags"], sam_api["CodeUri"]["Bucket"]) == (
        "Active", {"team": "t"}, {"Ref": "ArtifactBucket"})
    cfn_lint(sam.template)


def checkov() -> Path:
    """checkov's path; missing: skip, or fail under CI=true (conftest.need_tool)."""
    found = next((str(c) for c in (os.environ.get("CHECKOV"), REPO / ".venv-checkov" / "bin" / "checkov",
                                   shutil.which("checkov")) if c and Path(c).is_file()), None)
    return Path(need_tool("checkov", found, install="uv venv .venv-checkov && uv pip install --python "
                          ".venv-checkov/bin/python 'checkov>=3,<4', or set CHECKOV"))


@pytest.mark.slow
def test_terraform_json_reads_back_as_the_build_and_checkov_parses_it(tmp_path, wheelhouse):
    settings = spec_settings(tmp_path, wheelhouse, functions=full_spec(), s3_bucket="bucket-{region}")
    manifest = commands.build(settings, reporter=quiet())
    result = commands.package(settings, fmt="terraform", out=tmp_path / "tf", reporter=quiet())
    assert result.template.name == "lambda.tf.json"
    doc = json.loads(result.template.read_text())
    layer = doc["resource"]["aws_lambda_layer_version"]["layer1"]
    digest = base64.b64encode(hashlib.sha256((settings.output_dir / manifest.layers[0].path).read_bytes())
                              .digest()).decode()
    assert layer["source_code_hash"] == digest and layer["layer_name"] == manifest.layers[0].name
    assert layer["s3_bucket"] == '${replace(var.artifact_bucket, "{region}", data.aws_region.current.name)}'
    api, worker = doc["resource"]["aws_lambda_function"]["api"], doc["resource"]["aws_lambda_function"]["worker"]
    assert api["layers"] == ["${aws_lambda_layer_version.layer1.arn}",
                             "arn:aws:lambda:us-east-1:123456789012:layer:other:3"]
    assert (api["memory_size"], api["reserved_concurrent_executions"], api["ephemeral_storage"]) == (
        256, 5, {"size": 2048})
    assert api["s3_key"] == f"lambda-tasks/{manifest.app.sha256}.zip"
    assert worker["role"] == "${aws_iam_role.worker.arn}"
    assert sorted(a["policy_arn"] for a in doc["resource"]["aws_iam_role_policy_attachment"].values()) == sorted(
        [templates.BASIC_POLICY, templates.VPC_POLICY])
    run = subprocess.run([checkov(), "-f", str(result.template), "--framework", "terraform_json", "-o", "json",
                          "--skip-download"], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})  # no network
    report = json.loads(run.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["parsing_errors"] == 0, run.stdout[-2000:]
    assert report["summary"]["passed"] > 10
    failed = {(c["check_id"], c["resource"].rsplit(".", 1)[-1]) for c in report["results"]["failed_checks"]}
    # what checkov read: api has X-Ray (CKV_AWS_50) and reserved concurrency (CKV_AWS_115), worker neither
    assert {("CKV_AWS_50", "worker"), ("CKV_AWS_115", "worker")} <= failed
    assert not {("CKV_AWS_50", "api"), ("CKV_AWS_115", "api"), ("CKV_AWS_117", "api")} & failed


@pytest.mark.slow
@pytest.mark.e2e
def test_upload_puts_the_zips_at_the_keys_the_template_names(tmp_path, wheelhouse, moto_env, unique_name):
    bucket = unique_name("artifacts")
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=bucket)
    settings = spec_settings(tmp_path, wheelhouse, function_name="fn", s3_bucket=bucket, regions=["us-east-1"])
    manifest = commands.build(settings, reporter=quiet())
    result = commands.package(settings, fmt="sam", upload=True, reporter=quiet())
    keys = {f"lambda-tasks/{manifest.app.sha256}.zip", f"lambda-tasks/{manifest.layers[0].sha256}.zip"}
    assert set(result.uploaded) == {f"s3://{bucket}/{key}" for key in keys}
    s3 = boto3.client("s3", region_name="us-east-1")
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == keys
    body = s3.get_object(Bucket=bucket, Key=f"lambda-tasks/{manifest.app.sha256}.zip")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == manifest.app.sha256


def test_upload_without_a_bucket_and_a_function_without_a_role_are_refused(tmp_path, wheelhouse):
    settings = spec_settings(tmp_path, wheelhouse, function_name="fn")
    with pytest.raises(DeployError, match="--upload needs an S3 bucket"):
        commands.package(settings, fmt="terraform", upload=True, reporter=quiet())
    settings = spec_settings(tmp_path, wheelhouse, function_name="fn", manage_iam_role=False)
    with pytest.raises(DeployError, match="function fn has no role and manage_iam_role is false"):
        commands.package(settings, fmt="cloudformation", reporter=quiet())
    with pytest.raises(DeployError, match="unknown template format 'pulumi'"):
        commands.package(settings, fmt="pulumi", reporter=quiet())


def test_logical_names_are_unique_and_alphanumeric():
    taken: set[str] = set()
    for name in ("my-app-dev", "my_app_dev", "9lives", "Layer1", "my-role"):
        key = templates._logical(name, taken)
        assert key.isalnum() and key[0].isalpha() and key not in taken
        taken.add(key)
    assert sorted(taken) == ["F9lives", "Layer1Function", "MyAppDev", "MyAppDev2", "MyRoleFunction"]


@pytest.mark.slow
@given(st.lists(st.text(max_size=12), max_size=12))
def test_any_function_names_get_distinct_logical_names(names):
    taken: set[str] = set()
    for name in names:
        key = templates._logical(name, taken)
        assert key.isascii() and key.isalnum() and key[0].isalpha() and key not in taken
        assert not key.endswith("Role") and key != "ArtifactBucket" and not re.fullmatch(r"Layer\d+", key)
        taken.add(key)


def test_a_role_the_template_makes_gets_vpc_and_xray_access_when_the_function_uses_them():
    plain = templates.FunctionPlan("Fn", "fn", "app.handler", 128, 60, {}, None, {}, (), (), (), None, False, None)
    assert templates.policies(plain) == [templates.BASIC_POLICY]
    both = dataclasses.replace(plain, subnet_ids=("subnet-1",), xray=True)
    assert templates.policies(both) == [templates.BASIC_POLICY, templates.VPC_POLICY, templates.XRAY_POLICY]
