"""The real `nox` command on the bundled example (examples/hello with its noxfile.py), `deploy --plan` through
Nox against moto's server, and the console script's --json and --version.

The example's PyYAML comes from a wheel made here (a pure-Python `yaml` with safe_load), so these run offline;
the real PyYAML build of the example is test_verify.py's pypi test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from aws_helpers import ROLE_POLICY
from conftest import AWS_REGION, REPO, offline_pyproject
from factory import make_project, make_wheel

from lambda_tasks import __version__
from lambda_tasks.flags import COMMANDS
from lambda_tasks.nox import SESSIONS

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
FAKE_YAML = "def safe_load(text):\n    return dict(line.split(': ', 1) for line in text.splitlines() if ': ' in line)\n"


def run(args, cwd, **env) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


@pytest.fixture
def example(tmp_path, wheelhouse):
    """examples/hello as shipped (app.py, chalicelib/, vendor/, requirements.txt, noxfile.py), built offline."""
    make_wheel(wheelhouse, "PyYAML", version="6.0.3", files={"yaml/__init__.py": FAKE_YAML})
    root = tmp_path / "hello"
    shutil.copytree(REPO / "examples" / "hello", root, ignore=shutil.ignore_patterns("dist", "layers", ".nox"))
    with open(root / "pyproject.toml", "a") as handle:
        handle.write(offline_pyproject(wheelhouse).split("\n", 1)[1])  # pip_args under the existing table
    return root


def test_nox_list_shows_each_session_with_its_one_line_description(example):
    listed = run([BIN / "nox", "--list"], example)
    assert listed.returncode == 0, listed.stderr
    for name in SESSIONS:
        assert f"{name} -> {COMMANDS[name].summary}" in listed.stdout


@pytest.mark.slow
def test_nox_build_then_verify_then_bad_flag_and_bad_value(example):
    built = run([BIN / "nox", "-s", "build", "--", "--runtime", "python3.11"], example)
    assert built.returncode == 0, built.stderr
    assert "write: layers/hello-deps-1.zip" in built.stdout
    manifest = json.loads((example / "layers" / "manifest.json").read_text())
    assert manifest["runtime"] == "python3.11" and manifest["layers"][0]["distributions"] == [
        "pyyaml", "vendor/hello_vendored"]

    verified = run([BIN / "nox", "-s", "verify"], example)  # the example's pyproject.toml names python3.12
    assert verified.returncode == 0, verified.stderr
    assert "python3.12/x86_64" in verified.stdout and "verify: ok (app.handler)" in verified.stdout

    for args, message in ((["--bogus"], "unknown flag --bogus for build"),
                          (["--runtime", "python3.9"], "runtime 'python3.9' is not a supported Lambda Python runtime")):
        failed = run([BIN / "nox", "-s", "build", "--", *args], example)
        assert failed.returncode == 1 and "Traceback" not in failed.stderr
        aborted = [line for line in failed.stderr.splitlines() if "Session build aborted" in line]
        assert len(aborted) == 1 and message in aborted[0], failed.stderr


def test_importing_lambda_tasks_nox_without_nox_is_one_line():
    code = "import sys; sys.modules['nox'] = None; import lambda_tasks.nox"
    done = run([sys.executable, "-c", code], REPO)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "ImportError: lambda_tasks.nox needs Nox in the environment Nox runs in: pip install nox (lambda-tasks is "
        "not on PyPI: pip install '<path to a lambda-tasks clone>[nox]')")


def test_console_script_version():
    done = run([BIN / "lambda-tasks", "--version"], REPO)
    assert done.returncode == 0 and done.stdout.strip() == f"lambda-tasks {__version__}"


@pytest.mark.slow
def test_build_json_is_one_document_on_stdout(example):
    done = run([BIN / "lambda-tasks", "build", "--json"], example)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)  # nothing else on stdout
    assert summary["command"] == "build" and summary["lambda_tasks"] == __version__ and summary["changed"] is True
    assert summary["manifest"] == "layers/manifest.json" and summary["app"]["path"] == "dist/app.zip"
    assert [layer["name"] for layer in summary["layers"]] == ["hello-deps-1"]
    assert "write: layers/hello-deps-1.zip" in done.stderr  # progress went to stderr
    again = json.loads(run([BIN / "lambda-tasks", "build", "-j"], example).stdout)
    assert again["changed"] is False and again["app"] == summary["app"]


# ---------------------------------------------------------------- AWS: moto's server


@pytest.fixture
def aws_project(tmp_path, wheelhouse, unique_name):
    make_wheel(wheelhouse, "alpha")
    name = unique_name("nox")
    root = make_project(tmp_path / name, "alpha\n", pyproject=offline_pyproject(wheelhouse, 'runtime = "python3.12"\n'))
    (root / "noxfile.py").write_text("from lambda_tasks.nox import add_sessions\n\nadd_sessions(globals())\n")
    return root


@pytest.mark.slow
def test_nox_deploy_plan_changes_nothing_then_lambda_tasks_deploy_json(moto_env, aws_project):
    lam = boto3.client("lambda", region_name=AWS_REGION)
    role = boto3.client("iam", region_name=AWS_REGION).create_role(
        RoleName=f"{aws_project.name}-role", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
    fn = f"{aws_project.name}-f"
    planned = run([BIN / "nox", "-s", "deploy", "--", "--function-name", fn, "--role", role, "--plan", "--json"],
                  aws_project, **moto_env)
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert plan["plan"] is True and plan["changed"] is True
    assert [(f["name"], f["action"]) for f in plan["functions"]] == [(fn, "create")]
    assert [(layer["action"], layer["arn"]) for layer in plan["layers"]] == [("publish", None)]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=fn)
    assert lam.list_layer_versions(LayerName=plan["layers"][0]["name"])["LayerVersions"] == []

    done = run([BIN / "lambda-tasks", "deploy", "--function-name", fn, "--role", role, "--memory", "256", "-j"],
               aws_project, **moto_env)
    assert done.returncode == 0, done.stderr
    deployed = json.loads(done.stdout)
    assert [(f["name"], f["action"], f["region"]) for f in deployed["functions"]] == [(fn, "create", AWS_REGION)]
    layer = deployed["layers"][0]
    assert layer["action"] == "publish" and layer["arn"].startswith("arn:aws:lambda:")
    config = lam.get_function(FunctionName=fn)["Configuration"]
    assert config["MemorySize"] == 256 and [entry["Arn"] for entry in config["Layers"]] == [layer["arn"]]
    assert "created" in done.stderr  # the progress lines, on stderr

    bad = run([BIN / "nox", "-s", "deploy", "--", "--function-name", fn, "--memory", "5"], aws_project, **moto_env)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "Session deploy aborted: 1 setting AWS would refuse: memory" in bad.stderr
    assert "memory: Lambda takes 128 to 10240 MB, not 5" in bad.stderr  # the detail, above Nox's line
