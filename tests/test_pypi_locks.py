"""The real tools' lock files from the real index, built for python3.12/arm64: the layer holds exactly the
locked versions. pylock.toml by `uv export`; poetry.lock made once by Poetry 2.5.1 (tests/data/poetry)."""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import tomllib
from factory import build, make_project
from test_locks import Lines, _layer, _settings

from lambda_tasks.sources.poetry_lock import read_poetry_lock
from lambda_tasks.targets import Target

pytestmark = pytest.mark.pypi
UV = shutil.which("uv") or str(Path(__file__).resolve().parent.parent / ".venv" / "bin" / "uv")


def _names(versions: dict[str, str]) -> dict[str, str]:
    return {name.replace("_", "-").lower(): version for name, version in versions.items()}


def test_real_pylock_from_uv_export(tmp_path):
    project = make_project(tmp_path / "proj", pyproject=textwrap.dedent("""\
        [project]
        name = "app"
        version = "0.1.0"
        requires-python = ">=3.10"
        dependencies = ["requests", "pydantic"]
    """))
    (project / "requirements.txt").unlink()
    subprocess.run([UV, "lock", "--quiet", "--python", sys.executable], cwd=project, check=True)
    subprocess.run([UV, "export", "--quiet", "--frozen", "--no-emit-project", "--format", "pylock.toml", "-o",
                    "pylock.toml"], cwd=project, check=True)
    lock = tomllib.loads((project / "pylock.toml").read_text())
    environment = Target("python3.12", "arm64").marker_environment()
    from packaging.markers import Marker

    locked = {p["name"]: p["version"] for p in lock["packages"]
              if "marker" not in p or Marker(p["marker"]).evaluate(environment)}
    reporter = Lines()
    manifest = build(_settings(project, arch="arm64"), reporter=reporter)
    assert any(line.startswith("dependencies: pylock.toml") for line in reporter.lines)
    assert _names(_layer(project, manifest)) == _names(locked)


def test_real_poetry_lock(tmp_path):
    project = make_project(tmp_path / "proj")
    (project / "requirements.txt").unlink()
    for name in ("pyproject.toml", "poetry.lock"):
        shutil.copy(Path(__file__).parent / "data" / "poetry" / "poetry2-project" / name, project / name)
    environment = Target("python3.12", "arm64").marker_environment()
    locked = {p.name: p.version for p in read_poetry_lock(project / "poetry.lock", environment)}
    manifest = build(_settings(project, arch="arm64"), reporter=Lines())
    assert _names(_layer(project, manifest)) == _names(locked)
    assert "pydantic-core" in _names(locked)  # a compiled wheel, chosen by name for aarch64 and fetched by pip
