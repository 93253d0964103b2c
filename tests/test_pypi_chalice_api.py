"""Our REST API against the real Chalice's (marked `pypi`): chalice from the index, in a venv of its own, packages
an app using every feature of its OpenAPI generator (methods, path parameters, CORS default and CORSConfig,
content types, binary types, API keys, Cognito/IAM/custom/Chalice authorizers with scopes, docstrings, a
blueprint's url_prefix); the document it writes into the SAM template is the one we generate from app.py's
syntax tree, resource by resource."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lambda_tasks import commands
from lambda_tasks.deploy.rest_api_doc import API_HANDLER, cfn_uri, swagger
from lambda_tasks.framework import project_settings
from lambda_tasks.host import uv_path
from lambda_tasks.report import Reporter
from lambda_tasks.sources.chalice_app import read_app

pytestmark = [pytest.mark.pypi, pytest.mark.slow]

DATA = Path(__file__).resolve().parent / "data"
CHALICE = "chalice==1.32.0"


def cfn_resource_name(name: str) -> str:
    """Chalice's logical id for a name (chalice/utils.py, to_cfn_resource_name): ``my-auth_fn`` -> ``MyAuthFn``."""
    for separator in ("-", "_"):
        name = "".join(part[0].upper() + part[1:] for part in name.split(separator) if part)
    return "".join(ch for ch in name if ch.isascii() and ch.isalnum())


@pytest.fixture(scope="module")
def chalice_tool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `chalice` command of the real release, installed by uv into a venv of its own."""
    uv = uv_path()
    if uv is None:
        pytest.skip("uv is not installed")
    venv = tmp_path_factory.mktemp("chalice-venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=env, timeout=300)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), CHALICE], check=True,
                   env=env, timeout=600)
    return venv / "bin" / "chalice"


def chalice_document(chalice: Path, project: Path, out: Path, fmt: str = "cloudformation") -> dict:
    """The REST API's document in the template `chalice package` writes (SAM's, or Terraform's JSON string)."""
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    done = subprocess.run([str(chalice), "package", "--pkg-format", fmt, str(out)], cwd=project, capture_output=True,
                          text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr + done.stdout
    if fmt == "terraform":
        return dict(json.loads(json.loads((out / "chalice.tf.json").read_text())["locals"]["chalice_api_swagger"]))
    template = json.loads((out / "sam.json").read_text())
    return dict(template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"])


def test_our_openapi_document_is_the_one_chalice_package_writes(chalice_tool, tmp_path):
    project = tmp_path / "api"
    shutil.copytree(DATA / "chalice_api", project)
    theirs = chalice_document(chalice_tool, project, tmp_path / "out")
    app = read_app(project / "app.py")
    assert app is not None and app.web is not None and app.web.problems == ()
    ours = swagger(app.web, lambda short: cfn_uri("APIHandler" if short == API_HANDLER else cfn_resource_name(short)))

    assert sorted(ours["paths"]) == sorted(theirs["paths"])
    for path, methods in theirs["paths"].items():
        assert sorted(ours["paths"][path]) == sorted(methods), path
        for method, spec in methods.items():
            assert ours["paths"][path][method] == spec, f"{method.upper()} {path}"
    assert ours.get("securityDefinitions") == theirs.get("securityDefinitions")
    assert ours["x-amazon-apigateway-binary-media-types"] == theirs["x-amazon-apigateway-binary-media-types"]
    assert ours == theirs  # and nothing else differs either


def test_the_example_app_document_is_chalices_too(chalice_tool, tmp_path):
    """The example has an S3 event, which Chalice packages only for Terraform."""
    project = tmp_path / "chalice-app"
    shutil.copytree(DATA.parent.parent / "examples" / "chalice-app", project,
                    ignore=shutil.ignore_patterns("dist", "layers", "deployed"))
    theirs = chalice_document(chalice_tool, project, tmp_path / "out", "terraform")
    app = read_app(project / "app.py")
    assert app is not None and app.web is not None
    assert swagger(app.web, lambda short: f"${{aws_lambda_function.{short}.invoke_arn}}") == theirs


def test_an_app_made_in_a_helper_module_with_blueprints_registered_in_a_function_is_chalices(chalice_tool, tmp_path):
    """app.py imports the Chalice object from chalicelib (app.py never imports chalice); routes are decorated in
    another module; a blueprint is registered inside a function: Chalice finds them by importing, we by reading."""
    project = tmp_path / "helper"
    shutil.copytree(DATA / "chalice_helper", project)
    out = tmp_path / "out"
    theirs = chalice_document(chalice_tool, project, out)
    template = json.loads((out / "sam.json").read_text())
    handlers = sorted(r["Properties"]["Handler"] for r in template["Resources"].values()
                      if r["Type"] == "AWS::Serverless::Function")
    app = read_app(project / "app.py")
    assert app is not None and app.web is not None
    assert sorted(f.handler for f in app.functions) == handlers
    ours = swagger(app.web, lambda short: cfn_uri("APIHandler" if short == API_HANDLER else cfn_resource_name(short)))
    assert ours == theirs


def test_values_computed_at_import_time_are_read_by_importing_the_app(chalice_tool, tmp_path):
    """app.py computes its CORS origin and its queue at import time: static reading cannot say them, so package
    imports app.py in the verify sandbox (the real chalice runtime, the function's environment), as Chalice does;
    the REST API's document is Chalice's and the SQS mapping names the queue."""
    project = tmp_path / "dynamic"
    shutil.copytree(DATA / "chalice_dynamic", project)
    static = read_app(project / "app.py")
    assert static is not None and static.web is not None and static.web.problems  # the syntax does not say
    theirs = chalice_document(chalice_tool, project, tmp_path / "out", "terraform")
    (project / "pyproject.toml").write_text('[tool.lambda-tasks]\nruntime = "python3.12"\nchalice_version = '
                                            f'"{CHALICE.split("==")[1]}"\n')
    out = io.StringIO()
    settings = project_settings(project, {}, {})
    result = commands.package(settings, fmt="terraform", out=tmp_path / "tf", reporter=Reporter(stream=out))
    assert "app.py: what its syntax does not say was read by importing it" in out.getvalue()
    doc = json.loads(result.template.read_text())
    ours = json.loads(doc["resource"]["aws_api_gateway_rest_api"]["rest_api"]["body"])
    assert ours == json.loads(json.dumps(theirs).replace("aws_lambda_function.api_handler.",
                                                         "aws_lambda_function.dynamic_dev."))
    [mapping] = doc["resource"]["aws_lambda_event_source_mapping"].values()
    assert mapping["batch_size"] == 7 and mapping["event_source_arn"].endswith(":dynamic-jobs")
