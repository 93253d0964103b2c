"""A requirement that cannot be installed is named as the line that pulled it in, and for a dependency's, which
package and extra asked for it; a line whose marker leaves it out for the target is never named.

Shapes: aws-lambda-builders' requirements-numpy.txt (one package on several lines, each for one Python
version) and the issue's sqlalchemy[postgresql] -> psycopg2 (an extra's dependency that needs a compiler).

pip's ResolutionImpossible is either a conflict (named as one, with both sides) or a dependency with nothing
for the target (named with what asked for it): these read pip's wording, so this file is in noxfile.py's
RESOLVER_TESTS and runs on the oldest and newest pip (the captured wordings: tests/test_pip_messages.py)."""

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
    return error_lines(project, runtime)[0]


def error_lines(project: Path, runtime: str = "python3.12") -> list[str]:
    result = run(["build", "--runtime", runtime], project)
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr and not (project / "layers" / "manifest.json").exists()
    lines = result.stderr.splitlines()
    return [lines[0].removeprefix("error: "), *lines[1:]]


def offline(wheelhouse: Path, requirements: str) -> str:
    return f"--no-index\n--find-links {wheelhouse}\n{requirements}"


def project_of(tmp_path: Path, wheelhouse: Path, requirements: str, installer: str = "pip") -> Path:
    return make_project(tmp_path / "p", offline(wheelhouse, requirements),
                        pyproject=f'[tool.lambda-tasks]\ninstaller = "{installer}"\n')


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


# -- pip's ResolutionImpossible: a conflict, or nothing for the target


def _conflict_pins(wheelhouse: Path) -> None:
    make_wheel(wheelhouse, "needsold", requires=["helperdep<1"])
    make_wheel(wheelhouse, "helperdep")


def _unavailable_driver(wheelhouse: Path) -> None:  # sqlalchemy[postgresql] -> psycopg2, offline
    for version in ("1.0", "2.0"):
        make_wheel(wheelhouse, "sqlish", version=version, requires=["pgdriver>=2.7"])
    make_wheel(wheelhouse, "pgdriver", version="2.9", tag="cp312-cp312-win_amd64")


@pytest.mark.parametrize("installer", ["auto", "pip"])  # auto: uv fails, then pip says why
def test_a_version_conflict_names_both_sides_and_their_lines(tmp_path, wheelhouse, installer):
    _conflict_pins(wheelhouse)
    lines = error_lines(project_of(tmp_path, wheelhouse, "needsold\nhelperdep==1.0\n", installer))
    assert lines[0] == ("the requirements in requirements.txt conflict: helperdep==1.0 (requirements.txt line 4) and "
                        "helperdep<1 (from needsold 1.0, requirements.txt line 3)"), lines
    assert lines[1] == "  helperdep: helperdep==1.0 (requirements.txt line 4); helperdep<1 (from needsold 1.0, " \
                       "requirements.txt line 3)"
    assert "loosen one of the pins" in lines[-1] and "no wheel" not in "\n".join(lines)


def test_ranges_of_two_dependencies_that_do_not_meet_are_a_conflict(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "lowuser", requires=["shared<2"])
    make_wheel(wheelhouse, "highuser", requires=["shared>=2"])
    for version in ("1.0", "2.0"):
        make_wheel(wheelhouse, "shared", version)
    assert first_line(project_of(tmp_path, wheelhouse, "lowuser\nhighuser\n")) == (
        "the requirements in requirements.txt conflict: shared<2 (from lowuser 1.0, requirements.txt line 3) and "
        "shared>=2 (from highuser 1.0, requirements.txt line 4)")


def test_two_lines_that_pin_different_versions_are_named_each(tmp_path, wheelhouse):
    for version in ("1.0", "2.0"):
        make_wheel(wheelhouse, "purelib", version)
    lines = error_lines(project_of(tmp_path, wheelhouse, "purelib==1.0\npurelib==2.0\n"))
    assert lines[0] == ("the requirements in requirements.txt conflict: purelib==1.0 (requirements.txt line 3) and "
                        "purelib==2.0 (requirements.txt line 4)"), lines


@pytest.mark.parametrize("installer", ["auto", "pip"])
def test_a_transitive_requirement_without_a_wheel_is_named_with_what_asked_for_it(tmp_path, wheelhouse, installer):
    """sqlalchemy[postgresql] -> psycopg2 (no wheel for Linux): pip backtracks through every sqlalchemy and ends in
    ResolutionImpossible; that is no conflict to loosen, but psycopg2 to name, with what asked for it (pip 23.1 to
    25.2 print the same "conflicting dependencies" for both; pip 25.3+ list every package as unavailable)."""
    _unavailable_driver(wheelhouse)
    lines = error_lines(project_of(tmp_path, wheelhouse, "sqlish\n", installer))
    assert lines[0] == ("pgdriver>=2.7 (from sqlish, requirements.txt line 3) cannot be installed for "
                        "python3.12/x86_64: no wheel and no usable source distribution"), lines
    assert lines[1] == "  pip tried 2 version(s) of sqlish: each depends on pgdriver>=2.7"
    assert "conflict" not in "\n".join(lines) and "loosen" not in "\n".join(lines)


def test_a_conflict_beside_an_unavailable_dependency_is_named_as_the_conflict(tmp_path, wheelhouse):
    """pip stops at the first impossibility it meets: here the conflict, which is what is named."""
    _conflict_pins(wheelhouse)
    _unavailable_driver(wheelhouse)
    line = first_line(project_of(tmp_path, wheelhouse, "needsold\nhelperdep==1.0\nsqlish\n"))
    assert line.startswith("the requirements in requirements.txt conflict: helperdep==1.0 (requirements.txt line 4)")


@pytest.mark.pypi
def test_boto3_with_a_newer_botocore_pin_is_a_conflict_of_both_pins(tmp_path):
    """pip prints boto3's range as "botocore<1.30.0 and >=1.29.0": read as one range, not as nothing to read."""
    project = make_project(tmp_path / "p", "boto3==1.26.0\nbotocore==1.30.0\n")
    lines = error_lines(project)
    assert lines[0] == "the requirements in requirements.txt conflict: botocore==1.30.0 and botocore<1.30.0,>=1.29.0"
    assert lines[1] == ("  botocore: botocore==1.30.0 (requirements.txt line 2); botocore<1.30.0,>=1.29.0 (from "
                        "boto3 1.26.0, requirements.txt line 1)")


@pytest.mark.pypi
def test_a_dependency_with_only_windows_wheels_on_pypi_names_them(tmp_path):
    """pypiwin32 -> pywin32: wheels for Windows only, no sdist; named as such, not as "not found"."""
    lines = error_lines(make_project(tmp_path / "p", "pypiwin32==223\n"))
    assert lines[0] == ("pywin32>=223 (from pypiwin32, requirements.txt line 1) cannot be installed for "
                        "python3.12/x86_64: no distribution fits"), lines
    assert lines[1].startswith("  its wheels are only for cp") and "win_amd64" in lines[1]
