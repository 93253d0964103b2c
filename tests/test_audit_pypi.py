"""The shared-library closure on real packages from the Python Package Index (marked `pypi`).

psycopg2 is built from its sdist on this machine (gcc, the Python headers and libpq's pg_config), as a user who
vendors it would; the wheels are PyPI's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from factory import build, make_project

from lambda_tasks.assemble.collect import wheel_entries
from lambda_tasks.checks.audit import audit
from lambda_tasks.config import load_settings
from lambda_tasks.entries import LAYER_MOUNT
from lambda_tasks.errors import AuditError
from lambda_tasks.report import Reporter
from lambda_tasks.targets import Target

pytestmark = [pytest.mark.pypi, pytest.mark.slow]

BIN = Path(sys.executable).parent
HOST = f"python{sys.version_info[0]}.{sys.version_info[1]}"
PY311 = Target("python3.11", "x86_64")
on_x86_64 = pytest.mark.skipif(os.uname().machine != "x86_64", reason="builds a native module for this host")


def download(dest: Path, requirement: str, target: Target) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(dest),
                    *target.pip_target_args(), requirement], check=True, capture_output=True, timeout=300)
    return next(dest.glob("*.whl"))


@pytest.fixture(scope="module")
def psycopg2_vendor(tmp_path_factory) -> Path:
    """psycopg2 2.9.10 compiled from source for this host's Python: its extension needs libpq.so.5."""
    if shutil.which("pg_config") is None or shutil.which("cc") is None:
        pytest.skip("building psycopg2 from source needs cc and pg_config (Debian: libpq-dev)")
    vendor = tmp_path_factory.mktemp("psycopg2") / "vendor"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-binary", "psycopg2",
                           "--target", str(vendor), "psycopg2==2.9.10"], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.skip(f"psycopg2 did not build here: {done.stderr.strip().splitlines()[-1:]}")
    for extra in vendor.glob("*.dist-info"):
        shutil.rmtree(extra)
    return vendor


@on_x86_64
def test_psycopg2_built_from_source_fails_the_build_naming_libpq_and_psycopg2_binary(tmp_path, psycopg2_vendor):
    root = make_project(tmp_path / "app", app="import psycopg2\n\ndef handler(event, context):\n    return 1\n",
                        pyproject=f'[tool.lambda-tasks]\nruntime = "{HOST}"\n')
    shutil.copytree(psycopg2_vendor, root / "vendor")
    done = subprocess.run([BIN / "lambda-tasks", "build"], cwd=root, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CI": "true"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "libpq.so.5" in done.stderr and "psycopg2-binary" in done.stderr
    assert "python/psycopg2/_psycopg.cpython-" in done.stderr
    assert not (root / "layers" / "manifest.json").exists()


def test_psycopg2_binary_passes(tmp_path):
    root = make_project(tmp_path / "app", "psycopg2-binary==2.9.10\n")
    manifest = build(load_settings(root, {}, {"runtime": "python3.11"}), reporter=Reporter(quiet=True))
    assert "psycopg2-binary" in manifest.layers[0].distributions


def test_pymongo_with_extension_files_for_other_pythons_passes_for_python311(tmp_path):
    root = make_project(tmp_path / "app", "pymongo==4.13.2\n")
    lines: list[str] = []

    class Said(Reporter):
        def info(self, message: str) -> None:
            lines.append(message)

    manifest = build(load_settings(root, {}, {"runtime": "python3.11"}), reporter=Said(quiet=True))
    assert "pymongo" in manifest.layers[0].distributions
    assert any("extension files built for other Pythons (pymongo" in line for line in lines), "\n".join(lines)
    slimmed = build(load_settings(root, {}, {"runtime": "python3.11", "slim": True}), reporter=Said(quiet=True))
    with zipfile.ZipFile(root / slimmed.layers[0].path) as archive:
        compiled = sorted(name.rsplit("/", 1)[1] for name in archive.namelist() if name.endswith(".so"))
    assert compiled == ["_cbson.cpython-311-x86_64-linux-gnu.so", "_cmessage.cpython-311-x86_64-linux-gnu.so"]
    assert any("with 4 extension files for other Pythons" in line for line in lines), "\n".join(lines)


def test_opencv_python_fails_naming_libgl_and_headless_passes(tmp_path):
    """The audit stage on PyPI's wheels (about 60 and 50 MB; each downloads in a few seconds here)."""
    gui = download(tmp_path / "gui", "opencv-python==4.10.0.84", PY311)
    with pytest.raises(AuditError) as caught:
        audit(wheel_entries(gui), PY311, mount=LAYER_MOUNT)
    message = str(caught.value)
    assert "libGL.so.1" in message.splitlines()[0]
    assert "python/cv2/cv2.abi3.so (opencv-python)" in message and "opencv-python-headless" in message
    headless = download(tmp_path / "headless", "opencv-python-headless==4.10.0.84", PY311)
    assert audit(wheel_entries(headless), PY311, mount=LAYER_MOUNT)
