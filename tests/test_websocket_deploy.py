"""A Chalice app's websocket API (API Gateway v2), deployed with the real `invoke deploy` against moto's server:
a route per handler ($connect, $default, $disconnect), each a Lambda proxy integration on its function, the stage
deploying by itself, API Gateway's permission; printed as wss://; a second deploy changes nothing; a handler
removed from app.py takes its route away; `invoke delete` deletes the API."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from call_proxy import is_write, recording_proxy
from factory import make_project
from fake_chalice import make_chalice

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BIN = Path(sys.executable).parent
APP = '''from chalice import Chalice

app = Chalice(app_name="chat")


@app.on_ws_connect()
def connect(event):
    pass


@app.on_ws_message()
def message(event):
    pass


@app.on_ws_disconnect()
def disconnect(event):
    pass
'''


def invoke(root: Path, *args: str, app_name: str, endpoint: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INVOKE_LAMBDA_TASKS_APP_NAME": app_name}
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    done = subprocess.run([str(BIN / "invoke"), *args], cwd=root, capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr + done.stdout
    return done


def routes(api_id: str) -> dict[str, str]:
    client = boto3.client("apigatewayv2")
    integrations = {i["IntegrationId"]: i["IntegrationUri"] for i in client.get_integrations(ApiId=api_id)["Items"]}
    return {r["RouteKey"]: integrations[r["Target"].removeprefix("integrations/")]
            for r in client.get_routes(ApiId=api_id)["Items"]}


def test_the_websocket_api_follows_the_handlers(iam_env, tmp_path, wheelhouse, unique_name):
    make_chalice(wheelhouse)
    pyproject = ('[tool.lambda-tasks]\nruntime = "python3.12"\n'
                 f'pip_args = ["--no-index", "--find-links", "{wheelhouse.as_posix()}"]\n')
    root = make_project(tmp_path / "chat", "", app=APP, pyproject=pyproject)
    (root / "tasks.py").write_text("from lambda_tasks.tasks import ns  # noqa: F401\n")
    # short: Chalice's names add -dev-websocket_disconnect, and a function name has at most 64 characters
    name = "chat-" + hashlib.sha256(unique_name("chat").encode()).hexdigest()[:10]
    done = invoke(root, "deploy", "--json", app_name=name)
    summary = json.loads(done.stdout)
    [url] = summary["websocket_urls"].values()
    api_id = url.split("//")[1].split(".")[0]
    assert url == f"wss://{api_id}.execute-api.us-east-1.amazonaws.com/api"
    lam = boto3.client("lambda")
    arns = {key: lam.get_function(FunctionName=f"{name}-dev-websocket_{short}")["Configuration"]["FunctionArn"]
            for key, short in (("$connect", "connect"), ("$default", "message"), ("$disconnect", "disconnect"))}
    assert {k: v.split("/functions/")[1].removesuffix("/invocations") for k, v in routes(api_id).items()} == arns
    v2 = boto3.client("apigatewayv2")
    assert v2.get_api(ApiId=api_id)["Name"] == f"{name}-dev-websocket-api"
    assert v2.get_stage(ApiId=api_id, StageName="api")["AutoDeploy"] is True
    policy = json.loads(lam.get_policy(FunctionName=arns["$connect"])["Policy"])["Statement"]
    assert any(api_id in json.dumps(s.get("Condition")) for s in policy)

    with recording_proxy(os.environ["AWS_ENDPOINT_URL"]) as (proxy, calls):
        again = invoke(root, "deploy", app_name=name, endpoint=proxy)
    assert calls and [c for c in calls if is_write(c)] == []  # a second deploy writes nothing
    assert "websocket API [us-east-1]: up to date" in again.stdout

    app_py = root / "app.py"
    app_py.write_text(APP.split("@app.on_ws_disconnect()")[0])
    gone = invoke(root, "deploy", app_name=name)
    assert "websocket API [us-east-1]: updated" in gone.stdout
    assert sorted(routes(api_id)) == ["$connect", "$default"]
    assert f"removed function {name}-dev-websocket_disconnect" in gone.stdout

    invoke(root, "delete", app_name=name)
    with pytest.raises(v2.exceptions.NotFoundException):
        v2.get_api(ApiId=api_id)
