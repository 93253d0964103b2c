"""A few builds against the real Python Package Index (marked `pypi`; deselect with -m 'not pypi')."""

import sys
import zipfile

import pytest

from conftest import lambda_layout, run_handler
from factory import make_project
from lambda_tasks.build import build
from lambda_tasks.config import load_settings
from lambda_tasks.errors import ResolveError

pytestmark = pytest.mark.pypi

APP = (
    "import requests, pydantic, pydantic_core\n\n"
    "class Event(pydantic.BaseModel):\n    name: str\n\n"
    "def handler(event, context):\n"
    "    return f'{Event(**event).name} {requests.__version__} {pydantic.VERSION}'\n"
)


def names_of(path):
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


@pytest.mark.parametrize("runtime, arch, machine", [("python3.11", "x86_64", "x86_64"), ("python3.12", "arm64", "aarch64")])
def test_requests_and_pydantic(tmp_path, runtime, arch, machine):
    root = make_project(tmp_path / "app", "requests==2.32.3\npydantic==2.10.4\n", app=APP)
    manifest = build(load_settings(root, {}, {"runtime": runtime, "arch": arch}))
    layer = root / manifest.layers[0].path
    names = names_of(layer)
    version = runtime.replace("python3.", "cpython-3")
    compiled = [n for n in names if n.endswith(".so")]
    assert compiled and all(f"{version}-{machine}-linux-gnu" in n for n in compiled), compiled
    assert {"pydantic-core", "requests", "urllib3"} <= set(manifest.layers[0].distributions)
    host = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    if runtime == host and machine == "x86_64":  # the compiled modules can load here: run the handler
        task, opt = lambda_layout(tmp_path / "lambda", root / manifest.app.path, [layer])
        result = run_handler(task, opt, "import app; print(app.handler({'name': 'ok'}, None))")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "ok 2.32.3 2.10.4"


def test_compiled_sdist_psycopg2_fails_with_vendor_advice(tmp_path):
    root = make_project(tmp_path / "app", "psycopg2==2.9.10\n")
    with pytest.raises(ResolveError) as error:
        build(load_settings(root, {}, {"runtime": "python3.12"}))
    assert "psycopg2==2.9.10" in str(error.value) and "vendor/" in str(error.value)
    assert not (root / "layers").exists()


def test_pure_sdist_docopt_works(tmp_path):
    root = make_project(tmp_path / "app", "docopt==0.6.2\n")
    manifest = build(load_settings(root, {}, {"runtime": "python3.13", "arch": "arm64"}))
    assert "python/docopt.py" in names_of(root / manifest.layers[0].path)
