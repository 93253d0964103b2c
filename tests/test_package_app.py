"""invoke package with what is around the functions: the Chalice example's REST API (Chalice's document, its
deployment, stage and permission), its schedule, SQS mapping and (Terraform only, as chalice package does) its
S3 notification; the FastAPI example's function URL. CloudFormation and SAM pass cfn-lint, Terraform JSON
parses in checkov."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess

import pytest
from conftest import REPO
from factory import make_project, make_wheel
from fake_chalice import make_chalice
from test_package import cfn_lint, checkov
from test_websocket_deploy import APP as WEBSOCKET_APP

from lambda_tasks import commands
from lambda_tasks.commands import project_settings
from lambda_tasks.deploy.rest_api_doc import cfn_uri, swagger
from lambda_tasks.errors import DeployError
from lambda_tasks.report import Reporter
from lambda_tasks.sources.chalice_app import read_app

pytestmark = [pytest.mark.slow]


def copy(example: str, tmp_path, wheelhouse):
    root = tmp_path / example
    shutil.copytree(REPO / "examples" / example, root, ignore=shutil.ignore_patterns("dist", "layers", "deployed"))
    pyproject = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(pyproject + f'pip_args = ["--no-index", "--find-links", "{wheelhouse}"]\n'
                                         's3_bucket = "artifacts-{region}"\n')
    return root


@pytest.fixture
def chalice_app(tmp_path, wheelhouse):
    make_chalice(wheelhouse)
    make_wheel(wheelhouse, "six")
    make_wheel(wheelhouse, "python-dateutil", version="2.9.0.post0", requires=["six"])
    return copy("chalice-app", tmp_path, wheelhouse)


def test_the_chalice_example_as_cloudformation_has_its_api_and_event_sources(chalice_app):
    settings = project_settings(chalice_app, {}, {})
    out = io.StringIO()
    result = commands.package(settings, fmt="cloudformation", reporter=Reporter(stream=out))
    template = json.loads(result.template.read_text())
    resources = template["Resources"]
    api = resources["RestAPI"]["Properties"]
    web = read_app(chalice_app / "app.py").web
    assert api["Body"] == swagger(web, lambda short: cfn_uri("ChaliceAppDev"))  # Chalice's document
    assert api["EndpointConfiguration"] == {"Types": ["EDGE"]} and api["Name"] == "chalice-app"
    [deployment] = [k for k, v in resources.items() if v["Type"] == "AWS::ApiGateway::Deployment"]
    assert resources["RestAPIStage"]["Properties"] == {"RestApiId": {"Ref": "RestAPI"},
                                                       "DeploymentId": {"Ref": deployment}, "StageName": "api"}
    permission = resources["ChaliceAppDevInvokePermission"]["Properties"]
    assert permission["Principal"] == "apigateway.amazonaws.com" and permission["FunctionName"] == {
        "Ref": "ChaliceAppDev"}
    by_type: dict[str, list] = {}
    for value in resources.values():
        by_type.setdefault(value["Type"], []).append(value["Properties"])
    [rule] = by_type["AWS::Events::Rule"]
    assert rule["ScheduleExpression"] == "rate(1 hour)"
    assert rule["Targets"] == [{"Arn": {"Fn::GetAtt": ["ChaliceAppDevEveryHour", "Arn"]}, "Id": "1"}]
    [mapping] = by_type["AWS::Lambda::EventSourceMapping"]
    assert mapping["BatchSize"] == 5 and mapping["FunctionName"] == {"Ref": "ChaliceAppDevOnJob"}
    assert mapping["EventSourceArn"] == {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:"
                                                    "chalice-app-jobs"}
    sqs_role = resources["ChaliceAppDevOnJobRole"]["Properties"]["ManagedPolicyArns"]
    assert "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole" in sqs_role
    assert "EndpointURL" in template["Outputs"]
    assert "note: the S3 notification of bucket chalice-app-uploads" in out.getvalue()
    cfn_lint(result.template)
    sam = commands.package(settings, fmt="sam", reporter=Reporter(stream=io.StringIO()))
    assert "RestAPI" in json.loads(sam.template.read_text())["Resources"]
    cfn_lint(sam.template)


def test_the_chalice_example_as_terraform_has_its_api_and_every_event_source(chalice_app, tmp_path):
    settings = project_settings(chalice_app, {}, {})
    result = commands.package(settings, fmt="terraform", out=tmp_path / "tf", reporter=Reporter(stream=io.StringIO()))
    doc = json.loads(result.template.read_text())
    resources = doc["resource"]
    web = read_app(chalice_app / "app.py").web
    body = json.loads(resources["aws_api_gateway_rest_api"]["rest_api"]["body"])
    assert body == swagger(web, lambda short: "${aws_lambda_function.chalice_app_dev.invoke_arn}")
    assert resources["aws_api_gateway_stage"]["rest_api"]["stage_name"] == "api"
    [notification] = resources["aws_s3_bucket_notification"].values()
    assert notification["bucket"] == "chalice-app-uploads"
    assert notification["lambda_function"] == [{
        "lambda_function_arn": "${aws_lambda_function.chalice_app_dev_on_upload.arn}",
        "events": ["s3:ObjectCreated:*"], "filter_prefix": "incoming/"}]
    assert [m["batch_size"] for m in resources["aws_lambda_event_source_mapping"].values()] == [5]
    assert [r["schedule_expression"] for r in resources["aws_cloudwatch_event_rule"].values()] == ["rate(1 hour)"]
    principals = sorted(p["principal"] for p in resources["aws_lambda_permission"].values())
    assert principals == ["apigateway.amazonaws.com", "events.amazonaws.com", "s3.amazonaws.com"]
    assert set(doc["data"]) >= {"aws_caller_identity", "aws_partition", "aws_region"}
    run = subprocess.run([checkov(), "-f", str(result.template), "--framework", "terraform_json", "-o", "json",
                          "--skip-download"], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
    report = json.loads(run.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["parsing_errors"] == 0, run.stdout[-2000:]
    checked = {c["resource"] for c in report["results"]["failed_checks"] + report["results"]["passed_checks"]}
    assert "aws_api_gateway_stage.rest_api" in checked  # checkov read the API


def test_the_fastapi_example_has_its_function_url_in_every_format(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "fastapi", version="0.115.0")
    make_wheel(wheelhouse, "mangum", version="0.19.0")
    root = copy("fastapi-app", tmp_path, wheelhouse)
    settings = project_settings(root, {}, {})
    cfn = commands.package(settings, fmt="cloudformation", reporter=Reporter(stream=io.StringIO()))
    resources = json.loads(cfn.template.read_text())["Resources"]
    assert resources["FastapiAppUrl"]["Properties"] == {
        "TargetFunctionArn": {"Fn::GetAtt": ["FastapiApp", "Arn"]}, "AuthType": "NONE", "InvokeMode": "BUFFERED"}
    assert resources["FastapiAppUrlPermission"]["Properties"]["Action"] == "lambda:InvokeFunctionUrl"
    cfn_lint(cfn.template)
    sam = commands.package(settings, fmt="sam", reporter=Reporter(stream=io.StringIO()))
    cfn_lint(sam.template)
    tf = commands.package(settings, fmt="terraform", out=tmp_path / "tf", reporter=Reporter(stream=io.StringIO()))
    doc = json.loads(tf.template.read_text())
    assert doc["resource"]["aws_lambda_function_url"]["fastapi_app"]["authorization_type"] == "NONE"
    assert doc["output"]["fastapi_app_function_url"] == {"value": "${aws_lambda_function_url.fastapi_app.function_url}"}


def test_a_role_given_as_a_cdk_token_passes_through_to_the_template(chalice_app):
    config = chalice_app / ".chalice" / "config.json"
    data = json.loads(config.read_text())
    data.update({"manage_iam_role": False, "iam_role_arn": "${Token[TOKEN.123]}"})
    config.write_text(json.dumps(data))
    settings = project_settings(chalice_app, {}, {})
    result = commands.package(settings, fmt="cloudformation", reporter=Reporter(stream=io.StringIO()))
    resources = json.loads(result.template.read_text())["Resources"]
    assert resources["ChaliceAppDev"]["Properties"]["Role"] == "${Token[TOKEN.123]}"
    assert not [k for k, v in resources.items() if v["Type"] == "AWS::IAM::Role"]
    # not cfn-lint: it refuses the token (E3031) until CDK puts the role's ARN in
    with pytest.raises(DeployError, match="role"):  # deploy needs a real role
        commands.deploy(settings, reporter=Reporter(stream=io.StringIO()))


def test_a_websocket_app_has_its_api_in_cloudformation_and_terraform(tmp_path, wheelhouse):
    make_chalice(wheelhouse)
    pyproject = (f'[tool.lambda-tasks]\nruntime = "python3.12"\npip_args = ["--no-index", "--find-links", '
                 f'"{wheelhouse}"]\ns3_bucket = "artifacts"\n')
    root = make_project(tmp_path / "chat", "", app=WEBSOCKET_APP, pyproject=pyproject)
    settings = project_settings(root, {}, {})
    cfn = commands.package(settings, fmt="cloudformation", reporter=Reporter(stream=io.StringIO()))
    resources = json.loads(cfn.template.read_text())["Resources"]
    routes = {v["Properties"]["RouteKey"] for v in resources.values() if v["Type"] == "AWS::ApiGatewayV2::Route"}
    assert routes == {"$connect", "$default", "$disconnect"}
    cfn_lint(cfn.template)
    tf = commands.package(settings, fmt="terraform", out=tmp_path / "tf", reporter=Reporter(stream=io.StringIO()))
    doc = json.loads(tf.template.read_text())
    assert sorted(r["route_key"] for r in doc["resource"]["aws_apigatewayv2_route"].values()) == [
        "$connect", "$default", "$disconnect"]


def test_the_custom_domain_is_in_cloudformation_and_terraform(chalice_app, tmp_path):
    config = chalice_app / ".chalice" / "config.json"
    data = json.loads(config.read_text())
    data["stages"]["dev"]["api_gateway_custom_domain"] = {
        "domain_name": "api.example.com", "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
        "url_prefix": "v1"}
    config.write_text(json.dumps(data))
    settings = project_settings(chalice_app, {}, {})
    cfn = commands.package(settings, fmt="cloudformation", reporter=Reporter(stream=io.StringIO()))
    template = json.loads(cfn.template.read_text())
    domain = template["Resources"]["ApiGatewayCustomDomain"]["Properties"]
    assert domain["DomainName"] == "api.example.com" and domain["CertificateArn"].endswith("certificate/abc")
    assert template["Resources"]["ApiGatewayBasePathMapping"]["Properties"]["BasePath"] == "v1"
    assert "AliasDomainName" in template["Outputs"]
    cfn_lint(cfn.template)
    tf = commands.package(settings, fmt="terraform", out=tmp_path / "tf", reporter=Reporter(stream=io.StringIO()))
    resources = json.loads(tf.template.read_text())["resource"]
    assert resources["aws_api_gateway_domain_name"]["api_gateway_custom_domain"]["domain_name"] == "api.example.com"
    assert resources["aws_api_gateway_base_path_mapping"]["api_gateway_custom_domain_mapping"]["base_path"] == "v1"
