"""Detection as Chalice does it, by reading: the Chalice object made in a helper module (app.py imports it, maybe
through a package's re-export, and never imports chalice), handlers decorated in any project module app.py
imports (also the `from app import app` pattern), blueprints registered anywhere (inside a function). The real
Chalice's view of the same shapes: test_pypi_chalice_api.py."""

from __future__ import annotations

from pathlib import Path

from lambda_tasks.sources.chalice_app import read_app


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root / "app.py"


def handlers(path: Path) -> dict[str, str]:
    app = read_app(path)
    assert app is not None
    return {f.short_name: f.handler for f in app.functions}


def test_the_app_made_in_a_helper_module_reexported_by_its_package(tmp_path):
    path = write(tmp_path, {
        "app.py": "from chalicelib import app\n\n@app.route('/')\ndef index():\n    return {}\n",
        "chalicelib/__init__.py": "from .core import app\n",
        "chalicelib/core.py": "from chalice import Chalice\n\napp = Chalice(app_name='made-elsewhere')\n\n"
                              "@app.schedule('rate(1 hour)')\ndef hourly(event):\n    pass\n",
    })
    app = read_app(path)
    assert app is not None and app.app_name == "made-elsewhere" and app.variable == "app"
    assert handlers(path) == {"api_handler": "app.app", "hourly": "chalicelib.core.hourly"}
    assert app.web is not None and [r.path for r in app.web.routes] == ["/"]


def test_handlers_in_modules_that_import_the_app_back(tmp_path):
    path = write(tmp_path, {
        "app.py": "from chalice import Chalice\n\napp = Chalice(app_name='loop')\n\nfrom chalicelib import views  # noqa\n",
        "chalicelib/__init__.py": "",
        "chalicelib/views.py": "from app import app\n\n@app.route('/v')\ndef view():\n    return {}\n\n"
                               "@app.on_sqs_message(queue='q')\ndef consume(event):\n    pass\n",
    })
    assert handlers(path) == {"api_handler": "app.app", "consume": "chalicelib.views.consume"}


def test_a_blueprint_registered_inside_a_function(tmp_path):
    path = write(tmp_path, {
        "app.py": "from chalice import Chalice\nfrom chalicelib.bp import bp\n\napp = Chalice(app_name='zap')\n\n"
                  "def create_app():\n    app.register_blueprint(bp, name_prefix='bp_')\n    return app\n\n"
                  "create_app()\n",
        "chalicelib/__init__.py": "",
        "chalicelib/bp.py": "from chalice import Blueprint\n\nbp = Blueprint(__name__)\n\n"
                            "@bp.lambda_function()\ndef one(event, context):\n    pass\n\n"
                            "@bp.lambda_function()\ndef two(event, context):\n    pass\n",
    })
    assert handlers(path) == {"bp_one": "chalicelib.bp.one", "bp_two": "chalicelib.bp.two"}


def test_app_py_without_chalice_anywhere_is_not_a_chalice_app(tmp_path):
    path = write(tmp_path, {"app.py": "from chalicelib.core import handler\n",
                            "chalicelib/__init__.py": "", "chalicelib/core.py": "def handler(event, context):\n    pass\n"})
    assert read_app(path) is None


def test_the_api_configuration_is_read_wherever_the_app_is_named(tmp_path):
    path = write(tmp_path, {
        "app.py": "from chalicelib.core import app\n\napp.api.cors = True\n"
                  "app.api.binary_types.append('application/x-thing')\n\n@app.route('/')\ndef index():\n    return {}\n",
        "chalicelib/__init__.py": "",
        "chalicelib/core.py": "from chalice import Chalice\n\napp = Chalice(app_name='c')\n"
                              "app.api.binary_types.extend(['application/x-core'])\n",
    })
    app = read_app(path)
    assert app is not None and app.web is not None
    assert app.web.routes[0].cors is not None
    assert app.web.binary_types[-2:] == ("application/x-core", "application/x-thing")
