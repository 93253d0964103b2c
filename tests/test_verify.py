"""verify: the built artifacts, laid out as Lambda does, import and run the handler."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, offline_pyproject
from elf_helpers import EM_AARCH64, needs_cc, plain_library, with_machine, write
from factory import make_project, make_wheel

from lambda_tasks import host
from lambda_tasks import verify as verify_module
from lambda_tasks.assemble import build
from lambda_tasks.config import load_settings
from lambda_tasks.errors import BytecodeError, VerifyError
from lambda_tasks.report import Reporter
from lambda_tasks.targets import RUNTIMES, Target
from lambda_tasks.verify import _child, choose_plan, verify

HOST_RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}"
BIN = Path(sys.executable).parent


def built(root: Path, **flags):
    settings = load_settings(root, {}, {"runtime": HOST_RUNTIME, **flags})
    build(settings, reporter=Reporter(quiet=True))
    return settings


def run_verify(settings, event: Path | None = None):
    out = io.StringIO()
    result = verify(settings.layers, settings.function, event, Reporter(stream=out))
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


@pytest.mark.slow
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
    with pytest.raises(VerifyError, match=r"init failed: Runtime.ImportModuleError: Unable to import module 'app': "
                                          r"No module named 'missing_dependency'\n  module 'missing_dependency' is "
                                          r"in neither the function zip nor the layers\n  at /.*app.py:2$"):
        run_verify(built(root))


def test_missing_module_deep_in_a_layer_fails_at_import(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "wrapper", files={"wrapper/__init__.py": "import not_installed_anywhere\n"})
    root = make_project(tmp_path / "deep", "wrapper\n", pyproject=offline_pyproject(wheelhouse),
                        app="import wrapper\n\ndef handler(event, context):\n    return 1\n")
    with pytest.raises(VerifyError, match=r"(?s)init failed: Runtime.ImportModuleError: .*'not_installed_anywhere' "
                                          r"is in neither the function zip nor the layers"):
        run_verify(built(root))


@pytest.mark.slow
def test_missing_handler_function_and_failing_handler(tmp_path, wheelhouse):
    root = make_project(tmp_path / "nohandler", pyproject=offline_pyproject(wheelhouse),
                        app="def main(event, context):\n    return 1 / 0\n")
    with pytest.raises(VerifyError, match=r"Runtime.HandlerNotFound: Handler 'handler' missing on module 'app'"):
        run_verify(built(root))
    settings = load_settings(root, {}, {"runtime": HOST_RUNTIME, "handler": "app.main"})
    event = tmp_path / "e.json"
    event.write_text("{}")
    with pytest.raises(VerifyError, match=r"app.main: invocation failed: ZeroDivisionError: division by zero"):
        run_verify(settings, event)


def test_no_build_and_wrong_target_are_clear_errors(good_project):
    from lambda_tasks.errors import LambdaTasksError

    settings = load_settings(good_project, {}, {"runtime": HOST_RUNTIME})
    with pytest.raises(LambdaTasksError, match="invoke build"):
        run_verify(settings)
    built(good_project)
    with pytest.raises(VerifyError, match=r"built for .*x86_64, not .*arm64"):
        run_verify(load_settings(good_project, {}, {"runtime": HOST_RUNTIME, "arch": "arm64"}))


@pytest.mark.slow
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
    # the import stops at the refused module: the static check warns about what it could not reach
    (root / "app.py").write_text("import fastmod\nimport nowhere_to_be_found\n\ndef handler(event, context):\n    return 1\n")
    result, output = run_verify(built(root))
    assert any("app.py:2 imports nowhere_to_be_found" in warning for warning in result.warnings)


def run(args, cwd):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.e2e
@pytest.mark.slow
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
    assert "error: verify failed: app.handler: init failed: Runtime.ImportModuleError: Unable to import module " \
           "'app': No module named 'missing_dependency'" in failed.stderr
    assert '"errorType": "Runtime.ImportModuleError"' in failed.stdout  # Lambda's error document


@pytest.mark.pypi
@pytest.mark.e2e
@pytest.mark.slow
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


# ------------------------------------------------------------------ arm64 on another CPU

foreign_cpu = pytest.mark.skipif(host.machine() == "aarch64", reason="needs a host that is not AArch64")


def arm64_project(root: Path, wheelhouse: Path, runtime: str, app: str) -> Path:
    """A project whose layer has AArch64 extension modules: fastjson needs its own, speedy can do without."""
    target = Target(runtime, "arm64")
    tag = f"{target.abi}-{target.abi}-manylinux2014_aarch64"
    library = with_machine(plain_library(), EM_AARCH64)
    make_wheel(wheelhouse, "fastjson", tag=tag, files={
        "fastjson/__init__.py": "from .fastjson import dumps\n",
        f"fastjson/fastjson.{target.extension_suffix}.so": library})
    make_wheel(wheelhouse, "speedy", tag=tag, files={
        "speedy/__init__.py": "try:\n    from ._speedups import fast\nexcept ImportError:\n    fast = None\n",
        f"speedy/_speedups.{target.extension_suffix}.so": library})
    make_wheel(wheelhouse, "wrapper", files={"wrapper/__init__.py": "import not_installed_anywhere\n"})
    requirements = "".join(f"{name}\n" for name in ("fastjson", "speedy", "wrapper") if name in app)
    return make_project(root, requirements, pyproject=offline_pyproject(wheelhouse), app=app)


@pytest.fixture
def no_emulation(monkeypatch):
    monkeypatch.delenv(host.emulated_variable("aarch64"), raising=False)


@needs_cc
@foreign_cpu
def test_arm64_compiled_modules_are_not_checked_here_instead_of_missing(tmp_path, wheelhouse, no_emulation):
    root = arm64_project(tmp_path / "arm", wheelhouse, HOST_RUNTIME,
                         "import speedy\nimport fastjson\n\ndef handler(event, context):\n    return 1\n")
    settings = built(root, arch="arm64")
    event = tmp_path / "e.json"
    event.write_text("{}")
    result, output = run_verify(settings, event)
    assert not result.compiled_checked and result.results == {}
    assert result.not_loaded == ["speedy._speedups", "fastjson.fastjson"]
    assert (f"not checked on this host: compiled modules speedy._speedups, fastjson.fastjson (built for aarch64, "
            f"this host is {host.machine()}") in output
    assert "the rest of the import of app after fastjson.fastjson and the call of app.handler" in output
    assert "No module named" not in output


@needs_cc
@foreign_cpu
def test_arm64_module_that_goes_on_without_its_compiled_part_is_imported(tmp_path, wheelhouse, no_emulation):
    root = arm64_project(tmp_path / "arm", wheelhouse, HOST_RUNTIME,
                         "import speedy\n\ndef handler(event, context):\n    return speedy.fast is None\n")
    event = tmp_path / "e.json"
    event.write_text("{}")
    result, output = run_verify(built(root, arch="arm64"), event)
    assert result.result is True  # the handler ran; on Lambda it would have had the compiled speedups
    assert result.not_loaded == ["speedy._speedups"]
    assert "compiled module speedy._speedups (built for aarch64" in output
    assert "app went on without speedy._speedups" in output


@pytest.mark.slow
@needs_cc
@foreign_cpu
def test_arm64_missing_pure_module_still_fails_and_unreached_code_warns(tmp_path, wheelhouse, no_emulation):
    root = arm64_project(tmp_path / "arm", wheelhouse, HOST_RUNTIME,
                         "import speedy\nimport wrapper\n\ndef handler(event, context):\n    return 1\n")
    with pytest.raises(VerifyError, match=r"'not_installed_anywhere' is in neither the function zip nor the layers"):
        run_verify(built(root, arch="arm64"))
    # the import stops at fastjson: what it could not reach is a warning (the static check cannot tell
    # sys.path changes), never a failure
    (root / "app.py").write_text("import fastjson\nimport nowhere\n\ndef handler(event, context):\n    return 1\n")
    (root / "requirements.txt").write_text("fastjson\n")
    result, _ = run_verify(built(root, arch="arm64"))
    assert any("app.py:2 imports nowhere" in warning for warning in result.warnings)
    (root / "app.py").write_text("import fastjson\n\ndef main(event, context):\n    return 1\n")
    result, _ = run_verify(built(root, arch="arm64"))
    assert any("app defines no handler" in warning for warning in result.warnings)


def other_runtime_with_an_interpreter() -> str | None:
    """A Lambda runtime other than this interpreter's whose Python this host has (found, not hard-coded)."""
    for runtime in RUNTIMES:
        if runtime != HOST_RUNTIME and host.interpreters(Target(runtime, "arm64")):
            return runtime
    return None


@pytest.mark.slow
@needs_cc
@foreign_cpu
def test_arm64_on_another_python_version_runs_pure_code_under_that_version(tmp_path, wheelhouse, no_emulation):
    runtime = other_runtime_with_an_interpreter()
    if runtime is None:
        pytest.skip(f"this host has no Python of a Lambda runtime other than {HOST_RUNTIME}")
    root = arm64_project(tmp_path / "arm", wheelhouse, runtime,
                         "import sys\nimport speedy\n\ndef handler(event, context):\n"
                         "    return '%d.%d' % sys.version_info[:2]\n")
    settings = built(root, arch="arm64", runtime=runtime)
    event = tmp_path / "e.json"
    event.write_text("{}")
    result, output = run_verify(settings, event)
    assert result.result == runtime.removeprefix("python")
    assert result.not_loaded == ["speedy._speedups"] and "ran under this host's Python" not in output
    (root / "app.py").write_text("import wrapper\n\ndef handler(event, context):\n    return 1\n")
    (root / "requirements.txt").write_text("wrapper\n")
    with pytest.raises(VerifyError, match="not_installed_anywhere"):  # a real failure, not a warning
        run_verify(built(root, arch="arm64", runtime=runtime))


@needs_cc
@foreign_cpu
@pytest.mark.e2e
@pytest.mark.slow
def test_invoke_verify_arm64_exits_0_and_lists_what_was_not_checked(tmp_path, wheelhouse, monkeypatch):
    monkeypatch.delenv(host.emulated_variable("aarch64"), raising=False)
    root = arm64_project(tmp_path / "arm", wheelhouse, HOST_RUNTIME,
                         "import fastjson\n\ndef handler(event, context):\n    return 1\n")
    (root / "tasks.py").write_text("from lambda_tasks.tasks import ns\n")
    done = run([BIN / "invoke", "verify", "--runtime", HOST_RUNTIME, "--arch", "arm64"], root)
    assert done.returncode == 0, done.stderr
    assert "not checked on this host: compiled module fastjson.fastjson (built for aarch64" in done.stdout
    assert "verify: ok (app.handler)" in done.stdout


def write_fake_python(path: Path, tag: str, cpu: str) -> str:
    path.write_text(f"#!/bin/sh\necho {tag}\necho {cpu}\n")
    path.chmod(0o755)
    return str(path)


@foreign_cpu
def test_plan_for_arm64_uses_an_emulated_interpreter_only_when_named_and_runnable(tmp_path, monkeypatch):
    target = Target(HOST_RUNTIME, "arm64")
    variable = host.emulated_variable("aarch64")
    monkeypatch.setattr(host, "BINFMT_MISC", tmp_path / "binfmt")
    monkeypatch.setenv("PATH", str(tmp_path))  # no qemu-aarch64
    monkeypatch.delenv(variable, raising=False)
    plan = choose_plan(target, sys.executable)
    assert not plan.compiled and plan.same_version
    assert plan.why_not == f"built for aarch64, this host is {host.machine()}; no qemu-aarch64 here"
    fake = write_fake_python(tmp_path / "python-arm", target.cache_tag, "aarch64")
    monkeypatch.setenv(variable, fake)
    assert "neither qemu-aarch64 nor binfmt_misc" in choose_plan(target, sys.executable).why_not
    (tmp_path / "binfmt").mkdir()
    (tmp_path / "binfmt" / "status").write_text("enabled\n")
    (tmp_path / "binfmt" / "qemu-aarch64").write_text("enabled\ninterpreter /usr/bin/qemu-aarch64\n")
    plan = choose_plan(target, sys.executable)
    assert plan.command == (fake,) and plan.compiled and plan.same_version
    monkeypatch.setenv(variable, write_fake_python(tmp_path / "python-x86", target.cache_tag, host.machine()))
    assert not choose_plan(target, sys.executable).compiled


def test_the_child_refuses_compiled_modules_with_the_targets_suffixes_in_path_order(tmp_path):
    target = Target("python3.12", "arm64")
    task, opt, elsewhere = tmp_path / "task", tmp_path / "opt", tmp_path / "elsewhere"
    write(opt / f"fast.{target.extension_suffix}.so", b"")
    write(opt / "both.py", b"")
    write(task / f"both.{target.extension_suffix}.so", b"")  # /var/task comes first: the compiled one wins
    write(task / "shadow.py", b"")
    write(opt / "shadow.abi3.so", b"")
    write(opt / "pkg" / f"__init__.{target.extension_suffix}.so", b"")
    write(opt / "ns" / "sub.so", b"")  # a namespace package's compiled submodule
    write(elsewhere / f"outside.{target.extension_suffix}.so", b"")
    finder = _child.BlockCompiled([str(task), str(opt)], verify_module.imports.extension_suffixes(target))
    paths = [str(task), str(opt), str(elsewhere)]
    for name in ("fast", "both", "pkg"):
        with pytest.raises(_child.NotCheckable):
            finder.find_spec(name, paths)
    with pytest.raises(_child.NotCheckable):
        finder.find_spec("ns.sub", [str(opt / "ns")])
    assert finder.find_spec("shadow", paths) is None  # the pure module comes first: the path finder loads it
    assert finder.find_spec("outside", paths) is None  # not in the artifacts: not ours to refuse
    assert finder.find_spec("json", paths) is None
    assert finder.blocked == ["fast", "both", "pkg", "ns.sub"]


def test_from_dot_import_several_names_is_one_import_of_the_package():
    """`from . import a, b` was reported twice when the package was missing (one problem, one line)."""
    import ast

    from lambda_tasks.verify.static import top_level_imports

    tree = ast.parse("from . import a, b\nfrom .c import d\n")
    assert [name for _, name in top_level_imports(tree, "chalicelib")] == ["chalicelib", "chalicelib.c"]


@pytest.mark.slow
def test_a_deploy_remembers_a_success_on_the_same_inputs_and_verify_itself_always_runs(good_project):
    settings = built(good_project)

    def remembered(settings):
        out = io.StringIO()
        verify(settings.layers, settings.function, None, Reporter(stream=out), remembered=True)
        return out.getvalue()

    assert "verified before" not in remembered(settings)
    assert "verified before: the same artifacts, handlers, environments and interpreter" in remembered(settings)
    assert "verified before" not in run_verify(settings)[1]  # `invoke verify` runs every time
    other = load_settings(good_project, {}, {"runtime": HOST_RUNTIME, "environment": {"STAGE": "prod"}})
    assert "verified before" not in remembered(other)  # another environment: verified again
    (good_project / "app.py").write_text((good_project / "app.py").read_text() + "\n# edited\n")
    assert "verified before" not in remembered(built(good_project))  # another app zip
