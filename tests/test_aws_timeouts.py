"""Bounded waiting on AWS (aws/waiting.py): an endpoint that accepts connections and never answers fails within
the deadline with one line naming the endpoint and the step; progress lines while waiting; Ctrl-C says what was
done and what was not. The silent endpoint is a real socket on 127.0.0.1 whose thread stops by itself."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from aws_helpers import REGION, CallLog, FakeBuild, create_role, zip_sections
from conftest import interruptible, offline_pyproject
from factory import make_project, make_wheel

from lambda_tasks.aws import clients as aws
from lambda_tasks.aws import waiting
from lambda_tasks.deploy.functions import DeployResult, deploy_functions
from lambda_tasks.deploy.interrupt import interrupted_message
from lambda_tasks.errors import AwsError, SettingsError
from lambda_tasks.report import Reporter

BIN = Path(sys.executable).parent


class SilentServer:
    """Accepts every connection on 127.0.0.1 and never sends a byte; stops after ``lifetime`` s or close()."""

    def __init__(self, lifetime: float = 90.0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: list[float] = []
        self.first = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(lifetime,), daemon=True)
        self._thread.start()

    def _serve(self, lifetime: float) -> None:
        conns = []
        end = time.monotonic() + lifetime
        try:
            while time.monotonic() < end and not self._stop.is_set():
                try:
                    conn, _ = self.sock.accept()
                except OSError:
                    continue
                conns.append(conn)
                self.accepted.append(time.monotonic())
                self.first.set()
        finally:
            for conn in conns:
                conn.close()
            self.sock.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.fixture
def silent(aws_env, monkeypatch) -> Iterator[SilentServer]:
    server = SilentServer()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    try:
        yield server
    finally:
        server.close()


# ---------------------------------------------------------------- the numbers


def test_default_timeouts_bound_a_silent_endpoint(monkeypatch) -> None:
    monkeypatch.delenv(waiting.ENV, raising=False)
    api, upload = waiting.timeouts("api"), waiting.timeouts("upload")
    assert (api.connect, api.read, api.deadline) == (10, 20, 60)
    assert (upload.connect, upload.read, upload.deadline) == (10, 120, 120)
    assert waiting.waiter_attempts() * waiting.WAITER_DELAY == 300 and waiting.ci_every() == 10
    # a silent endpoint: attempts of `read` seconds until the deadline has passed (botocore's backoff after a
    # timeout is 50 ms x 2^n): 3 x 20 s; the last attempt starts before 60 s, so the bound is deadline + read
    assert api.deadline + api.read <= 90
    config = aws.client_config(kind="upload")
    assert (config.connect_timeout, config.read_timeout) == (10, 120)


def test_the_environment_scales_them(monkeypatch) -> None:
    monkeypatch.setenv(waiting.ENV, "6")
    assert waiting.timeouts("api") == waiting.Timeouts(2, 2, 6) and waiting.timeouts("upload").deadline == 12
    assert waiting.waiter_attempts() == 15 and waiting.ci_every() == 1
    for bad in ("0", "-3", "soon", "99999"):
        monkeypatch.setenv(waiting.ENV, bad)
        with pytest.raises(SettingsError, match=waiting.ENV):
            waiting.timeouts()


# ---------------------------------------------------------------- a silent endpoint, in process


@pytest.mark.slow
@pytest.mark.e2e
def test_a_silent_endpoint_fails_at_the_deadline_naming_endpoint_and_step(silent, monkeypatch) -> None:
    monkeypatch.setenv(waiting.ENV, "1.5")
    client = aws.Clients().lambda_(REGION)
    start = time.monotonic()
    with pytest.raises(AwsError) as info:
        aws.call(client.get_function, "read function f", FunctionName="f")
    elapsed = time.monotonic() - start
    message = str(info.value)
    assert message == (f"cannot read function f: AWS at {silent.url} did not answer within 1 s (3 tries); "
                       "check AWS_ENDPOINT_URL and the network, then run again")
    assert 1.5 <= elapsed < 1.5 + 0.5 + 1 and len(silent.accepted) == 3


@pytest.mark.slow
@pytest.mark.e2e
def test_an_upload_gets_one_longer_attempt(silent, monkeypatch) -> None:
    monkeypatch.setenv(waiting.ENV, "0.5")
    client = aws.Clients().lambda_upload(REGION, max_attempts=1)
    start = time.monotonic()
    with pytest.raises(AwsError, match=r"cannot publish layer x: AWS at http://127\.0\.0\.1:\d+ did not answer "
                                       r"within 1 s \(1 try\)"):
        aws.call(client.publish_layer_version, "publish layer x", LayerName="x", Content={"ZipFile": b"z" * 1000})
    assert 1.0 <= time.monotonic() - start < 2.5 and len(silent.accepted) == 1


def test_the_message_hides_credentials_and_stays_short(monkeypatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    exc = waiting.NoAnswer("https://user:hunter2@lambda.eu-central-1.amazonaws.com", 61.7, 3, "ReadTimeoutError")
    message = str(aws.translate(exc, "read function f"))
    assert message == ("cannot read function f: AWS at https://lambda.eu-central-1.amazonaws.com did not answer "
                       "within 61 s (3 tries); check the network, then run again")
    longer = str(aws.translate(exc, f"update the configuration of {'x' * 30}")).splitlines()
    assert longer == [f"cannot update the configuration of {'x' * 30}: AWS at https://lambda.eu-central-1.amazonaws.com "
                      "did not answer within 61 s (3 tries)", "  check the network, then run again"]
    longest = str(aws.translate(exc, f"update the configuration of {'x' * 64}")).splitlines()
    assert longest == [f"cannot update the configuration of {'x' * 64}: AWS did not answer within 61 s (3 tries)",
                       "  endpoint https://lambda.eu-central-1.amazonaws.com; check the network, then run again"]
    connect = waiting.NoAnswer("http://10.255.255.1:80", 60.2, 6, "ConnectTimeoutError")
    assert "did not accept a connection within 60 s (6 tries)" in str(aws.translate(connect, "x"))
    dropped = waiting.NoAnswer("http://h", 60, 4, "ConnectionClosedError")
    assert "the connection to AWS at http://h kept failing for 60 s (ConnectionClosedError, 4 tries)" in str(
        aws.translate(dropped, "x"))


# ---------------------------------------------------------------- progress while waiting


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_lines_in_ci_while_a_step_waits(monkeypatch) -> None:
    monkeypatch.setattr(waiting, "TICK", 0.05)
    monkeypatch.setenv(waiting.ENV, "0.6")  # a line every 0.1 s
    out = io.StringIO()
    with waiting.watching(Reporter(out)), waiting.step("publish layer x in us-east-1"):
        time.sleep(0.45)
    lines = out.getvalue().splitlines()
    assert 2 <= len(lines) <= 5 and all(line.startswith("waiting for AWS (publish layer x in us-east-1) ")
                                        for line in lines)
    quiet = io.StringIO()
    with waiting.watching(Reporter(quiet, quiet=True)), waiting.step("x"):
        time.sleep(0.2)
    assert quiet.getvalue() == ""


def test_progress_is_a_status_line_on_a_terminal(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(waiting, "TICK", 0.05)
    out = Terminal()
    reporter = Reporter(out)
    assert reporter.live
    with waiting.watching(reporter):
        with waiting.step("read function f"):
            time.sleep(0.3)
        with waiting.step("upload app.zip", live=False):  # draws its own progress bar
            time.sleep(0.3)
    text = out.getvalue()
    assert "\rwaiting for AWS (read function f) 0s...\x1b[K" in text and text.endswith("\r\x1b[K")
    assert "upload app.zip" not in text and "\n" not in text


def test_waiters_keep_their_bound_and_show_progress(monkeypatch) -> None:
    monkeypatch.setattr(waiting, "TICK", 0.05)
    monkeypatch.setenv(waiting.ENV, "0.6")
    seen: dict = {}

    class Waiter:
        def wait(self, **kwargs) -> None:
            seen.update(kwargs)
            time.sleep(0.3)

    class Client:
        def get_waiter(self, name: str) -> Waiter:
            seen["name"] = name
            return Waiter()

    out = io.StringIO()
    with waiting.watching(Reporter(out)):
        aws.wait(Client(), "function_updated_v2", "f", "update the code of f")
    assert seen == {"name": "function_updated_v2", "FunctionName": "f",
                    "WaiterConfig": {"Delay": 2, "MaxAttempts": 2}}  # 5 x the deadline, 2 s apart
    assert "waiting for AWS (update the code of f) 0s..." in out.getvalue()
    monkeypatch.delenv(waiting.ENV)
    assert waiting.waiter_attempts() == 150


# ---------------------------------------------------------------- the real command, in a subprocess


@pytest.fixture
def project(tmp_path, wheelhouse) -> Path:
    """Short names (the silent server is this test's own): the error fits on one line."""
    make_wheel(wheelhouse, "alpha")
    return make_project(tmp_path / "p", "alpha\n", pyproject=offline_pyproject(wheelhouse, 'runtime = "python3.12"\n'))


def start(root: Path, *args: str, deadline: str) -> subprocess.Popen:
    env = {**os.environ, waiting.ENV: deadline}
    return subprocess.Popen([str(BIN / "lambda-tasks"), *args], cwd=root, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=interruptible)


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("command", ["deploy", "publish-layer"])
def test_the_command_fails_within_the_deadline_with_one_line(silent, project, command) -> None:
    fn = "f"
    args = ["deploy", "--function-name", fn, "--plan", "--no-verify"] if command == "deploy" else ["publish-layer"]
    proc = start(project, *args, deadline="2")
    out, err = proc.communicate(timeout=120)
    ended = time.monotonic()
    assert proc.returncode == 1, out + err
    assert "Traceback" not in out + err and "testing" not in out + err
    step = f"read function {fn}" if command == "deploy" else "list versions of layer p-deps-1"
    head = f"error: cannot {step}: AWS at {silent.url} did not answer within 2 s (3 tries)"
    advice = "check AWS_ENDPOINT_URL and the network, then run again"
    if command == "deploy":
        assert err.splitlines() == [f"{head}; {advice}"]
    else:  # one line while it fits in 160 characters (with a 4- or 5-digit port: either)
        assert err.splitlines() in ([f"{head}; {advice}"], [head, f"  {advice}"])
    assert f"waiting for AWS ({step}) 1s..." in out
    # deadline 2 s, read timeout 0.67 s: three attempts, then no more (plus start-up of the interpreter's exit)
    assert len(silent.accepted) == 3 and ended - silent.accepted[0] < 2 + 0.67 + 1.5


@pytest.mark.e2e
@pytest.mark.slow
def test_ctrl_c_while_waiting_says_what_was_done(silent, project) -> None:
    fn = "f"
    proc = start(project, "deploy", "--function-name", fn, "--no-verify", "--role",
                 "arn:aws:iam::123456789012:role/r", deadline="60")
    try:
        assert silent.first.wait(timeout=120), "the command never reached AWS"
        time.sleep(0.3)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert time.monotonic() - sent < 10
    assert "Traceback" not in out + err
    assert proc.returncode == 130, err
    lines = err.splitlines()
    assert lines[:3] == ["interrupted (Ctrl-C) before anything was changed in AWS; run the command again",
                         "  in progress: list versions of layer p-deps-1",
                         f"  not done: layer p-deps-1 [{REGION}]"]
    assert lines[3] == f"  not done: function {fn} [{REGION}]"


# ---------------------------------------------------------------- Ctrl-C after a layer was published (moto)


@pytest.mark.slow
@pytest.mark.e2e
def test_ctrl_c_after_publishing_reports_done_and_not_done_and_a_rerun_finishes(moto_env, unique_name,
                                                                                 tmp_path: Path) -> None:
    role, fn = create_role(unique_name("role")), unique_name("f")
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "def handler(e, c): pass\n"}, [{"a.py": "a"}])

    def interrupt(**_):
        raise KeyboardInterrupt

    log = CallLog()
    log.hook("lambda", "before-send.lambda.CreateFunction", interrupt)
    settings = build.settings(function_name=fn, role=role)
    result = DeployResult()
    with pytest.raises(KeyboardInterrupt):
        deploy_functions(*zip_sections(settings), build.manifest(), clients=aws.Clients(on_client=log.attach),
                         reporter=Reporter(io.StringIO()), sleep=lambda _: None, result=result)
    assert waiting.interrupted_step() == f"create function {fn} in {REGION}"
    message = interrupted_message(settings.function, settings.deploy, build.manifest(), result, in_progress=waiting.interrupted_step())
    lines = message.splitlines()
    assert lines[0] == "interrupted (Ctrl-C): running the command again finishes the job (nothing is published twice)"
    assert lines[1].startswith(f"  done: layer {build.layer(1)} [{REGION}]: published version 1 (")
    assert lines[2] == (f"  in progress: create function {fn} in {REGION} (it may or may not have reached AWS; "
                        "the next run checks first)")
    assert lines[3:] == [f"  not done: function {fn} [{REGION}]"]

    again = deploy_functions(*zip_sections(build.settings(function_name=fn, role=role)), build.manifest(),
                             reporter=Reporter(io.StringIO()), sleep=lambda _: None)
    assert [s.action for s in again.layers.steps] == ["keep"] and [s.action for s in again.functions] == ["create"]
    client = boto3.client("lambda", region_name=REGION)
    assert len(client.list_layer_versions(LayerName=build.layer(1))["LayerVersions"]) == 1


def test_interrupted_plan_and_unknown_regions(tmp_path: Path) -> None:
    build = FakeBuild(tmp_path, "proj-deps")
    build.build({"app.py": "x"}, [{"a.py": "a"}])
    settings = build.settings(function_name="f")
    assert interrupted_message(settings.function, settings.deploy, build.manifest(), DeployResult(), plan=True).splitlines() == [
        "interrupted (Ctrl-C) during --plan: nothing was changed", "  not done: everything (no region was chosen yet)"]
