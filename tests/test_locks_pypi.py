"""Lock files made by the real tools, built from the real index: `pip lock` run on this 3.11 host (pip >= 25.1),
`uv export --format pylock.toml` with a dev group, a Poetry project without poetry.lock, and a Pipfile.lock
made by pipenv 2026.11.0 on Python 3.11 (tests/data/pipenv: pipenv is not installed by the tests)."""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import tomllib
from factory import build, make_project
from test_locks import Lines, _layer

from lambda_tasks.config import load_settings
from lambda_tasks.errors import ResolveError

pytestmark = [pytest.mark.pypi, pytest.mark.slow]
UV = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
DATA = Path(__file__).parent / "data"


def _names(versions: dict[str, str]) -> set[str]:
    return {name.replace("_", "-").lower() for name in versions}


def _bom_names(project: Path) -> set[str]:
    from packaging.pylock import Pylock

    data = tomllib.loads((project / "layers" / "pylock.toml").read_text())
    Pylock.from_dict(data)
    return {p["name"] for p in data["packages"]}


def _empty(tmp_path: Path) -> Path:
    project = make_project(tmp_path / "proj")
    (project / "requirements.txt").unlink()
    return project


def test_real_pip_lock_made_on_311_refused_for_310_and_built_for_312(tmp_path):
    pip_version = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True).stdout
    if tuple(int(n) for n in pip_version.split()[1].split(".")[:2]) < (25, 1) or sys.version_info[:2] != (3, 11):
        pytest.skip("needs pip >= 25.1 (pip lock) on a 3.11 host")
    project = _empty(tmp_path)
    subprocess.run([sys.executable, "-m", "pip", "lock", "--quiet", "anyio==4.6.2", "pytest==8.3.3", "-o",
                    "pylock.toml"], cwd=project, check=True)
    locked = {p["name"] for p in tomllib.loads((project / "pylock.toml").read_text())["packages"]}
    assert "exceptiongroup" not in locked and "tomli" not in locked  # pip locked for the 3.11 host
    with pytest.raises(ResolveError) as raised:
        build(load_settings(project, {}, {"runtime": "python3.10"}), reporter=Lines())
    # anyio 4.6.2 also asks for typing_extensions below 3.11
    assert str(raised.value).splitlines()[0] == ("dependency check failed: 3 distributions missing for "
                                                 "python3.10/x86_64: exceptiongroup, tomli, typing-extensions")
    assert "missing tomli: needed by pytest 8.3.3" in str(raised.value)
    manifest = build(load_settings(project, {}, {"runtime": "python3.12"}), reporter=Lines())
    assert _names(_layer(project, manifest)) == locked == _bom_names(project)


def test_real_uv_export_with_a_dev_group_does_not_ship_pytest(tmp_path):
    project = make_project(tmp_path / "proj", pyproject=textwrap.dedent("""\
        [project]
        name = "app"
        version = "0.1.0"
        requires-python = ">=3.10"
        dependencies = ["six"]

        [dependency-groups]
        dev = ["pytest"]
    """))
    (project / "requirements.txt").unlink()
    subprocess.run([UV, "lock", "--quiet", "--python", sys.executable], cwd=project, check=True)
    subprocess.run([UV, "export", "--quiet", "--frozen", "--no-emit-project", "--format", "pylock.toml", "-o",
                    "pylock.toml"], cwd=project, check=True)
    (project / "uv.lock").unlink()  # the pylock.toml is what is built
    lock = tomllib.loads((project / "pylock.toml").read_text())
    pytest_entry = next(p for p in lock["packages"] if p["name"] == "pytest")
    assert "dependency_groups" not in pytest_entry.get("marker", "")  # uv export writes no group marker
    reporter = Lines()
    manifest = build(load_settings(project, {}, {"runtime": "python3.12"}), reporter=reporter)
    assert _names(_layer(project, manifest)) == {"six"} == _bom_names(project)
    assert any(line.startswith("dependencies: left out") and "pytest" in line for line in reporter.lines)
    manifest = build(load_settings(project, {}, {"runtime": "python3.12", "groups": ["dev"]}), reporter=Lines())
    assert {"six", "pytest", "pluggy", "iniconfig"} <= _names(_layer(project, manifest))


def test_real_poetry_project_without_lock_is_resolved(tmp_path):
    project = make_project(tmp_path / "proj", pyproject=textwrap.dedent("""\
        [tool.poetry]
        name = "app"
        version = "0.1.0"
        description = ""
        authors = []

        [tool.poetry.dependencies]
        python = "^3.10"
        six = "^1.16"
        idna = { version = "^3.4", python = "<3.11" }

        [tool.poetry.group.dev.dependencies]
        pytest = "^8.0"

        [build-system]
        requires = ["poetry-core"]
        build-backend = "poetry.core.masonry.api"
    """))
    (project / "requirements.txt").unlink()
    reporter = Lines()
    manifest = build(load_settings(project, {}, {"runtime": "python3.12"}), reporter=reporter)
    assert _names(_layer(project, manifest)) == {"six"}
    assert any("[tool.poetry] dependencies (no poetry.lock: resolved for the target)" in line
               for line in reporter.lines)
    manifest = build(load_settings(project, {}, {"runtime": "python3.10"}), reporter=Lines())
    assert _names(_layer(project, manifest)) == {"six", "idna"}


def test_real_pipenv_lock(tmp_path):
    project = _empty(tmp_path)
    for name in ("Pipfile", "Pipfile.lock"):
        shutil.copy(DATA / "pipenv" / name, project / name)
    reporter = Lines()
    manifest = build(load_settings(project, {}, {"runtime": "python3.12", "arch": "arm64"}), reporter=reporter)
    shipped = _names(_layer(project, manifest))
    assert shipped == {"anyio", "certifi", "charset-normalizer", "idna", "requests", "sniffio", "urllib3"}
    assert shipped == _bom_names(project) and "pytest" not in shipped  # develop never ships
    with pytest.raises(ResolveError) as raised:  # pipenv locked on 3.11: anyio's exceptiongroup is not there
        build(load_settings(project, {}, {"runtime": "python3.10"}), reporter=Lines())
    assert "missing for python3.10/x86_64: exceptiongroup" in str(raised.value).splitlines()[0]
