"""The real chalice release from the index (marked `pypi`): the bundled Chalice example builds, and its REST API
answers an API Gateway event through Chalice's own runtime; chalice in requirements.txt keeps its tool out."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from factory import make_project

from lambda_tasks.assemble import build
from lambda_tasks.framework import project_settings
from lambda_tasks.report import Reporter
from lambda_tasks.verify import verify

pytestmark = [pytest.mark.pypi, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "chalice-app"


def test_the_chalice_example_builds_and_answers_with_the_real_chalice_runtime(tmp_path):
    root = tmp_path / "chalice-app"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("dist", "layers"))
    settings = project_settings(root, {}, {"stage": "prod"})
    manifest = build(settings)
    with zipfile.ZipFile(root / "dist" / "app.zip") as archive:
        shipped = archive.namelist()
        assert "chalice/app.py" in shipped and "chalice/__init__.py" in shipped
        assert b"class Chalice(" in archive.read("chalice/app.py")
    assert not any(name.startswith("chalice/") for name in shipped if name not in
                   ("chalice/", "chalice/__init__.py", "chalice/app.py"))
    assert manifest.layers[0].distributions == ["python-dateutil", "six"]
    result = verify(settings.layers, settings.function, root / "event.json", Reporter(stream=io.StringIO()))
    answer = result.result
    assert isinstance(answer, dict) and answer["statusCode"] == 200, answer
    assert json.loads(answer["body"]) == {"greeting": "Good day, lambda (2026)"}


def test_chalice_in_requirements_ships_none_of_its_tool(tmp_path):
    app = "from chalice import Chalice\n\napp = Chalice(app_name='t')\n\n@app.route('/')\ndef index():\n    return {}\n"
    root = make_project(tmp_path / "t", "chalice==1.34.0\nsix\n", app=app)
    out = io.StringIO()
    manifest = build(project_settings(root, {}, {"runtime": "python3.12", "arch": "arm64"}),
                     reporter=Reporter(stream=out))
    shipped = {dist for layer in manifest.layers for dist in layer.distributions}
    assert shipped == {"six"}, shipped  # chalice needs six too, but the app asks for it itself
    assert "left out chalice and what only it needs (" in out.getvalue()
