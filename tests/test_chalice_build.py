"""Chalice mode end to end, offline: Chalice's runtime in the function zip, its tool out of the layers, the
functions named as Chalice names them, config.json's values, and verify answering an API Gateway event."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import offline_pyproject
from factory import make_project, make_wheel
from fake_chalice import make_chalice

from lambda_tasks.assemble import build
from lambda_tasks.errors import LambdaTasksError
from lambda_tasks.framework import project_settings
from lambda_tasks.report import Reporter
from lambda_tasks.verify import verify

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "chalice-app"

APP = '''from chalice import Chalice

app = Chalice(app_name="shop")


@app.route("/")
def index():
    import sharedlib
    return {"ok": True}


@app.lambda_function(name="crunch")
def crunch(event, context):
    return {"n": 1}
'''


def names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def settings_of(root: Path, **flags):
    return project_settings(root, {}, {"runtime": "python3.12", **flags})


def layer_files(root: Path, manifest) -> list[str]:
    return [name for layer in manifest.layers for name in names(root / layer.path)]


@pytest.fixture
def chalice_wheels(wheelhouse: Path) -> Path:
    make_chalice(wheelhouse)
    make_wheel(wheelhouse, "purelib")
    return wheelhouse


def test_chalice_in_requirements_ships_its_runtime_in_the_app_and_not_its_tool(tmp_path, chalice_wheels):
    root = make_project(tmp_path / "shop", "chalice==1.34.0\nsharedlib\npurelib\n", app=APP,
                        pyproject=offline_pyproject(chalice_wheels))
    out = io.StringIO()
    manifest = build(settings_of(root), reporter=Reporter(stream=out))
    app_files = names(root / "dist" / "app.zip")
    assert "chalice/__init__.py" in app_files and "chalice/app.py" in app_files
    assert not any(name.startswith("chalice/cli") or name.startswith("chalice/deploy") for name in app_files)
    shipped = layer_files(root, manifest)
    assert not any(name.startswith(("python/chalice", "python/click")) for name in shipped)
    assert "python/sharedlib/__init__.py" in shipped and "python/purelib/__init__.py" in shipped  # the app's own
    text = out.getvalue()
    assert "left out chalice and what only it needs (click)" in text
    assert "from chalice 1.34.0" in text


def test_chalice_absent_takes_the_chalice_version_setting(tmp_path, chalice_wheels):
    make_chalice(chalice_wheels, version="1.30.0")
    root = make_project(tmp_path / "shop", "purelib\n", app=APP,
                        pyproject=offline_pyproject(chalice_wheels, 'chalice_version = "1.30.0"\n'))
    manifest = build(settings_of(root))
    with zipfile.ZipFile(root / "dist" / "app.zip") as archive:
        assert b"Just enough of Chalice" in archive.read("chalice/app.py")
    assert not any("chalice" in name or "click" in name for name in layer_files(root, manifest))


def test_unpinned_chalice_takes_the_newest_and_says_to_pin_it(tmp_path, chalice_wheels):
    make_chalice(chalice_wheels, version="1.9.0")
    root = make_project(tmp_path / "shop", "purelib\n", app=APP, pyproject=offline_pyproject(chalice_wheels))
    out = io.StringIO()
    build(settings_of(root), reporter=Reporter(stream=out))
    assert "from chalice 1.34.0; the newest release was taken: pin chalice" in out.getvalue()


def test_not_a_chalice_app_gets_no_runtime(tmp_path, chalice_wheels):
    root = make_project(tmp_path / "plain", "purelib\n", pyproject=offline_pyproject(chalice_wheels))
    build(settings_of(root))
    assert not any(name.startswith("chalice/") for name in names(root / "dist" / "app.zip"))


def test_a_changed_chalice_version_rebuilds_the_app_only(tmp_path, chalice_wheels):
    make_chalice(chalice_wheels, version="1.30.0")
    root = make_project(tmp_path / "shop", "purelib\n", app=APP,
                        pyproject=offline_pyproject(chalice_wheels, 'chalice_version = "1.30.0"\n'))
    first = build(settings_of(root))
    second = build(settings_of(root, chalice_version="1.34.0"))
    assert first.app.sha256 != second.app.sha256
    assert first.layers == second.layers and first.inputs["layers"] == second.inputs["layers"]


def test_the_apps_own_chalice_package_is_refused(tmp_path, chalice_wheels):
    root = make_project(tmp_path / "shop", "purelib\n", app=APP,
                        pyproject=offline_pyproject(chalice_wheels, 'chalice_version = "1.34.0"\n'))
    (root / "chalicelib" / "chalice").mkdir()
    (root / "chalicelib" / "chalice" / "app.py").write_text("")
    build(settings_of(root))  # chalicelib/chalice is the app's own name space: allowed


def test_functions_are_named_as_chalice_names_them(tmp_path, chalice_wheels):
    root = make_project(tmp_path / "shop", "purelib\n", app=APP, pyproject=offline_pyproject(chalice_wheels))
    specs = settings_of(root, stage="prod").function_specs()
    assert [(s.name, s.handler) for s in specs] == [("shop-prod", "app.app"), ("shop-prod-crunch", "app.crunch")]
    specs = settings_of(root).function_specs()
    assert [s.name for s in specs] == ["shop-dev", "shop-dev-crunch"]


def test_our_functions_setting_wins_over_discovery(tmp_path, chalice_wheels):
    pyproject = offline_pyproject(chalice_wheels, 'functions = [{name = "mine", handler = "app.crunch"}]\n')
    root = make_project(tmp_path / "shop", "purelib\n", app=APP, pyproject=pyproject)
    assert [s.name for s in settings_of(root).function_specs()] == ["mine"]


# ------------------------------------------------------------------------ the bundled example, offline


@pytest.fixture
def example(tmp_path, wheelhouse) -> Path:
    make_chalice(wheelhouse)
    make_wheel(wheelhouse, "six")
    make_wheel(wheelhouse, "python-dateutil", version="2.9.0.post0", requires=["six"], files={
        "dateutil/__init__.py": "", "dateutil/parser.py": (
            "import datetime\n\ndef isoparse(text):\n"
            "    return datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))\n")})
    root = tmp_path / "chalice-app"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("dist", "layers"))
    pyproject = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(pyproject + f'pip_args = ["--no-index", "--find-links", "{wheelhouse}"]\n')
    return root


@pytest.mark.slow
def test_the_example_builds_and_answers_an_api_gateway_event(example):
    settings = settings_of(example, stage="prod")
    build(settings)
    out = io.StringIO()
    result = verify(settings.layers, settings.function, example / "event.json", Reporter(stream=out))
    answer = result.result
    assert isinstance(answer, dict) and answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"greeting": "Good day, lambda (2026)"}  # prod's GREETING
    assert result.handlers == ["app.app", "app.crunch", "app.every_hour", "app.on_upload", "app.on_job"]


@pytest.mark.slow
def test_verify_picks_a_function_by_its_short_name(example, tmp_path):
    settings = settings_of(example)
    build(settings)
    event = tmp_path / "numbers.json"
    event.write_text('{"numbers": [1, 2, 3]}')
    result = verify(settings.layers, settings.function, event, Reporter(stream=io.StringIO()), function="crunch")
    assert result.result == {"sum": 6}
    result = verify(settings.layers, settings.function, event, Reporter(stream=io.StringIO()),
                    function="chalice-app-dev-crunch")
    assert result.result == {"sum": 6}
    with pytest.raises(LambdaTasksError, match="no function named 'nope'"):
        verify(settings.layers, settings.function, event, Reporter(stream=io.StringIO()), function="nope")


def test_the_example_stages_configure_the_functions(example):
    dev = {s.short_name: s for s in settings_of(example).function_specs()}
    prod_settings = settings_of(example, stage="prod")
    prod = {s.short_name: s for s in prod_settings.function_specs()}
    assert prod_settings.memory == 512 and prod_settings.timeout == 30
    assert prod_settings.environment == {"GREETING": "Good day", "STAGE": "prod"}
    assert prod["crunch"].name == "chalice-app-prod-crunch"
    assert prod["crunch"].memory == 1024 and prod["crunch"].timeout == 120
    assert dev["crunch"].memory is None and settings_of(example).memory == 128


def test_an_app_that_stops_using_chalice_gets_its_layers_rebuilt(tmp_path, chalice_wheels):
    root = make_project(tmp_path / "shop", "chalice==1.34.0\n", app=APP, pyproject=offline_pyproject(chalice_wheels))
    assert layer_files(root, build(settings_of(root))) == []
    (root / "app.py").write_text("def handler(event, context):\n    return 1\n")
    shipped = layer_files(root, build(settings_of(root)))
    assert "python/chalice/cli/__init__.py" in shipped and "python/click/__init__.py" in shipped
