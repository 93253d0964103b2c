"""A requirement that cannot be installed is named as the line that pulled it in, and for a dependency's, which
package and extra asked for it; a line whose marker leaves it out for the target is never named.

Shapes: aws-lambda-builders' requirements-numpy.txt (one package on several lines, each for one Python
version) and the issue's sqlalchemy[postgresql] -> psycopg2 (an extra's dependency that needs a compiler)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from factory import make_project, make_wheel
from factory_sdists import make_ext_sdist

BIN = Path(sys.executable).parent
pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "lambda-tasks"), *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}, timeout=600)


def first_line(project: Path, runtime: str = "python3.12") -> str:
    result = run(["build", "--runtime", runtime], project)
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    return result.stderr.splitlines()[0].removeprefix("error: ")


@pytest.mark.parametrize("installer", ["auto", "pip"])
def test_a_dependency_of_an_extra_is_named_with_who_asked_for_it(tmp_path, wheelhouse, installer):
    # the second "requirement" is the METADATA line that declares the extra
    make_wheel(wheelhouse, "ormlib", "1.3", requires=['needsc>=2.7; extra == "pg"\nProvides-Extra: pg'])
    make_ext_sdist(wheelhouse, "needsc", "2.9", ext="required")
    project = make_project(tmp_path / "p", f"--no-index\n--find-links {wheelhouse}\normlib[pg]==1.3\n",
                           pyproject=f'[tool.lambda-tasks]\ninstaller = "{installer}"\n')
    assert first_line(project).startswith("needsc>=2.7 (from ormlib[pg], requirements.txt line 3) cannot be "
                                          "installed for python3.12/x86_64: needs a C compiler")


def test_a_line_whose_marker_excludes_the_target_is_never_named(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "numlib", "1.0")
    make_wheel(wheelhouse, "numlib", "2.0", tag="cp312-cp312-win_amd64")
    project = make_project(tmp_path / "p", f"--no-index\n--find-links {wheelhouse}\n"
                                           "numlib==1.0; python_version == '3.11'\n"
                                           "numlib==2.0; python_version == '3.12'\n")
    line = first_line(project)
    assert line.startswith("numlib==2.0; python_version == '3.12' (requirements.txt line 4) cannot be installed"), line
    assert run(["build", "--runtime", "python3.11"], project).returncode == 0  # line 3 is the one for 3.11


def test_a_direct_requirement_is_named_without_its_hash_options(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "winonly", "1.0", tag="cp312-cp312-win_amd64")
    project = make_project(tmp_path / "p", f"--no-index\n--find-links {wheelhouse}\n"
                                           f"winonly==1.0 --hash=sha256:{'a' * 64}\n")
    assert first_line(project).startswith("winonly==1.0 (requirements.txt line 3) cannot be installed for "
                                          "python3.12/x86_64: no distribution fits")


@pytest.mark.pypi
def test_sqlalchemy_postgresql_names_the_chain_to_psycopg2(tmp_path):
    project = make_project(tmp_path / "p", "sqlalchemy[postgresql]==1.4.54\n")  # has wheels: no build first
    line = first_line(project)
    assert line.startswith("psycopg2") and "(from sqlalchemy[postgresql], requirements.txt line 1) cannot be " \
        "installed for python3.12/x86_64: needs a C compiler" in line, line
    assert ";" not in line.split(" (from", 1)[0]
