"""Both installers give the same answer: uv's choice is checked against each wheel's Requires-Python, both bounds,
for the target's full version, and corrected (uv ignores upper bounds; pip takes them).

The issue's case: ``dataclasses`` for python3.10 is 0.6 with pip, 0.8 (``Requires-Python >=3.6, <3.7``) with a
plain ``uv pip compile``."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from factory import make_project, make_wheel

from lambda_tasks.resolve.requires_python import refused_by, requires_python
from lambda_tasks.targets import Target

BIN = Path(sys.executable).parent


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "lambda-tasks"), *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}, timeout=600)


def shipped(project: Path) -> list[str]:
    with zipfile.ZipFile(next((project / "layers").glob("*.zip"))) as layer:
        return sorted(name.split("/")[1] for name in layer.namelist() if name.endswith(".dist-info/METADATA"))


@pytest.mark.parametrize("spec, refused", [
    (">=3.6, <3.7", True), ("<3.10", True), (">=3.11", True), ("==3.10.*", False), (">=3.10.0", False),
    ("", False), ("~=3.6", False),
])
def test_requires_python_is_checked_with_both_bounds(tmp_path, spec, refused):
    wheel = make_wheel(tmp_path, "backport", "1.0", requires_python=spec)
    assert requires_python(wheel) == (spec or None)
    assert (refused_by(wheel, Target("python3.10", "x86_64")) is not None) == refused


@pytest.mark.slow
@pytest.mark.e2e
def test_uv_and_pip_take_the_same_release_when_upper_bounds_exclude_the_newest(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "backport", "0.8", requires_python=">=3.6, <3.7")
    make_wheel(wheelhouse, "backport", "0.7", requires_python=">=3.6, <3.7")
    make_wheel(wheelhouse, "backport", "0.6")
    make_wheel(wheelhouse, "usesit", "1.0", requires=["backport"])
    answers = {}
    for installer in ("auto", "uv", "pip"):
        project = make_project(tmp_path / installer, f"--no-index\n--find-links {wheelhouse}\nusesit\n",
                               pyproject=f'[tool.lambda-tasks]\ninstaller = "{installer}"\n')
        result = run(["build", "--runtime", "python3.10"], project)
        assert result.returncode == 0, result.stderr
        answers[installer] = shipped(project)
        if installer != "pip":
            lines = [line for line in result.stdout.splitlines() if "corrected" in line]
            assert lines == ["resolve: uv's answer corrected: backport 0.8 (>=3.6, <3.7), 0.7 (>=3.6, <3.7) exclude "
                             "python3.10/x86_64 (uv ignores Requires-Python upper bounds); took backport 0.6"]
    assert answers["auto"] == answers["uv"] == answers["pip"] == ["backport-0.6.dist-info", "usesit-1.0.dist-info"]


@pytest.mark.pypi
@pytest.mark.slow
def test_dataclasses_for_python310_is_0_6_with_the_default_installer(tmp_path):
    project = make_project(tmp_path / "p", "dataclasses\n")
    result = run(["build", "--runtime", "python3.10"], project)
    assert result.returncode == 0, result.stderr
    assert shipped(project) == ["dataclasses-0.6.dist-info"]
    assert "took dataclasses 0.6" in result.stdout
