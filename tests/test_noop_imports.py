"""A no-op build stays near start-up time: with the artifacts up to date, the process loads none of the heavy
modules (boto3/botocore, pip, elftools; packaging for an app that is not Chalice's) nor the stages that make
something (docs/speed.md)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import layered_project, offline_pyproject
from factory import make_project, make_wheel
from fake_chalice import make_chalice

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BIN = Path(sys.executable).parent
#: what a no-op build must not import: the measured heavy ones, and the rooms of the stages that make something
NOT_LOADED = ("boto3", "botocore", "pip", "elftools", "packaging", "lambda_tasks.resolve.resolver",
              "lambda_tasks.resolve.pip", "lambda_tasks.resolve.uv", "lambda_tasks.checks",
              "lambda_tasks.deploy", "lambda_tasks.verify", "lambda_tasks.aws", "lambda_tasks.assemble.app_pipeline",
              "lambda_tasks.assemble.layer_pipeline")
LIBRARY_CALL = """
import json, sys
from pathlib import Path
from lambda_tasks.commands import build
from lambda_tasks.framework import project_settings
from lambda_tasks.report import Reporter
build(project_settings(Path.cwd(), {}, {}), reporter=Reporter(quiet=True))
print(json.dumps(sorted(sys.modules)))
"""


def run(args: list, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env={**os.environ}, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def forbidden(modules: list[str]) -> list[str]:
    return sorted(m for m in modules if any(m == name or m.startswith(f"{name}.") for name in NOT_LOADED))


@pytest.fixture
def built(tmp_path) -> Path:
    """A project with a dependency layer and vendor/, built once: every build after it is a no-op."""
    root = layered_project(tmp_path)
    run([BIN / "lambda-tasks", "build"], root)
    return root


def test_the_console_script_no_op_imports_nothing_heavy(built):
    """The full no-op (no stamp: it decides by content) keeps its guarantees."""
    (built / "layers" / ".up-to-date.json").unlink(missing_ok=True)
    result = run([sys.executable, "-X", "importtime", BIN / "lambda-tasks", "build"], built)
    assert "up to date" in result.stdout
    imported = [line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert "lambda_tasks.assemble" in imported  # the build really ran in this process
    assert forbidden(imported) == []


def test_the_library_call_no_op_imports_nothing_heavy(built):
    modules = json.loads(run([sys.executable, "-c", LIBRARY_CALL], built).stdout.splitlines()[-1])
    assert "lambda_tasks.assemble.zip_pipeline" not in modules  # it was a no-op
    assert "lambda_tasks.assemble.plan" in modules
    assert forbidden(modules) == []


CHALICE_APP = "from chalice import Chalice\n\napp = Chalice(app_name='shop')\n\n\n@app.route('/')\ndef index():\n" \
              "    return {}\n"


@pytest.mark.parametrize("requirements, also_allowed", [("purelib\n", ()), ("chalice==1.34.0\npurelib\n", ("packaging",))])
def test_a_chalice_app_no_op_finds_its_runtime_wheel_without_the_resolvers(tmp_path, requirements, also_allowed):
    """Chalice's runtime wheel is part of the app's fingerprint: a no-op finds it in the cache (wheelhouse)
    without loading the resolvers; packaging only when a requirement line names chalice."""
    make_chalice(tmp_path / "wheels")
    make_wheel(tmp_path / "wheels", "purelib")
    root = make_project(tmp_path / "shop", requirements, app=CHALICE_APP,
                        pyproject=offline_pyproject(tmp_path / "wheels", ""))
    run([BIN / "lambda-tasks", "build"], root)
    result = run([sys.executable, "-X", "importtime", BIN / "lambda-tasks", "build"], root)
    assert "up to date" in result.stdout
    imported = [line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert "lambda_tasks.resolve.chalice_wheel" in imported
    assert [m for m in forbidden(imported) if m.split(".")[0] not in also_allowed] == []


def test_the_stamped_no_op_loads_neither_the_settings_nor_invoke(built):
    """The no-op the last build's stamp decides (lambda_tasks/up_to_date.py) runs before config, the command
    layer and Invoke are imported."""
    run([BIN / "lambda-tasks", "build"], built)  # the first build made dist/ and layers/: this one stamps
    result = run([sys.executable, "-X", "importtime", BIN / "lambda-tasks", "build"], built)
    assert "up to date" in result.stdout
    imported = [line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert "lambda_tasks.up_to_date" in imported
    assert [m for m in imported if m.startswith(("invoke", "lambda_tasks.config", "lambda_tasks.tasks",
                                                 "lambda_tasks.assemble", "dataclasses"))] == []
    assert forbidden(imported) == []


@pytest.mark.parametrize("told", [None, "1"])
def test_a_build_through_invoke_keeps_the_interpreters_bytecode_choice(built, tmp_path, told):
    """Invoke turns the bytecode cache off before it loads tasks.py; a command turns it back to the interpreter's
    choice, so the modules a build imports are not compiled again at every run (and -B is still obeyed)."""
    prefix = tmp_path / "pycache"
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(prefix)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if told:
        env["PYTHONDONTWRITEBYTECODE"] = told
    result = subprocess.run([BIN / "lambda-tasks", "build", "--force"], cwd=built, capture_output=True, text=True,
                            env=env, timeout=300)  # --force: never the stamp's, always Invoke's Program
    assert result.returncode == 0, result.stderr
    written = {path.name.split(".")[0] for path in prefix.rglob("*.pyc")}
    if told:
        assert written == set()
    else:
        assert {"app_pipeline", "zip_pipeline", "frontend"} <= written
