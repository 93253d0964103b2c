"""No surprise, through the real command line: a misspelt settings table is an error, every setting works from
invoke.yaml, names come from the project (said in the build's first line), unknown flags and commands get "did
you mean" in our format, `lambda-tasks --help` shows only our options, and a closed pipe ends quietly."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import offline_pyproject
from factory import make_project, make_wheel

from lambda_tasks.config import _FIELDS, load_settings, setting_names, table_settings
from lambda_tasks.tasks import invoke_config

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent


def run(args, cwd, **env):
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def one_error(done: subprocess.CompletedProcess, first: str) -> None:
    """Exit code 1, no traceback, and stderr's first line starts with ``first``."""
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[0].startswith(first), done.stderr


@pytest.fixture
def bare(tmp_path):
    """A project with no dependencies: builds in well under a second, offline."""
    root = make_project(tmp_path / "shop")
    (root / "tasks.py").write_text("from lambda_tasks.tasks import ns\n")
    return root


# ---------------------------------------------------------------- a settings table under a near-miss name


@pytest.mark.parametrize("table", ["lambda_tasks", "lambda-task", "Lambda-Tasks", "lambdatasks"])
def test_a_near_miss_table_name_is_an_error(bare, table):
    (bare / "pyproject.toml").write_text(f'[tool.{table}]\narch = "arm64"\n')
    for command in ([BIN / "lambda-tasks", "build"], [BIN / "invoke", "build"]):
        done = run(command, bare)
        one_error(done, f"error: [tool.{table}] is not read; did you mean [tool.lambda-tasks]?")
        assert not (bare / "dist").exists()


def test_other_tool_tables_are_left_alone(bare):
    (bare / "pyproject.toml").write_text('[tool.ruff]\nline-length = 100\n[tool.lambda]\nx = 1\n'
                                         '[tool.lambda-tasks]\nruntime = "python3.12"\n')
    assert run([BIN / "lambda-tasks", "build"], bare).returncode == 0


def test_a_near_miss_invoke_yaml_key_is_an_error(bare):
    (bare / "invoke.yaml").write_text("lambda-tasks:\n  arch: arm64\n")
    one_error(run([BIN / "invoke", "build"], bare), "error: 'lambda-tasks' in Invoke's config (invoke.yaml) is not "
                                                     "read; did you mean 'lambda_tasks'?")


# ---------------------------------------------------------------- every setting from invoke.yaml


def _sample(name: str):
    """A value for every setting as invoke.yaml would hold it (the default's shape)."""
    special = {"runtime": "python3.13", "arch": "arm64", "requirements": "requirements.txt", "installer": "uv",
               "package_type": "zip", "image_gzip": "members", "max_layers": 3, "reserved_concurrency": 2,
               "ephemeral_storage": 1024, "extra_layers": ["arn:aws:lambda:us-east-1:123456789012:layer:x:1"],
               "functions": [{"name": "api", "handler": "app.handler", "environment": {"A": "b"}}],
               "environment": {"GREETING": "hi"}, "tags": {"team": "a"}, "layer_groups": {"purelib": 1},
               "project_dir": ".", "max_parallel": 4, "regions": ["us-east-1"],
               "app_paths": ["todo"], "layer_name": "named-deps", "minimum_compression_size": 1024}
    if name in special:
        return special[name]
    field = _FIELDS[name]
    default = field.default_factory() if callable(field.default_factory) else field.default
    if isinstance(default, bool):
        return not default
    if isinstance(default, int):
        return default + 1
    if isinstance(default, tuple):
        return ["one", "two"]
    allowed = (inspect.getclosurevars(field.metadata["kind"]).nonlocals.get("allowed")
               if field.metadata["kind"].__closure__ else None)
    return allowed[-1] if allowed else f"x-{name}"  # a setting added later with a choice kind


def test_every_setting_is_read_from_invoke_yaml(tmp_path):
    values = {name: _sample(name) for name in setting_names()}
    (tmp_path / "invoke.yaml").write_text(yaml.safe_dump({"lambda_tasks": values}))
    from lambda_tasks.tasks import ns  # noqa: F401  (invoke_config loads the collection's declared settings)

    settings = load_settings(tmp_path, invoke_config(tmp_path))
    for name, value in values.items():
        got = getattr(settings, name)
        if name == "project_dir":
            assert got == tmp_path.resolve()
        elif name == "functions":
            assert got[0].name == "api" and dict(got[0].environment) == {"A": "b"}
        else:
            assert (list(got) if isinstance(got, tuple) else got) == value, name


@pytest.mark.slow
def test_table_settings_from_invoke_yaml_reach_the_function(bare):
    app = ("import os\n\ndef handler(event, context):\n    return {'greeting': os.environ.get('GREETING')}\n")
    (bare / "app.py").write_text(app)
    (bare / "invoke.yaml").write_text(yaml.safe_dump({"lambda_tasks": {
        "runtime": "python3.12", "environment": {"GREETING": "from invoke.yaml"}, "tags": {"team": "a"},
        "layer_groups": {"purelib": 1}, "functions": [{"name": "shop-api", "handler": "app.handler"}]}}))
    (bare / "event.json").write_text("{}")
    built = run([BIN / "invoke", "build"], bare)
    assert built.returncode == 0 and "Traceback" not in built.stderr, built.stderr
    verified = run([BIN / "invoke", "verify", "--event", "event.json", "--function", "shop-api"], bare)
    assert verified.returncode == 0, verified.stderr
    assert "from invoke.yaml" in verified.stdout
    assert set(table_settings()) >= {"environment", "tags", "layer_groups"}


# ---------------------------------------------------------------- names from the project


@pytest.mark.slow
def test_names_come_from_project_name_and_the_build_says_so(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "purelib")
    pyproject = '[project]\nname = "orders.api"\nversion = "1"\n\n' + offline_pyproject(wheelhouse)
    root = make_project(tmp_path / "repo", "purelib\n", pyproject=pyproject)
    done = run([BIN / "lambda-tasks", "build", "--json"], root)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == ("names: app orders-api, layers orders-api-deps-N (from [project] name in "
                                           "pyproject.toml)")
    assert [layer["name"] for layer in json.loads(done.stdout)["layers"]] == ["orders-api-deps-1"]
    plan = run([BIN / "lambda-tasks", "deploy", "--function-name", "f", "--plan"], root, AWS_REGION="us-east-1",
               AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x")
    assert "names: app orders-api" in plan.stdout + plan.stderr  # deploy builds (or finds the build) the same way


def test_names_fall_back_to_the_folder_and_say_why(bare):
    done = run([BIN / "lambda-tasks", "build"], bare)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == ("names: app shop, layers shop-deps-N (from the folder's name: no "
                                           "[project] name, no app_name)")


def test_names_set_by_the_user_are_not_explained(bare):
    (bare / "pyproject.toml").write_text('[tool.lambda-tasks]\napp_name = "a"\nlayer_name = "b"\n')
    done = run([BIN / "lambda-tasks", "build"], bare)
    assert done.returncode == 0 and "names:" not in done.stdout, done.stdout + done.stderr


# ---------------------------------------------------------------- the command line


@pytest.mark.parametrize("front", ["lambda-tasks", "invoke"])
@pytest.mark.parametrize("args, first", [
    (["build", "--runtme", "python3.12"], "error: unknown flag --runtme for build; did you mean --runtime?"),
    (["biuld"], "error: unknown command 'biuld'; did you mean 'build'?"),
    (["deploy", "--rgion", "x"], "error: unknown flag --rgion for deploy; did you mean --region"),
    (["build", "--runtime"], "error: --runtime needs a value (RUNTIME)"),
    (["--help", "biuld"], "error: unknown command 'biuld'; did you mean 'build'?"),
])
def test_unknown_flags_and_commands_say_did_you_mean(bare, front, args, first):
    one_error(run([BIN / front, *args], bare), first)


def test_console_help_shows_only_our_options(bare):
    done = run([BIN / "lambda-tasks", "--help"], bare)
    assert done.returncode == 0
    for invoke_own in ("--prompt-for-sudo-password", "--echo", "--pty", "--debug", "--write-pyc", "--complete"):
        assert invoke_own not in done.stdout
    assert "--version" in done.stdout and "build" in done.stdout
    one_error(run([BIN / "lambda-tasks", "build", "-d"], bare), "error: unknown flag -d for build")
    one_error(run([BIN / "lambda-tasks", "--prompt-for-sudo-password", "build"], bare),
              "error: unknown option --prompt-for-sudo-password")


def test_deploy_help_says_the_role_is_created(bare):
    done = run([BIN / "lambda-tasks", "--help", "deploy"], bare)
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "required to create" not in text and "the role deploy creates and reuses" in text
    assert "[--core-opts]" not in done.stdout and "Usage: lambda-tasks deploy [flags]" in done.stdout


def test_a_closed_pipe_ends_quietly(bare):
    process = subprocess.Popen([BIN / "lambda-tasks", "--help"], cwd=bare, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before the help is written, as with `| head` on a long output
    _, err = process.communicate(timeout=60)
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err


def test_a_table_setting_from_an_environment_variable_is_an_error_not_ignored(bare):
    done = run([BIN / "invoke", "build"], bare, INVOKE_LAMBDA_TASKS_ENVIRONMENT="A=b")
    one_error(done, "error: INVOKE_LAMBDA_TASKS_ENVIRONMENT is not read: environment is a table")


def test_invoke_list_into_a_closed_pipe_ends_quietly(bare):
    process = subprocess.Popen([BIN / "invoke", "--list"], cwd=bare, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err
