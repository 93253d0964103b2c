"""Shared fixtures: an isolated pip (no user config, no index unless a test asks) and a fresh cache."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """Each test gets its own wheel cache; pip ignores this machine's config (find-links, extra indexes)."""
    monkeypatch.setenv("LAMBDA_TASKS_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    for name in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX", "SOURCE_DATE_EPOCH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CI", "true")  # plain output lines


@pytest.fixture
def wheelhouse(tmp_path) -> Path:
    path = tmp_path / "wheelhouse"
    path.mkdir()
    return path


def offline_pyproject(wheelhouse: Path, extra: str = "") -> str:
    """A [tool.lambda-tasks] table that makes pip use only the test's own wheelhouse."""
    return (f'[tool.lambda-tasks]\npip_args = ["--no-index", "--find-links", "{wheelhouse.as_posix()}"]\n' + extra)


def lambda_layout(tmp: Path, app_zip: Path, layer_zips: list[Path]) -> tuple[Path, Path]:
    """Unzip as Lambda does: the function to /var/task, the layers to /opt in order."""
    task, opt = tmp / "var" / "task", tmp / "opt"
    task.mkdir(parents=True)
    opt.mkdir(parents=True)
    with zipfile.ZipFile(app_zip) as archive:
        archive.extractall(task)
    for layer in layer_zips:
        with zipfile.ZipFile(layer) as archive:
            archive.extractall(opt)
    return task, opt


def run_handler(task: Path, opt: Path, code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in ``python -I`` with Lambda's sys.path order, from the task root."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    prelude = (
        "import sys; sys.path[:0] = ["
        f"{str(task)!r}, {str(opt / 'python' / 'lib' / version / 'site-packages')!r}, {str(opt / 'python')!r}]\n"
    )
    return subprocess.run([sys.executable, "-I", "-S", "-c", prelude + code], cwd=task, capture_output=True, text=True)
