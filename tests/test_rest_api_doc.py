"""The pure parts of the app's wiring: the OpenAPI 3.0 form sent to API Gateway, the digest, what app.py must
write as literals (problems, not crashes: the API's stop the API, an event source's stop that source), the deploy
record's file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lambda_tasks.app_model import Cors, Route, WebApp
from lambda_tasks.deploy import deploy_record
from lambda_tasks.deploy.rest_api_doc import digest, openapi3, swagger
from lambda_tasks.errors import DeployError
from lambda_tasks.sources.chalice_app import read_app

DATA = Path(__file__).resolve().parent / "data"


def test_the_openapi3_form_keeps_paths_integrations_and_security():
    web = read_app(DATA / "chalice_api" / "app.py").web
    doc = swagger(web, lambda short: f"uri:{short}")
    body = openapi3(doc, "marker")
    assert body["openapi"] == "3.0.1" and body["info"]["description"] == "marker"
    assert set(body["paths"]) == set(doc["paths"])
    for path, methods in doc["paths"].items():
        for verb, method in methods.items():
            converted = body["paths"][path][verb]
            assert converted["x-amazon-apigateway-integration"] == method["x-amazon-apigateway-integration"]
            assert "consumes" not in converted and "produces" not in converted
            for parameter in converted.get("parameters", []):
                assert parameter["schema"] == {"type": "string"} and "type" not in parameter
    assert body["components"]["securitySchemes"] == doc["securityDefinitions"]
    assert body["components"]["schemas"] == doc["definitions"]
    assert "#/definitions/" not in json.dumps(body)
    assert body["x-amazon-apigateway-binary-media-types"] == doc["x-amazon-apigateway-binary-media-types"]
    assert doc == swagger(web, lambda short: f"uri:{short}")  # the Swagger document is left as it was


def test_the_digest_names_the_document():
    one = swagger(WebApp("t", (Route("/", "GET", "index"),)), lambda s: "u")
    two = swagger(WebApp("t", (Route("/", "GET", "index", cors=Cors()),)), lambda s: "u")
    assert digest(one) == digest(json.loads(json.dumps(one))) != digest(two)


def test_what_is_not_a_literal_is_a_problem_with_its_line(tmp_path):
    (tmp_path / "app.py").write_text(
        "from chalice import Chalice\nimport os\n\napp = Chalice(app_name='p')\n\n"
        "@app.route('/', cors=os.environ.get('CORS'))\ndef index():\n    return {}\n\n"
        "@app.route('/m', methods=METHODS)\ndef m():\n    return {}\n\n"
        "@app.schedule(os.environ['RATE'])\ndef tick(event):\n    pass\n")
    app = read_app(tmp_path / "app.py")
    assert app is not None and app.web is not None
    assert [p.split(":")[0] for p in app.web.problems] == ["app.py line 6", "app.py line 10"]  # the API's
    assert "cors=os.environ.get('CORS')" in app.web.problems[0]
    [tick] = app.web.events  # the schedule's problem is its own: the rest of the app deploys
    assert tick.problem.startswith("app.py line 14: the schedule is not a literal")


def test_the_deploy_record_reads_back_and_refuses_what_it_does_not_know(tmp_path):
    record = deploy_record.DeployRecord("app", "dev", "app-dev")
    record.region("us-east-1").functions["api_handler"] = "arn:aws:lambda:us-east-1:1:function:app-dev"
    record.region("us-east-1").events.append({"kind": "rule", "name": "app-dev-tick-event"})
    path = deploy_record.record_path(tmp_path, "dev")
    deploy_record.save(record, path)
    assert deploy_record.load(path) == record
    path.write_text('{"version": 99}')
    with pytest.raises(DeployError, match="is not one this lambda-tasks writes"):
        deploy_record.load(path)
    assert deploy_record.load(tmp_path / "none.json") is None
