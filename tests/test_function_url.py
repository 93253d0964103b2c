"""Any web app gets an endpoint: the bundled FastAPI + Mangum example (function_url = true), deployed with the real
`invoke deploy` against moto's server, gets its function URL (public: the InvokeFunctionUrl permission for
anyone), prints it, redeploys as a no-op, follows the settings (auth type, CORS, invoke mode) and takes the URL
away when function_url goes; `invoke delete` removes the function. The wheels are small stand-ins for fastapi and
mangum (test_pypi_fastapi.py runs the real ones)."""

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

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BIN = Path(sys.executable).parent
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fastapi-app"

FASTAPI = '''class FastAPI:
    def __init__(self, title=""):
        self.title, self.routes = title, {}

    def get(self, path):
        def register(function):
            self.routes[path] = function
            return function
        return register
'''
MANGUM = '''import json


class Mangum:
    def __init__(self, app, lifespan="auto"):
        self.app = app

    def __call__(self, event, context):
        view = self.app.routes.get(event["rawPath"])
        return {"statusCode": 200 if view else 404, "body": json.dumps(view() if view else {})}
'''


@pytest.fixture
def example(tmp_path: Path, wheelhouse: Path) -> Path:
    make_wheel(wheelhouse, "fastapi", version="0.115.0", files={"fastapi/__init__.py": FASTAPI})
    make_wheel(wheelhouse, "mangum", version="0.19.0", files={"mangum/__init__.py": MANGUM})
    root = tmp_path / "fastapi-app"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("dist", "layers", "deployed"))
    with (root / "pyproject.toml").open("a") as pyproject:
        pyproject.write(f'pip_args = ["--no-index", "--find-links", "{wheelhouse.as_posix()}"]\n')
    return root


def invoke(root: Path, *args: str, endpoint: str = "", **settings: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **{f"INVOKE_LAMBDA_TASKS_{k.upper()}": v for k, v in settings.items()}}
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    done = subprocess.run([str(BIN / "invoke"), *args], cwd=root, capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr + done.stdout
    return done


def test_the_fastapi_example_gets_a_function_url(iam_env, example, unique_name):
    name = unique_name("fastapi")
    done = invoke(example, "deploy", "--json", function_name=name)
    summary = json.loads(done.stdout)
    lam = boto3.client("lambda")
    config = lam.get_function_url_config(FunctionName=name)
    assert config["AuthType"] == "NONE" and config["FunctionUrl"].startswith("https://")
    assert summary["function_urls"] == {f"{name} [us-east-1]": config["FunctionUrl"]}
    assert f"function URL {name} [us-east-1]: created, anyone may invoke it through the URL, " \
           f"{config['FunctionUrl']}" in done.stderr
    policy = json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]
    assert [(s["Action"], s["Principal"]) for s in policy] == [("lambda:InvokeFunctionUrl", "*")]

    with recording_proxy(os.environ["AWS_ENDPOINT_URL"]) as (proxy, calls):
        again = invoke(example, "deploy", function_name=name, endpoint=proxy)
    assert calls and [c for c in calls if is_write(c)] == []  # a second deploy writes nothing
    assert f"function URL {name} [us-east-1]: up to date, {config['FunctionUrl']}" in again.stdout

    signed = invoke(example, "deploy", function_name=name, function_url_auth="AWS_IAM",
                    function_url_cors_origins="https://example.com")
    assert f"function URL {name} [us-east-1]: updated" in signed.stdout
    config = lam.get_function_url_config(FunctionName=name)
    assert config["AuthType"] == "AWS_IAM" and config["Cors"]["AllowOrigins"] == ["https://example.com"]

    gone = invoke(example, "deploy", function_name=name, function_url="false")
    assert f"removed the function URL of {name} [us-east-1]" in gone.stdout
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_url_config(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):  # its one statement is gone: no policy left
        lam.get_policy(FunctionName=name)

    invoke(example, "delete", function_name=name)
    assert name not in [f["FunctionName"] for f in lam.list_functions()["Functions"]]
