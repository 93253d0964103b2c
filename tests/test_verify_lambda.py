"""verify runs handlers as Lambda does: awslambdaric against a local Runtime API, Lambda's environment only (never
the developer's shell), Lambda's error document, limits enforced, the static check a warning, honest on foreign
CPUs, and `invoke verify --all`'s table. Through the real command line where users see it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, offline_pyproject
from elf_helpers import EM_AARCH64, needs_cc, plain_library, with_machine, write
from factory import make_project, make_wheel
from fake_chalice import make_chalice

from lambda_tasks import host
from lambda_tasks.assemble import build
from lambda_tasks.config import load_settings
from lambda_tasks.errors import VerifyError
from lambda_tasks.report import Reporter
from lambda_tasks.targets import Target
from lambda_tasks.verify import _child, sandbox, verify

HOST_RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}"
BIN = Path(sys.executable).parent
TASKS = "from lambda_tasks.tasks import ns\n"


def invoke(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "invoke"), *args], cwd=root, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def project(root: Path, wheelhouse: Path, app: str, extra: str = "", requirements: str = "") -> Path:
    make_project(root, requirements, pyproject=offline_pyproject(wheelhouse, f'runtime = "{HOST_RUNTIME}"\n' + extra),
                 app=app)
    (root / "tasks.py").write_text(TASKS)
    return root


def verified(root: Path, event: object = None, **flags):
    settings = load_settings(root, {}, {"runtime": HOST_RUNTIME, **flags})
    build(settings, reporter=Reporter(quiet=True))
    path = None
    if event is not None:
        path = root / "event.json"
        path.write_text(json.dumps(event))
    out = io.StringIO()
    return verify(settings.layers, settings.function, path, Reporter(stream=out), regions=settings.regions), \
        out.getvalue()


# ---------------------------------------------------------------- the environment: Lambda's, never the shell's

SLACK_APP = ("import os\n\nWEBHOOK = os.environ['SLACK_WEBHOOK_URL']\n\n"
             "def handler(event, context):\n    return {'webhook': WEBHOOK}\n")


@pytest.mark.e2e
@pytest.mark.slow
def test_a_variable_read_at_import_that_the_config_does_not_set_fails_whatever_the_shell_holds(tmp_path, wheelhouse):
    root = project(tmp_path / "slack", wheelhouse, SLACK_APP)
    shell = {"SLACK_WEBHOOK_URL": "https://hooks.example/from-the-developers-shell"}
    failed = invoke(root, "verify", env=shell)
    assert failed.returncode == 1, failed.stdout
    assert "error: verify failed: app.handler: init failed: KeyError: 'SLACK_WEBHOOK_URL'" in failed.stderr
    assert "\n  at /var/task/app.py:3\n" in failed.stderr or "/app.py:3\n" in failed.stderr  # the app's line
    # passed on purpose, it is there
    passed = invoke(root, "verify", "--pass-env", "SLACK_WEBHOOK_URL", "--event", "custom", env=shell)
    assert passed.returncode == 0, passed.stderr
    assert '"webhook": "https://hooks.example/from-the-developers-shell"' in passed.stdout
    missing = invoke(root, "verify", "--pass-env", "NOT_IN_THIS_SHELL")
    assert missing.returncode == 1 and "--pass-env NOT_IN_THIS_SHELL: this shell has no NOT_IN_THIS_SHELL" \
        in missing.stderr
    # configured for the function, it is there without the shell's
    (root / "pyproject.toml").write_text(offline_pyproject(
        wheelhouse, f'runtime = "{HOST_RUNTIME}"\nenvironment = {{SLACK_WEBHOOK_URL = "https://hooks.example/cfg"}}\n'))
    configured = invoke(root, "verify", "--event", "custom", env=shell)
    assert configured.returncode == 0, configured.stderr
    assert '"webhook": "https://hooks.example/cfg"' in configured.stdout


ENV_APP = ("import os, sys\n\n"
           "def handler(event, context):\n"
           "    return {'env': dict(os.environ), 'path': sys.path, 'cwd': os.getcwd(),\n"
           "            'context': [context.function_name, context.memory_limit_in_mb, context.aws_request_id,\n"
           "                        context.invoked_function_arn, context.get_remaining_time_in_millis() > 0]}\n")


@pytest.mark.slow
def test_the_handler_sees_lambdas_environment_and_dummy_credentials_only(tmp_path, wheelhouse, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "the-deployers-real-secret")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIADEPLOYERSOWNKEY0")
    monkeypatch.setenv("DEVELOPERS_OWN_VARIABLE", "1")
    root = project(tmp_path / "env", wheelhouse, ENV_APP,
                   'memory = 256\nregions = ["eu-west-1"]\nenvironment = {STAGE = "dev"}\n')
    result, output = verified(root, {"x": 1})
    answer = result.result
    assert isinstance(answer, dict)
    env = answer["env"]
    assert "the-deployers-real-secret" not in output and "AKIADEPLOYERSOWNKEY0" not in output
    assert env["AWS_SECRET_ACCESS_KEY"] != "the-deployers-real-secret" and "DEVELOPERS_OWN_VARIABLE" not in env
    assert env["STAGE"] == "dev" and env["_HANDLER"] == "app.handler" and env["AWS_REGION"] == "eu-west-1"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256" and env["TZ"] == ":UTC" and env["LANG"] == "en_US.UTF-8"
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{HOST_RUNTIME}"
    task, opt = env["LAMBDA_TASK_ROOT"], env["LAMBDA_RUNTIME_DIR"]
    assert answer["cwd"] == task and env["PYTHONPATH"] == opt  # bootstrap.py sets it to the runtime directory
    assert env["LD_LIBRARY_PATH"].split(":")[-5:] == [opt, f"{opt}/lib", task, f"{task}/lib",
                                                       env["LD_LIBRARY_PATH"].split(":")[-1]]
    version = HOST_RUNTIME.removeprefix("python")
    assert answer["path"][0] == task and answer["path"][1].endswith(f"/opt/python/lib/python{version}/site-packages")
    assert answer["path"][2].endswith("/opt/python") and answer["path"][3] == opt
    name, memory, request_id, arn, remaining = answer["context"]
    assert name == "verify"
    assert (memory, remaining) == ("256", True) and request_id and arn.startswith("arn:aws:lambda:eu-west-1:")
    if sandbox.detect().prefix:
        assert (task, opt) == ("/var/task", "/var/runtime")


@pytest.mark.slow
def test_a_handler_that_raises_gives_lambdas_error_document(tmp_path, wheelhouse):
    root = project(tmp_path / "raises", wheelhouse,
                   "def handler(event, context):\n    helper()\n\ndef helper():\n    raise ValueError('no such order')\n")
    with pytest.raises(VerifyError, match=r"app.handler: invocation failed: ValueError: no such order"):
        verified(root, {"order": 7})
    settings = load_settings(root, {}, {"runtime": HOST_RUNTIME})
    out = io.StringIO()
    with pytest.raises(VerifyError):
        verify(settings.layers, settings.function, root / "event.json", Reporter(stream=out))
    text = out.getvalue()
    document = json.loads(text[text.index("{", text.index("Lambda's error document")):])
    assert set(document) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert (document["errorType"], document["errorMessage"]) == ("ValueError", "no such order")
    assert document["requestId"] and any("in helper" in frame for frame in document["stackTrace"])
    assert all("bootstrap.py" not in frame for frame in document["stackTrace"])  # as Lambda trims it


@pytest.mark.slow
def test_the_timeout_and_the_memory_size_are_enforced(tmp_path, wheelhouse):
    root = project(tmp_path / "limits", wheelhouse,
                   "import time\n\ndef handler(event, context):\n"
                   "    if event.get('sleep'):\n        time.sleep(event['sleep'])\n"
                   "    if event.get('megabytes'):\n        blob = bytearray(event['megabytes'] * 1048576)\n"
                   "        return len(blob)\n    return 'ok'\n", 'timeout = 1\nmemory = 128\n')
    with pytest.raises(VerifyError, match=r"app.handler: Sandbox.Timedout: Task timed out after 1.00 seconds"):
        verified(root, {"sleep": 5})
    with pytest.raises(VerifyError, match=r"app.handler: Runtime.OutOfMemory: Runtime exited with error: signal: "
                                          r"killed\n  peak memory \d+ MB over the function's 128 MB"):
        verified(root, {"megabytes": 300})
    result, output = verified(root, {"megabytes": 10})
    assert result.result == 10 * 1048576 and "peak memory" in output


@pytest.mark.skipif(not sandbox.detect().prefix, reason="this machine allows no private mount namespace")
def test_in_the_namespace_code_is_read_only_and_tmp_is_the_ephemeral_storage(tmp_path, wheelhouse):
    root = project(tmp_path / "ns", wheelhouse,
                   "import os\n\ndef handler(event, context):\n    found = {}\n"
                   "    for where in ('/var/task/new.txt', '/opt/new.txt', '/tmp/new.txt'):\n"
                   "        try:\n            open(where, 'w').write('x')\n            found[where] = 'written'\n"
                   "        except OSError as exc:\n            found[where] = exc.strerror\n"
                   "    stat = os.statvfs('/tmp')\n    found['tmp_mb'] = stat.f_blocks * stat.f_frsize // 1048576\n"
                   "    found['opt'] = sorted(os.listdir('/opt'))\n    return found\n", "ephemeral_storage = 1024\n")
    result, output = verified(root, {})
    assert "in a private mount namespace" in output
    assert result.result == {"/var/task/new.txt": "Read-only file system", "/opt/new.txt": "Read-only file system",
                             "/tmp/new.txt": "written", "tmp_mb": 1024, "opt": []}


# ---------------------------------------------------------------- the static check warns, the import decides


def test_sys_path_changes_and_modules_nothing_imports_warn_instead_of_failing(tmp_path, wheelhouse):
    root = project(tmp_path / "paths", wheelhouse,
                   "import os, sys\nsys.path.insert(0, os.path.join(os.path.dirname(__file__), 'chalicelib'))\n"
                   "import helper\n\ndef handler(event, context):\n    return helper.VALUE\n")
    (root / "chalicelib" / "unused.py").write_text("import a_module_nothing_ships\n")
    result, _ = verified(root, {})
    assert result.result == 42
    assert not any("app.py" in warning for warning in result.warnings)  # the real import ran app.py
    assert any("chalicelib/unused.py:1 imports a_module_nothing_ships" in warning for warning in result.warnings)


# ---------------------------------------------------------------- foreign CPUs

foreign_cpu = pytest.mark.skipif(host.machine() == "aarch64", reason="needs a host that is not AArch64")


@needs_cc
@foreign_cpu
@pytest.mark.e2e
@pytest.mark.slow
def test_a_foreign_module_re_raised_by_another_package_is_not_checked_here(tmp_path, wheelhouse, monkeypatch):
    """pandas re-raises numpy's import error without its cause: still "not checked on this host", exit 0."""
    monkeypatch.delenv(host.emulated_variable("aarch64"), raising=False)
    target = Target(HOST_RUNTIME, "arm64")
    make_wheel(wheelhouse, "numpyish", tag=f"{target.abi}-{target.abi}-manylinux2014_aarch64", files={
        "numpyish/__init__.py": "try:\n    from . import _core\nexcept ImportError as exc:\n"
                                "    raise ImportError('numpyish: the C extensions failed to import') from exc\n",
        f"numpyish/_core.{target.extension_suffix}.so": with_machine(plain_library(), EM_AARCH64)})
    make_wheel(wheelhouse, "pandasish", requires=["numpyish"], files={
        "pandasish/__init__.py": "missing = []\ntry:\n    import numpyish\nexcept ImportError as e:\n"
                                 "    missing.append(f'numpyish: {e}')\n"
                                 "if missing:\n    raise ImportError('Unable to import required dependencies:\\n'"
                                 " + '\\n'.join(missing))\n"})
    root = project(tmp_path / "arm", wheelhouse, "import pandasish\n\ndef handler(event, context):\n    return 1\n",
                   'arch = "arm64"\n', requirements="pandasish\n")
    done = invoke(root, "verify", "--event", "custom")
    assert done.returncode == 0, done.stderr
    assert "not checked on this host: compiled module numpyish._core (built for aarch64" in done.stdout
    assert "the rest of the import of app after numpyish._core and the call of app.handler" in done.stdout


def test_the_child_refuses_a_module_whose_elf_header_names_another_cpu(tmp_path):
    """With the interpreter's own version, a module is refused by its ELF header's machine, not its name."""
    task = tmp_path / "task"
    write(task / "fast.so", with_machine(b"\x7fELF\x02\x01\x01" + bytes(57), EM_AARCH64))
    write(task / "native.so", with_machine(b"\x7fELF\x02\x01\x01" + bytes(57), 62))
    notes: list[dict] = []
    finder = _child.BlockCompiled([str(task)], [".so"], block_all=False, machine="x86_64", notify=notes.append)
    with pytest.raises(_child.NotCheckable):
        finder.find_spec("fast", [str(task)])
    assert finder.find_spec("native", [str(task)]) is None  # ours: the loader decides
    assert notes == [{"blocked": "fast", "file": str(task / "fast.so"), "machine": "aarch64"}]
    described = _child.describe_failure(ImportError("Unable to import required dependencies"), "x86_64")
    assert not described["not_checkable"]  # the chain alone cannot tell: the refusal recorded above does


# ---------------------------------------------------------------- verify --all


@pytest.fixture
def chalice_example(tmp_path, wheelhouse):
    import shutil

    make_chalice(wheelhouse)
    make_wheel(wheelhouse, "six")
    make_wheel(wheelhouse, "python-dateutil", version="2.9.0.post0", requires=["six"],
               files={"dateutil/__init__.py": "", "dateutil/parser.py": "def isoparse(text):\n    return text\n"})
    root = tmp_path / "chalice-app"
    shutil.copytree(REPO / "examples" / "chalice-app", root, ignore=shutil.ignore_patterns("dist", "layers"))
    pyproject = (root / "pyproject.toml").read_text().replace('runtime = "python3.12"', f'runtime = "{HOST_RUNTIME}"')
    (root / "pyproject.toml").write_text(pyproject + f'pip_args = ["--no-index", "--find-links", "{wheelhouse}"]\n')
    return root


@pytest.mark.e2e
@pytest.mark.slow
def test_verify_all_calls_every_function_with_a_sample_event_of_its_kind(chalice_example):
    done = invoke(chalice_example, "verify", "--all", "--stage", "prod")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("function "))
    assert lines[header].split() == ["function", "event", "status", "init", "duration", "peak", "memory"]
    rows = {line.split()[0]: line for line in lines[header + 1:header + 6]}
    assert set(rows) == {"chalice-app-prod", "chalice-app-prod-crunch", "chalice-app-prod-every_hour",
                         "chalice-app-prod-on_upload", "chalice-app-prod-on_job"}
    assert rows["chalice-app-prod-on_upload"].split()[1:3] == ["s3", "ok"]
    assert rows["chalice-app-prod-on_job"].split()[1:3] == ["sqs", "ok"]
    assert rows["chalice-app-prod"].split()[1:4] == ["api-rest", "ok", "(200)"]
    assert rows["chalice-app-prod-crunch"].split()[1:3] == ["custom", "ok"]
    assert rows["chalice-app-prod-every_hour"].split()[1:3] == ["schedule", "ok"]
    assert "of 1024 MB" in rows["chalice-app-prod-crunch"] and "of 512 MB" in rows["chalice-app-prod"]


# ---------------------------------------------------------------- issue 27: no silent rebuild


@pytest.mark.e2e
@pytest.mark.slow
def test_verify_verifies_what_the_user_built_with_arch_instead_of_rebuilding(tmp_path, wheelhouse):
    root = project(tmp_path / "built", wheelhouse, "def handler(event, context):\n    return 'hi'\n",
                   'arch = "x86_64"\n')
    assert invoke(root, "build", "--arch", "arm64").returncode == 0
    manifest = (root / "layers" / "manifest.json").read_bytes()
    done = invoke(root, "verify")
    assert done.returncode == 0, done.stderr
    assert f"verify: {HOST_RUNTIME}/arm64, the last build's target (the settings say {HOST_RUNTIME}/x86_64" \
        in done.stdout
    assert (root / "layers" / "manifest.json").read_bytes() == manifest  # nothing rebuilt
    (root / "app.py").write_text("def handler(event, context):\n    return 'changed'\n")
    changed = invoke(root, "verify")
    assert changed.returncode == 0 and f"verify: rebuilt app for {HOST_RUNTIME}/arm64 first: the project changed" \
        in changed.stdout
    asked = invoke(root, "verify", "--arch", "x86_64")
    assert asked.returncode == 0 and "verify: building for" in asked.stdout and "as asked" in asked.stdout


# ---------------------------------------------------------------- the same answer as awslambdaric itself


class _OneEvent:
    """An independent Runtime API for the oracle: hands out one event, keeps the response."""

    def __init__(self, event: bytes) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.response: bytes | None = None
        self.done = threading.Event()
        oracle = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if oracle.done.is_set():
                    oracle.done.wait(60)
                    return
                self.send_response(200)
                for name, value in (("Lambda-Runtime-Aws-Request-Id", "oracle-1"),
                                    ("Lambda-Runtime-Deadline-Ms", "99999999999999"),
                                    ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:1:function:f"),
                                    ("Content-Type", "application/json"),
                                    ("Content-Length", str(len(event)))):
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(event)

            def do_POST(self) -> None:
                oracle.response = self.rfile.read(int(self.headers["Content-Length"]))
                oracle.done.set()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def awslambdaric_answer(task: Path, opt: Path, handler: str, event: bytes, env: dict[str, str]) -> object:
    """What AWS's runtime interface client returns for ``event``, run directly (not through verify)."""
    oracle = _OneEvent(event)
    address = f"127.0.0.1:{oracle.server.server_address[1]}"
    process = subprocess.Popen([sys.executable, "-m", "awslambdaric", handler], cwd=task, env={
        **env, "PATH": os.environ["PATH"], "AWS_LAMBDA_RUNTIME_API": address,
        "PYTHONPATH": os.pathsep.join([str(task), str(opt / "python")])}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        if not oracle.done.wait(60):
            process.kill()
            raise AssertionError(f"awslambdaric gave no answer: {process.communicate()[0]!r}")
    finally:
        process.kill()
        process.wait()
        oracle.server.shutdown()
    assert oracle.response is not None
    return json.loads(oracle.response)


@pytest.mark.pypi
@pytest.mark.slow
def test_a_chalice_route_answers_as_awslambdaric_answers_it(tmp_path):
    """The example with the real chalice from PyPI: verify's answer is awslambdaric's, status, body and headers."""
    import shutil
    import zipfile

    from lambda_tasks.framework import project_settings

    root = tmp_path / "chalice-app"
    shutil.copytree(REPO / "examples" / "chalice-app", root, ignore=shutil.ignore_patterns("dist", "layers"))
    pyproject = (root / "pyproject.toml").read_text().replace('runtime = "python3.12"', f'runtime = "{HOST_RUNTIME}"')
    (root / "pyproject.toml").write_text(pyproject)
    event = (root / "event.json").read_bytes()
    settings = project_settings(root, {}, {"stage": "prod"})
    manifest = build(settings, reporter=Reporter(quiet=True))
    result = verify(settings.layers, settings.function, root / "event.json", Reporter(stream=io.StringIO()))
    task, opt = tmp_path / "task", tmp_path / "opt"
    with zipfile.ZipFile(root / manifest.app.path) as archive:
        archive.extractall(task)
    for layer in manifest.layers:
        with zipfile.ZipFile(root / layer.path) as archive:
            archive.extractall(opt)
    expected = awslambdaric_answer(task, opt, "app.app", event, {"STAGE": "prod", "GREETING": "Good day"})
    answer = result.result
    assert isinstance(answer, dict) and isinstance(expected, dict)
    assert answer["statusCode"] == expected["statusCode"] == 200
    assert answer["body"] == expected["body"] and json.loads(answer["body"])["greeting"].startswith("Good day")
    assert answer["headers"] == expected["headers"]
    assert answer.get("multiValueHeaders") == expected.get("multiValueHeaders")


@pytest.mark.skipif(not sandbox.detect().prefix, reason="this machine allows no private mount namespace")
def test_a_namespace_whose_setup_fails_falls_back_to_mapped_paths_in_one_line(tmp_path, wheelhouse, monkeypatch):
    failing = sandbox.Isolation((*sandbox.detect().prefix, "/bin/sh", "-c", f"exit {sandbox.SETUP_FAILED}", "sh"))
    monkeypatch.setattr(sandbox, "detect", lambda: failing)
    root = project(tmp_path / "fallback", wheelhouse, "import os\n\ndef handler(event, context):\n"
                                                      "    return os.environ['LAMBDA_TASK_ROOT']\n")
    result, output = verified(root, {})
    assert "verify: paths mapped, not laid out at /var/task and /opt: the namespace failed here" in output
    assert result.result != "/var/task" and str(result.result).endswith("/var/task")


@pytest.mark.slow
def test_without_awslambdaric_for_the_interpreter_a_stand_in_speaks_the_same_protocol(tmp_path, wheelhouse,
                                                                                       monkeypatch):
    from lambda_tasks.verify import runtime_dir

    monkeypatch.setattr(runtime_dir, "client_files", lambda version, machine: ([], "offline here"))
    root = project(tmp_path / "standin", wheelhouse,
                   "def handler(event, context):\n    if event.get('fail'):\n        raise KeyError('gone')\n"
                   "    return {'id': context.aws_request_id != '', 'event': event}\n")
    result, output = verified(root, {"a": 1})
    assert result.result == {"id": True, "event": {"a": 1}}
    assert "Lambda's runtime client (awslambdaric): offline here; a stand-in spoke its protocol" in output
    with pytest.raises(VerifyError, match=r"invocation failed: KeyError: 'gone'"):
        verified(root, {"fail": True})
    (root / "app.py").write_text("import nowhere\n\ndef handler(event, context):\n    return 1\n")
    with pytest.raises(VerifyError, match=r"Runtime.ImportModuleError: Unable to import module 'app': No module "
                                          r"named 'nowhere'"):
        verified(root)


def test_the_environments_precedence_is_lambdas():
    from lambda_tasks.verify.lambda_env import Places, lambda_environment, passed_variables

    env = lambda_environment(Places(), runtime="python3.12", handler="app.handler", function_name="f", memory=256,
                             region="eu-west-1", runtime_api="127.0.0.1:9001",
                             configured={"LANG": "C.UTF-8", "STAGE": "dev"},
                             passed={"AWS_ACCESS_KEY_ID": "AKIAPASSED", "AWS_SECRET_ACCESS_KEY": "s", "DB": "x"})
    assert env["LANG"] == "C.UTF-8" and env["STAGE"] == "dev" and env["DB"] == "x"  # LANG may be overridden
    assert env["AWS_ACCESS_KEY_ID"] == "AKIAPASSED" and "AWS_SESSION_TOKEN" not in env  # passed on purpose
    assert env["_HANDLER"] == "app.handler" and env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert "PYTHONPATH" not in env  # bootstrap.py sets it, after putting /opt on sys.path
    with pytest.raises(VerifyError, match="Lambda sets _HANDLER itself"):
        passed_variables(["_HANDLER"], {"_HANDLER": "x"})
    assert passed_variables(["DB"], {"DB": "postgres://"}) == {"DB": "postgres://"}


@pytest.mark.pypi
@pytest.mark.e2e
@pytest.mark.slow
@foreign_cpu
def test_real_pandas_for_arm64_verifies_with_exit_0_and_lists_what_was_not_checked(tmp_path, monkeypatch):
    """pandas re-raises numpy's import error without its cause (the issue's story), from PyPI's real wheels."""
    runtime = next((f"python3.{minor}" for minor in (12, 13, 11) if host.interpreters(Target(f"python3.{minor}",
                                                                                               "arm64"))), None)
    if runtime is None:
        pytest.skip("this host has no Python 3.11 .. 3.13 interpreter")
    monkeypatch.delenv(host.emulated_variable("aarch64"), raising=False)
    root = tmp_path / "pandas-arm"
    make_project(root, "pandas\n", app="import pandas\n\ndef handler(event, context):\n    return 1\n",
                 pyproject=f'[tool.lambda-tasks]\nruntime = "{runtime}"\narch = "arm64"\n')
    (root / "tasks.py").write_text(TASKS)
    done = invoke(root, "verify")
    assert done.returncode == 0, done.stderr
    assert "not checked on this host: compiled module numpy._core._multiarray_umath (built for aarch64" in done.stdout
    assert "the rest of the import of app after numpy._core._multiarray_umath" in done.stdout
    assert "verify: ok (app.handler)" in done.stdout


def _host_has(soname: str) -> bool:
    from lambda_tasks.verify import host_libraries

    return bool(host_libraries.host_places([soname]))


@pytest.mark.slow
@needs_cc
@pytest.mark.skipif(not sandbox.detect().prefix, reason="this machine allows no private mount namespace")
def test_a_host_library_lambda_lacks_is_hidden_from_the_loader_in_the_namespace(tmp_path, wheelhouse, monkeypatch):
    """The seed's psycopg2 story: libpq is on this host, not in Lambda's base image; the import fails as on Lambda."""
    from elf_helpers import CC

    from lambda_tasks.verify import host_libraries

    if not _host_has("libpq.so.5") or not host_libraries.overlay_available():
        pytest.skip("needs libpq.so.5 on this host and overlayfs")
    source = tmp_path / "pq.c"
    source.write_text("extern int PQlibVersion(void);\nint uses_pq(void) { return PQlibVersion(); }\n")
    root = project(tmp_path / "pq", wheelhouse, "import ctypes, os\n\nLIB = ctypes.CDLL(os.path.join("
                   "os.path.dirname(__file__), 'chalicelib', 'libuses_pq.so'))\n\n"
                   "def handler(event, context):\n    return LIB.uses_pq() > 0\n",
                   # past the audit's closure check (which refuses it by itself), to the namespace's hiding
                   'audit_allow = ["chalicelib/libuses_pq.so:libpq.so.5"]\n')
    assert CC is not None
    subprocess.run([CC, "-shared", "-fPIC", "-o", str(root / "chalicelib" / "libuses_pq.so"), str(source), "-lpq"],
                   check=True, capture_output=True)
    monkeypatch.setattr(host_libraries, "base_table", lambda runtime, version: None)
    result, _ = verified(root, {})
    assert result.result is True  # without the base image's table nothing is hidden: said as not checked
    assert any("whether Lambda has the native libraries libpq.so.5" in note for note in result.unchecked)
    glibc = frozenset({"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1"})
    monkeypatch.setattr(host_libraries, "base_table", lambda runtime, version: glibc)
    with pytest.raises(VerifyError, match=r"init failed: OSError: libpq.so.5: cannot open shared object file"):
        verified(root, {})


@pytest.mark.slow
def test_verify_all_gives_each_function_its_own_environment_and_the_named_sample(tmp_path, wheelhouse):
    root = project(tmp_path / "functions", wheelhouse,
                   "import os\n\ndef a(event, context):\n    return [os.environ['X'], sorted(event)]\n\n"
                   "def b(event, context):\n    return [os.environ['X'], sorted(event)]\n",
                   '[[tool.lambda-tasks.functions]]\nname = "fa"\nhandler = "app.a"\nenvironment = {X = "1"}\n'
                   '[[tool.lambda-tasks.functions]]\nname = "fb"\nhandler = "app.b"\nenvironment = {X = "2"}\n'
                   'memory = 256\n')
    settings = load_settings(root, {}, {"runtime": HOST_RUNTIME})
    build(settings, reporter=Reporter(quiet=True))
    out = io.StringIO()
    result = verify(settings.layers, settings.function, Path("sqs"), Reporter(stream=out), all_functions=True)
    assert result.results == {"app.a": ["1", ["Records"]], "app.b": ["2", ["Records"]]}
    assert [(row.function, row.event, row.status, row.memory) for row in result.rows] == [
        ("fa", "sqs", "ok", 128), ("fb", "sqs", "ok", 256)]
    assert all(row.init_seconds and row.call_seconds is not None and row.peak > 0 for row in result.rows)


@pytest.mark.slow
@pytest.mark.skipif(not sandbox.detect().prefix, reason="this machine allows no private mount namespace")
def test_what_the_runtime_needs_under_tmp_stays_visible_in_the_namespace(tmp_path, wheelhouse, monkeypatch):
    """/tmp is the function's own tmpfs there: a runtime client kept under the host's /tmp is bound back."""
    import shutil

    from lambda_tasks.verify import runtime_dir

    found = runtime_dir._installed(runtime_dir.CLIENT_MODULES)
    assert len(found) == len(runtime_dir.CLIENT_MODULES)
    copy = tmp_path / "client"
    copy.mkdir()
    for path in found:
        (shutil.copytree if path.is_dir() else shutil.copy2)(path, copy / path.name)
    assert str(copy).startswith("/tmp/")
    monkeypatch.setattr(runtime_dir, "client_files", lambda version, machine: (sorted(copy.iterdir()), ""))
    root = project(tmp_path / "tmpkeep", wheelhouse, "import sys\n\ndef handler(event, context):\n"
                                                     "    return sys.modules['awslambdaric'].__file__\n")
    result, output = verified(root, {})
    assert "in a private mount namespace" in output and not any("stand-in" in note for note in result.unchecked)
    assert result.result == "/var/runtime/awslambdaric/__init__.py"
