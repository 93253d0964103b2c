"""Surprises on the newcomer's path (issue 27), found by walking it with real projects: each one fixed, and
checked here where the unit is small enough; through the real command line in test_deploy_outcome.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import offline_pyproject
from elf_helpers import EM_AARCH64, needs_cc, plain_library, with_machine
from factory import make_project, make_wheel

from lambda_tasks import host
from lambda_tasks.assemble.split import Budget, Unit, pack
from lambda_tasks.errors import LimitError
from lambda_tasks.report import counted
from lambda_tasks.targets import Target
from lambda_tasks.verify.verdict import LogEcho

MB = 1_048_576
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("slim", [False, True])
def test_a_size_error_advises_slim_only_when_it_is_off(slim):
    """pandas + pyarrow with slim = true: pyarrow alone is 52 MiB zipped; the error must not say "set slim = true"
    to a project that has it."""
    with pytest.raises(LimitError) as caught:
        pack([Unit("pyarrow", 52 * MB, 161 * MB), Unit("numpy", 13 * MB, 42 * MB)],
             Budget(5, 50 * MB, 250 * MB, 250 * MB, s3=False, slim=slim))
    message = str(caught.value)
    assert message.startswith("pyarrow alone is 52.0 MiB zipped")
    assert "set s3_bucket" in message
    assert ("set slim = true" in message) is not slim


WARNING = "[WARNING]\t2026-12-08T00:34:50.152Z\t\tLAMBDA_WARNING: Unhandled exception. The most likely cause ...\n"
ERROR = ("[ERROR] Runtime.ImportModuleError: Unable to import module 'app': compiled module psycopg2._psycopg cannot "
         "be loaded on this host\rTraceback (most recent call last):\r\n")


@pytest.mark.parametrize("blocked", [False, True])
def test_the_runtime_error_record_of_a_refused_import_is_left_out(blocked):
    """psycopg2-binary for arm64 verified on x86_64: verify refuses the compiled module, says "not checked on this
    host" and "ok"; the runtime client's ERROR record about the refusal must not be echoed above that."""
    said: list[str] = []
    echo = LogEcho(said.append)
    echo("START\n")
    echo(WARNING)
    echo(ERROR)
    echo.finish(keep=not blocked)
    assert said[0] == "  | START"
    if blocked:
        assert said == ["  | START"]
    else:
        assert said[1].startswith("  | [WARNING]") and said[2].startswith("  | [ERROR] Runtime.ImportModuleError")
        assert said[3] == "  | Traceback (most recent call last):"


def test_a_log_line_after_the_warning_and_its_record_releases_them():
    said: list[str] = []
    echo = LogEcho(said.append)
    echo(WARNING)
    echo(ERROR)
    echo("a record after them\n")
    echo.finish(keep=False)
    assert len(said) == 4 and said[-1] == "  | a record after them"


@needs_cc
@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.skipif(host.machine() == "aarch64", reason="needs a host that is not AArch64")
def test_verify_of_an_arm64_build_on_x86_64_echoes_no_error_record(tmp_path, wheelhouse, monkeypatch):
    monkeypatch.delenv(host.emulated_variable("aarch64"), raising=False)
    runtime = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    target = Target(runtime, "arm64")
    make_wheel(wheelhouse, "fastjson", tag=f"{target.abi}-{target.abi}-manylinux2014_aarch64", files={
        "fastjson/__init__.py": "from .fastjson import dumps\n",
        f"fastjson/fastjson.{target.extension_suffix}.so": with_machine(plain_library(), EM_AARCH64)})
    root = make_project(tmp_path / "arm", "fastjson\n", pyproject=offline_pyproject(wheelhouse),
                        app="import fastjson\n\ndef handler(event, context):\n    return 1\n")
    done = subprocess.run([str(BIN / "lambda-tasks"), "verify", "--runtime", runtime, "--arch", "arm64"],
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "not checked on this host: compiled module fastjson.fastjson (built for aarch64" in done.stdout
    assert "verify: ok (app.handler)" in done.stdout
    assert "Runtime.ImportModuleError" not in done.stdout and "LAMBDA_WARNING" not in done.stdout, done.stdout


def _run(root: Path, *args: str) -> str:
    done = subprocess.run([str(BIN / "lambda-tasks"), *args], cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.mark.e2e
@pytest.mark.slow
def test_deploy_after_build_for_another_target_never_mixes_the_two(tmp_path, iam_env, unique_name):
    """pyproject.toml names the runtime (python3.12), `build -r python3.11 -a arm64` made another target: deploy
    took the runtime from the settings and the arch from the manifest, and rebuilt for python3.12/arm64, which
    neither names. The last build's target applies as a pair, or not at all (then said in one line)."""
    root = make_project(tmp_path / "p", "", pyproject='[project]\nname = "mix"\n\n[tool.lambda-tasks]\n'
                        'runtime = "python3.12"\n', app="def handler(event, context):\n    return 1\n")
    name = unique_name()
    _run(root, "build", "--runtime", "python3.11", "--arch", "arm64")
    out = _run(root, "verify")
    assert "verify: python3.11/arm64, the last build's target (the settings say python3.12/x86_64;" in out, out
    out = _run(root, "deploy", "--function-name", name, "--plan", "--no-verify")
    assert "target: python3.12/x86_64 (the last build was for python3.11/arm64)" in out, out
    assert "python3.12/arm64" not in out

    (root / "pyproject.toml").write_text('[project]\nname = "mix"\n')  # no target of its own: the last build's
    _run(root, "build", "--runtime", "python3.11", "--arch", "arm64")
    out = _run(root, "deploy", "--function-name", name, "--plan", "--no-verify")
    assert "up to date: dist/app.zip and 0 layer(s) for python3.11/arm64" in out, out


@pytest.mark.e2e
@pytest.mark.slow
def test_a_src_layout_package_that_does_not_ship_is_said_and_vendor_dir_src_ships_it(tmp_path):
    """`uv init --package`: the handler's app.py imports the project's own src/reports; the lock's dependencies ship,
    the project itself does not. The build says so (a requirement such as `-e .` could install it, so a warning),
    and its way out, vendor_dir = "src", gives a verify that imports it."""
    root = make_project(tmp_path / "reports", "", pyproject='[project]\nname = "reports"\n\n[tool.lambda-tasks]\n'
                        f'runtime = "python{sys.version_info[0]}.{sys.version_info[1]}"\n',
                        app="import reports\n\ndef handler(event, context):\n    return reports.VALUE\n")
    (root / "src" / "reports").mkdir(parents=True)
    (root / "src" / "reports" / "__init__.py").write_text("VALUE = 42\n")
    out = _run(root, "build")
    assert ("warning: app.py imports reports, the project's own package under src/ (src/reports/): the build ships "
            "what the project depends on, not the project itself") in out, out
    assert 'vendor_dir = "src"' in out
    with (root / "pyproject.toml").open("a") as pyproject:
        pyproject.write('vendor_dir = "src"\n')
    out = _run(root, "build")
    assert "warning" not in out
    (root / "e.json").write_text("{}")
    out = _run(root, "verify", "--event", "e.json")
    assert "result of app.handler:\n42\n" in out, out


@pytest.mark.e2e
@pytest.mark.slow
def test_a_package_beside_app_py_that_does_not_ship_says_where_to_name_it(tmp_path):
    """The FastAPI app's todo/ package without app_paths: the error names the setting and where it goes."""
    root = make_project(tmp_path / "todo-api", "", pyproject='[project]\nname = "todo-api"\n',
                        app="from todo.routes import router\n\ndef handler(event, context):\n    return 1\n")
    (root / "todo").mkdir()
    (root / "todo" / "__init__.py").write_text("")
    (root / "todo" / "routes.py").write_text("router = None\n")
    done = subprocess.run([str(BIN / "lambda-tasks"), "build"], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-3:] == [
        "error: app.py imports todo, a module of the project that does not ship",
        "  todo/ is in the project, but not in app.py, chalicelib/ or app_paths",
        '  add it to the app: app_paths = ["todo"] in [tool.lambda-tasks] (pyproject.toml)'], done.stderr
    assert not (root / "dist" / "app.zip").exists()


def test_counts_agree_with_their_nouns():
    """The bundled example's first build said "resolve: 1 wheels" and "the 1 resolved distributions are"."""
    assert [counted(n, "wheel") for n in (0, 1, 2)] == ["0 wheels", "1 wheel", "2 wheels"]
