"""The real commands, as a user runs them: `invoke build` and the `lambda-tasks` console script."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, offline_pyproject
from factory import make_project, make_wheel

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent


def run(args, cwd, **env):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env={**os.environ, **env}, timeout=300)


@pytest.fixture
def user_project(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "purelib")
    root = make_project(tmp_path / "myapp", "purelib\n", pyproject=offline_pyproject(wheelhouse, 'runtime = "python3.12"\n'))
    (root / "tasks.py").write_text("from lambda_tasks.tasks import ns\n")
    return root


@pytest.mark.slow
def test_invoke_build_then_up_to_date(user_project):
    first = run([BIN / "invoke", "build"], user_project)
    assert first.returncode == 0, first.stderr
    assert "layers/myapp-deps-1.zip" in first.stdout and (user_project / "dist" / "app.zip").is_file()
    second = run([BIN / "invoke", "build"], user_project)
    assert second.returncode == 0 and "up to date" in second.stdout


@pytest.mark.slow
def test_console_script_without_tasks_py(user_project):
    (user_project / "tasks.py").unlink()
    result = run([BIN / "lambda-tasks", "build", "--arch", "arm64"], user_project)
    assert result.returncode == 0, result.stderr
    assert "python3.12/arm64" in result.stdout


@pytest.mark.slow
def test_invoke_config_env_var(user_project):
    result = run([BIN / "invoke", "build"], user_project, INVOKE_LAMBDA_TASKS_LAYER_NAME="fromenv")
    assert result.returncode == 0, result.stderr
    assert (user_project / "layers" / "fromenv-1.zip").is_file()


@pytest.mark.parametrize(
    "args, setup, message",
    [
        (["--runtime", "python3.9"], None, "runtime 'python3.9' is not a supported Lambda Python runtime"),
        (["--arch", "amd64"], None, "arch 'amd64' is not a Lambda architecture"),
        (["--project-dir", "missing"], None, "does not exist"),
        ([], "nomodule", "no app.py"),
        pytest.param([], "badreq", "does-not-exist", marks=pytest.mark.slow),  # pip looks it up
        ([], "badsetting", "unknown setting 'layer-nam'"),
    ],
)
def test_errors_are_one_line_exit_1_no_traceback(user_project, args, setup, message):
    if setup == "nomodule":
        (user_project / "app.py").unlink()
    elif setup == "badreq":
        (user_project / "requirements.txt").write_text("does-not-exist\n")
    elif setup == "badsetting":
        with open(user_project / "pyproject.toml", "a") as handle:
            handle.write('layer-nam = "x"\n')
    result = run([BIN / "invoke", "build", *args], user_project)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (user_project / "dist").exists()


def test_help_documents_every_flag():
    result = run([BIN / "invoke", "--help", "build"], REPO)
    assert result.returncode == 0
    for flag in ("--project-dir", "--runtime", "--arch", "--force", "--bytecode"):
        assert flag in result.stdout


def test_ctrl_c_while_the_console_script_starts_is_one_line_and_130(monkeypatch, capsys):
    """Before a command runs (the stamp's check, Invoke's parse), Ctrl-C ends as a command's own does."""
    from lambda_tasks import cli, errors, up_to_date

    def interrupted(program: str, argv: list[str]) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(up_to_date, "fast_path", interrupted)
    monkeypatch.setattr(sys, "argv", ["lambda-tasks", "build"])
    with pytest.raises(SystemExit) as ended:
        cli.main()
    assert ended.value.code == 130
    assert capsys.readouterr().err == errors.INTERRUPTED + "\n"
