"""A few builds against the real Python Package Index (marked `pypi`; deselect with -m 'not pypi')."""

import sys
import zipfile

import pytest
from conftest import lambda_layout, run_handler
from factory import build, make_project

from lambda_tasks.config import load_settings
from lambda_tasks.errors import ResolveError

pytestmark = [pytest.mark.pypi, pytest.mark.slow]

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


def test_numpy_pandas_pyarrow_split_stable_and_scipy_over_budget(tmp_path):
    """Issue 3's done-when: ~68 MB zipped cannot be one inline layer; it splits, imports, and stays put."""
    root = make_project(tmp_path / "app", "numpy==2.1.3\npandas==2.2.3\npyarrow==18.1.0\n",
                        app="import pandas as pd, pyarrow as pa\n\ndef handler(event, context):\n"
                            "    return pa.Table.from_pandas(pd.DataFrame({'a': [1, 2, 3]})).num_rows\n")
    settings = load_settings(root, {}, {"runtime": "python3.11", "arch": "x86_64"})
    first = build(settings)
    assert 2 <= len(first.layers) <= 5
    assert all(layer.zip_bytes <= 52_428_800 for layer in first.layers)
    if sys.version_info[:2] == (3, 11):
        task, opt = lambda_layout(tmp_path / "lambda", root / first.app.path, [root / l.path for l in first.layers])
        result = run_handler(task, opt, "import app; print(app.handler({}, None))")
        assert result.returncode == 0 and result.stdout.strip() == "3", result.stderr
    (root / "requirements.txt").write_text("numpy==2.1.3\npandas==2.2.3\npyarrow==18.1.0\nsix\n")
    second = build(settings)
    changed = [b.name for a, b in zip(first.layers, second.layers, strict=False) if a.sha256 != b.sha256]
    assert len(second.layers) == len(first.layers) and len(changed) == 1
    before = {p.name: p.read_bytes() for p in (root / "layers").glob("*.zip")}
    (root / "requirements.txt").write_text("numpy==2.1.3\npandas==2.2.3\npyarrow==18.1.0\nsix\nscipy\n")
    from lambda_tasks.errors import LimitError

    with pytest.raises(LimitError) as error:
        build(settings)
    message = str(error.value)
    assert "262,144,000" in message or "250.0 MiB" in message
    assert "pyarrow" in message and "scipy" in message
    assert {p.name: p.read_bytes() for p in (root / "layers").glob("*.zip")} == before


def test_a_numpy_line_per_python_version_takes_the_targets_line(tmp_path):
    """Issue 10: markers are the target's, not this host's: python3.12/arm64 takes numpy 2.1.3 for aarch64."""
    requirements = 'numpy==1.26.4; python_version == "3.11"\nnumpy==2.1.3; python_version == "3.12"\n'
    root = make_project(tmp_path / "proj", requirements)
    manifest = build(load_settings(root, {}, {"runtime": "python3.12", "arch": "arm64"}))
    with zipfile.ZipFile(root / manifest.layers[0].path) as layer:
        names = layer.namelist()
    assert "python/numpy-2.1.3.dist-info/METADATA" in names
    assert any(name.endswith(".cpython-312-aarch64-linux-gnu.so") for name in names)
