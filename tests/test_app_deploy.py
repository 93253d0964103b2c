"""The issue's acceptance check for a whole Chalice app: the bundled example, deployed with the real `invoke deploy`
against moto's server, gets its REST API (a resource and method per route, each a Lambda proxy integration on the
function, with API Gateway's permission), its schedule's rule and target, its S3 notification and its SQS event
source; the URL is printed; a second deploy makes no write call (counted by a recording proxy); a route removed
from app.py is gone after the next deploy; `invoke delete --stage dev` leaves nothing behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from call_proxy import is_write, recording_proxy
from factory import make_wheel
from fake_chalice import make_chalice

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BIN = Path(sys.executable).parent
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "chalice-app"


@pytest.fixture
def example(tmp_path: Path, wheelhouse: Path, unique_name) -> tuple[Path, str, str, str]:
    """The example, its bucket and queue renamed to this test's own (created in moto, as the app expects)."""
    make_chalice(wheelhouse)
    make_wheel(wheelhouse, "six")
    make_wheel(wheelhouse, "python-dateutil", version="2.9.0.post0", requires=["six"],
               files={"dateutil/__init__.py": "", "dateutil/parser.py": "def isoparse(text):\n    raise ValueError\n"})
    root = tmp_path / "chalice-app"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("dist", "layers", "deployed"))
    with (root / "pyproject.toml").open("a") as pyproject:
        pyproject.write(f'pip_args = ["--no-index", "--find-links", "{wheelhouse.as_posix()}"]\n')
    bucket, queue = unique_name("uploads"), unique_name("jobs")
    app = (root / "app.py").read_text().replace("chalice-app-uploads", bucket).replace("chalice-app-jobs", queue)
    (root / "app.py").write_text(app)
    return root, unique_name("shop"), bucket, queue


def invoke(root: Path, *args: str, app_name: str, endpoint: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INVOKE_LAMBDA_TASKS_APP_NAME": app_name}
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    done = subprocess.run([str(BIN / "invoke"), *args], cwd=root, capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr + done.stdout
    return done


def api_methods(api_id: str) -> dict[str, dict[str, dict]]:
    client = boto3.client("apigateway")
    found: dict[str, dict[str, dict]] = {}
    for resource in client.get_resources(restApiId=api_id, limit=500)["items"]:
        for method in resource.get("resourceMethods") or {}:
            found.setdefault(resource["path"], {})[method] = client.get_integration(
                restApiId=api_id, resourceId=resource["id"], httpMethod=method)
    return found


def test_the_example_deploys_whole_redeploys_as_a_no_op_follows_app_py_and_is_deleted(iam_env, example):
    root, app_name, bucket, queue = example
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    s3.create_bucket(Bucket=bucket)
    queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    done = invoke(root, "deploy", "--json", app_name=app_name)
    summary = json.loads(done.stdout)
    api_id = summary["rest_api"]["us-east-1"]["id"]
    url = f"https://{api_id}.execute-api.us-east-1.amazonaws.com/api/"
    assert summary["urls"] == {"us-east-1": url}
    assert f"REST API URL [us-east-1]: {url}" in done.stderr

    lam = boto3.client("lambda")
    handler_arn = lam.get_function(FunctionName=f"{app_name}-dev")["Configuration"]["FunctionArn"]
    methods = api_methods(api_id)
    assert sorted((path, sorted(m)) for path, m in methods.items()) == [("/", ["GET"]), ("/greet/{name}", ["GET"])]
    for integrations in methods.values():
        for integration in integrations.values():
            assert integration["type"].upper() == "AWS_PROXY" and integration["httpMethod"] == "POST"
            assert handler_arn in integration["uri"]
    policy = json.loads(lam.get_policy(FunctionName=f"{app_name}-dev")["Policy"])["Statement"]
    assert any(s["Principal"] == {"Service": "apigateway.amazonaws.com"} and api_id in json.dumps(s["Condition"])
               for s in policy)

    events = boto3.client("events")
    rule = events.describe_rule(Name=f"{app_name}-dev-every_hour-event")
    assert rule["ScheduleExpression"] == "rate(1 hour)"
    hourly = lam.get_function(FunctionName=f"{app_name}-dev-every_hour")["Configuration"]["FunctionArn"]
    assert [t["Arn"] for t in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]] == [hourly]
    upload = lam.get_function(FunctionName=f"{app_name}-dev-on_upload")["Configuration"]["FunctionArn"]
    notifications = s3.get_bucket_notification_configuration(Bucket=bucket)["LambdaFunctionConfigurations"]
    assert [(n["LambdaFunctionArn"], n["Events"]) for n in notifications] == [(upload, ["s3:ObjectCreated:*"])]
    job = lam.get_function(FunctionName=f"{app_name}-dev-on_job")["Configuration"]["FunctionArn"]
    mappings = lam.list_event_source_mappings(EventSourceArn=queue_arn)["EventSourceMappings"]
    assert [(m["FunctionArn"], m["BatchSize"]) for m in mappings] == [(job, 5)]
    record = json.loads((root / "deployed" / "dev.json").read_text())
    assert record["regions"]["us-east-1"]["rest_api"]["id"] == api_id and record["role"] == f"{app_name}-dev"

    with recording_proxy(os.environ["AWS_ENDPOINT_URL"]) as (proxy, calls):
        again = invoke(root, "deploy", app_name=app_name, endpoint=proxy)
    assert "Nothing changed since the last deploy" in again.stdout
    assert "REST API [us-east-1]: up to date" in again.stdout
    assert calls and [c for c in calls if is_write(c)] == []

    app_py = root / "app.py"
    app_py.write_text(app_py.read_text().replace('@app.route("/greet/{name}", methods=["GET"])\n', ""))
    record_file = root / "deployed" / "dev.json"
    kept = record_file.read_text()
    record_file.unlink()  # without its record, deploy finds the API by its description
    invoke(root, "deploy", app_name=app_name)
    assert sorted(api_methods(api_id)) == ["/"]
    assert json.loads(record_file.read_text())["regions"]["us-east-1"]["rest_api"]["id"] == api_id
    record_file.write_text(kept)  # the first record names the layer version and the role that deploy made
    invoke(root, "deploy", app_name=app_name)

    record = json.loads((root / "deployed" / "dev.json").read_text())
    assert ("published version" in done.stderr) == bool(record["regions"]["us-east-1"]["layers"])
    plan = invoke(root, "delete", "--plan", app_name=app_name)
    assert f"would delete function {app_name}-dev" in plan.stdout and lam.get_function(FunctionName=f"{app_name}-dev")
    invoke(root, "delete", "--stage", "dev", app_name=app_name)
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    assert not [n for n in names if n.startswith(app_name)]
    assert api_id not in [a["id"] for a in boto3.client("apigateway").get_rest_apis()["items"]]
    assert not [r for r in events.list_rules(NamePrefix=app_name)["Rules"]]
    assert not s3.get_bucket_notification_configuration(Bucket=bucket).get("LambdaFunctionConfigurations")
    assert lam.list_event_source_mappings(EventSourceArn=queue_arn)["EventSourceMappings"] == []
    assert app_name + "-dev" not in [r["RoleName"] for r in boto3.client("iam").list_roles()["Roles"]]
    for published in record["regions"]["us-east-1"]["layers"]:  # those this deploy published (not reused)
        versions = lam.list_layer_versions(LayerName=published.rsplit(":", 2)[-2])["LayerVersions"]
        assert published not in [v["LayerVersionArn"] for v in versions]
    assert not (root / "deployed" / "dev.json").exists()
