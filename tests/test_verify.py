"""verify: the built artifacts, laid out as Lambda does, import and run the handler."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, offline_pyproject
from elf_helpers import needs_cc, plain_library, write
from factory import make_project, make_wheel

from lambda_tasks import verify as verify_module
from lambda_tasks.build import build
from lambda_tasks.checks.bytecode import BytecodeError
from lambda_tasks.config import load_settings
from lambda_tasks.report import Reporter
from lambda_tasks.verify import VerifyError, verify

HOST_RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}"
BIN = Path(sys.executable).parent


def built(root: Path, **flags):
    settings = load_settings(root, {}, {"runtime": HOST_RUNTIME, **flags})
    build(settings, reporter=Reporter(quiet=True))
    return settings


def run_verify(settings, event: Path | None = None):
    out = io.StringIO()
    result = verify(settings, event, Reporter(stream=out))
    return result, out.getvalue()


@pytest.fixture
def good_project(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "purelib", files={"purelib/__init__.py": "def hello():\n    return 'pure'\n"})
    root = make_project(
        tmp_path / "good", "purelib\n", pyproject=offline_pyproject(wheelhouse),
        app="import os, sys\nimport purelib\nfrom chalicelib import helper\n\n"
            "def handler(event, context):\n"
            "    print('log line from the handler')\n"
            "    return {'pure': purelib.hello(), 'value': helper.VALUE, 'event': event,\n"
            "            'task_root': os.environ['LAMBDA_TASK_ROOT'] == os.getcwd() == sys.path[0],\n"
            "            'remaining': context.get_remaining_time_in_millis() > 0}\n")
    # the same package in the function zip and in the layer: /var/task comes first on Lambda's sys.path
    write(root / "vendor" / "chalicelib" / "__init__.py", b"")
    write(root / "vendor" / "chalicelib" / "helper.py", b"VALUE = 'from the layer'\n")
    return root


def test_good_project_imports_and_runs_the_handler_with_the_event(good_project, tmp_path):
    settings = built(good_project)
    event = tmp_path / "e.json"
    event.write_text(json.dumps({"name": "Lambda"}))
    result, output = run_verify(settings, event)
    assert result.compiled_checked and not result.unchecked
    assert result.result == {"pure": "pure", "value": 42, "event": {"name": "Lambda"},
                             "task_root": True, "remaining": True}
    assert "log line from the handler" in output
    assert '"pure": "pure"' in output  # the answer is printed
    assert not list((good_project / "dist").glob("**/__pycache__"))


def test_without_event_only_imports_and_resolves(good_project):
    result, output = run_verify(built(good_project))
    assert result.results == {} and "log line" not in output and "resolved app.handler" in output


def test_missing_module_in_the_app_fails_and_names_it(tmp_path, wheelhouse):
    root = make_project(tmp_path / "bad", pyproject=offline_pyproject(wheelhouse),
                        app="import json\nimport missing_dependency\n\ndef handler(event, context):\n    return 1\n")
    with pytest.raises(VerifyError, match=r"app.py:2 imports missing_dependency, which is in neither the function "
                                          r"zip nor the layers"):
        run_verify(built(root))


def test_missing_module_deep_in_a_layer_fails_at_import(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "wrapper", files={"wrapper/__init__.py": "import not_installed_anywhere\n"})
    root = make_project(tmp_path / "deep", "wrapper\n", pyproject=offline_pyproject(wheelhouse),
                        app="import wrapper\n\ndef handler(event, context):\n    return 1\n")
    with pytest.raises(VerifyError, match=r"import of app failed: ModuleNotFoundError.*'not_installed_anywhere' is "
                                          r"in neither the function zip nor the layers"):
        run_verify(built(root))


def test_missing_handler_function_and_failing_handler(tmp_path, wheelhouse):
    root = make_project(tmp_path / "nohandler", pyproject=offline_pyproject(wheelhouse),
                        app="def main(event, context):\n    return 1 / 0\n")
    with pytest.raises(VerifyError, match=r"handler app.handler: app defines no handler at its top level"):
        run_verify(built(root))
    settings = load_settings(root, {}, {"runtime": HOST_RUNTIME, "handler": "app.main"})
    event = tmp_path / "e.json"
    event.write_text("{}")
    with pytest.raises(VerifyError, match=r"app.main: call of app.main failed: ZeroDivisionError"):
        run_verify(settings, event)


def test_no_build_and_wrong_target_are_clear_errors(good_project):
    from lambda_tasks.errors import LambdaTasksError

    settings = load_settings(good_project, {}, {"runtime": HOST_RUNTIME})
    with pytest.raises(LambdaTasksError, match="invoke build"):
        run_verify(settings)
    built(good_project)
    with pytest.raises(VerifyError, match=r"built for .*x86_64, not .*arm64"):
        run_verify(load_settings(good_project, {}, {"runtime": HOST_RUNTIME, "arch": "arm64"}))


@needs_cc
def test_without_the_targets_python_compiled_imports_are_reported_unchecked(tmp_path, wheelhouse, monkeypatch):
    def no_interpreter(target, configured):
        raise BytecodeError("none here")

    monkeypatch.setattr(verify_module, "find_interpreter", no_interpreter)
    root = make_project(tmp_path / "compiled", pyproject=offline_pyproject(wheelhouse),
                        app="import fastmod\n\ndef handler(event, context):\n    return fastmod.X\n")
    write(root / "vendor" / "fastmod" / "__init__.py", b"from . import _speed\nX = 1\n")
    write(root / "vendor" / "fastmod" / f"_speed.cpython-{sys.version_info[0]}{sys.version_info[1]}-x86_64-linux-gnu.so",
          plain_library())
    settings = built(root)
    result, output = run_verify(settings, None)
    assert not result.compiled_checked
    assert any("compiled module fastmod._speed" in note for note in result.unchecked)
    assert "not checked on this host" in output and "fastmod._speed" in output
    # the static part still runs: a missing module is still an error
    (root / "app.py").write_text("import fastmod\nimport nowhere_to_be_found\n\ndef handler(event, context):\n    return 1\n")
    with pytest.raises(VerifyError, match="nowhere_to_be_found"):
        run_verify(built(root))


def run(args, cwd):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_invoke_verify_task(good_project, tmp_path):
    (good_project / "tasks.py").write_text("from lambda_tasks.tasks import ns\n")
    (good_project / "e.json").write_text('{"name": "task"}')
    assert run([BIN / "invoke", "build", "--runtime", HOST_RUNTIME], good_project).returncode == 0
    done = run([BIN / "invoke", "verify", "--runtime", HOST_RUNTIME, "--event", "e.json"], good_project)
    assert done.returncode == 0, done.stderr
    assert '"name": "task"' in done.stdout and "verify: ok" in done.stdout
    (good_project / "app.py").write_text("import missing_dependency\n\ndef handler(event, context):\n    return 1\n")
    assert run([BIN / "invoke", "build", "--runtime", HOST_RUNTIME], good_project).returncode == 0
    failed = run([BIN / "invoke", "verify", "--runtime", HOST_RUNTIME], good_project)
    assert failed.returncode == 1
    assert "error: verify failed: app.py:1 imports missing_dependency" in failed.stderr


@pytest.mark.pypi
def test_examples_hello_verify_with_event(tmp_path):
    """The issue's acceptance check: `invoke verify --event` runs examples/hello from the Lambda-like layout."""
    (tmp_path / "tasks.py").write_text("from lambda_tasks.tasks import ns\n")
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.lambda-tasks]\nproject_dir = "{(REPO / "examples" / "hello").as_posix()}"\nlayer_name = "hello-deps"\n')
    env_args = ["--runtime", HOST_RUNTIME]
    assert run([BIN / "invoke", "build", *env_args], tmp_path).returncode == 0
    done = run([BIN / "invoke", "verify", *env_args, "--event", str(REPO / "examples" / "hello" / "event.json")], tmp_path)
    assert done.returncode == 0, done.stderr
    assert '"message": "Hello, Lambda!"' in done.stdout and '"libyaml": true' in done.stdout
