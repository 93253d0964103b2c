"""The target is sticky: verify, publish-layer and deploy act on what the last build was for."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import offline_pyproject
from factory import make_project, make_wheel

BIN = Path(sys.executable).parent
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def run(args, cwd):
    return subprocess.run([str(BIN / "lambda-tasks"), *args], cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ), timeout=300)


@pytest.fixture
def project(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "purelib")
    return make_project(tmp_path / "myapp", "purelib\n", pyproject=offline_pyproject(wheelhouse))


def _target(root: Path) -> tuple[str, str]:
    data = json.loads((root / "layers" / "manifest.json").read_text())
    return data["runtime"], data["architecture"]


def test_verify_without_flags_keeps_the_built_target(project):
    built = run(["build", "--runtime", "python3.12", "--arch", "arm64"], project)
    assert built.returncode == 0, built.stderr
    before = (project / "layers" / "manifest.json").read_bytes()
    verified = run(["verify"], project)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "python3.12/arm64" in verified.stdout
    assert _target(project) == ("python3.12", "arm64")
    assert (project / "layers" / "manifest.json").read_bytes() == before


def test_a_flag_or_a_setting_still_names_another_target(project):
    assert run(["build", "--runtime", "python3.12", "--arch", "arm64"], project).returncode == 0
    rebuilt = run(["build", "--runtime", "python3.13"], project)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "target: python3.13/x86_64 (the last build was for python3.12/arm64)" in rebuilt.stdout
    assert _target(project) == ("python3.13", "x86_64")
    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text() + 'runtime = "python3.12"\n')
    # verify never rebuilds what the user built with --runtime (issue 27): it verifies that, and says so
    verified = run(["verify"], project)
    assert verified.returncode == 0, verified.stderr
    assert "verify: python3.13/x86_64, the last build's target (the settings say python3.12/x86_64" in verified.stdout
    assert _target(project) == ("python3.13", "x86_64")
    assert run(["build"], project).returncode == 0  # build follows the settings
    assert _target(project) == ("python3.12", "x86_64")
