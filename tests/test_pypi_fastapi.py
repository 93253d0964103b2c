"""The FastAPI + Mangum example with the real fastapi, pydantic and mangum from the index (marked `pypi`): it
builds for python3.12 and answers a function URL event through Mangum, as Lambda would run it."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from lambda_tasks.assemble import build
from lambda_tasks.framework import project_settings
from lambda_tasks.report import Reporter
from lambda_tasks.verify import verify

pytestmark = [pytest.mark.pypi, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fastapi-app"


def test_the_fastapi_example_answers_a_function_url_event(tmp_path):
    root = tmp_path / "fastapi-app"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("dist", "layers", "deployed"))
    settings = project_settings(root, {}, {})
    assert settings.function_url and settings.function_specs()[0].name == "fastapi-app"
    manifest = build(settings)
    shipped = {dist for layer in manifest.layers for dist in layer.distributions}
    assert {"fastapi", "mangum", "pydantic", "pydantic-core", "starlette"} <= shipped
    answer = verify(settings.layers, settings.function, root / "event.json", Reporter(stream=io.StringIO())).result
    assert isinstance(answer, dict) and answer["statusCode"] == 200, answer
    assert json.loads(answer["body"]) == {"item_id": 42, "q": "lambda"}
