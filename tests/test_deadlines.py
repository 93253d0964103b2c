"""deadlines.py and the waits it bounds: a child and its process group killed at the deadline and on any failure of
ours (Ctrl-C included), pip stopped at a silent index, the registry client's error for a silent registry."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import offline_pyproject
from elf_helpers import plain_library
from factory import make_project
from factory_content import black_hole

from lambda_tasks import deadlines
from lambda_tasks.checks.bytecode import compile_entries
from lambda_tasks.checks.strip import strip_binaries
from lambda_tasks.entries import APP_UNIT, FILE_MODE, BytesSource, Entry
from lambda_tasks.errors import DeadlineError, RegistryError, SettingsError
from lambda_tasks.host import machine
from lambda_tasks.resolve.process import silent_index
from lambda_tasks.targets import Target

#: A child that starts a grandchild (which would outlive it without the process group) and says their pids.
_FAMILY = [sys.executable, "-c", "import subprocess, sys, time\n"
           "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
           "print('pids', g.pid, flush=True)\ntime.sleep(600)\n"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "zombie" in status.read_text())


def _gone(pid: int, seconds: float = 10) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_a_hung_child_is_killed_with_its_group_at_the_deadline(tmp_path):
    pids: list[int] = []
    started = time.monotonic()
    with pytest.raises(DeadlineError) as caught:
        deadlines.run(_FAMILY, tmp_path, os.environ, "build mylib (pip)",
                      lambda line, child: pids.append(int(line.split()[1])), deadline=1.5)
    assert time.monotonic() - started < 10
    first = str(caught.value).splitlines()[0]
    assert first == "build mylib (pip): did not finish in 1.5 s" and len(first) < 160
    assert pids and _gone(pids[0])


@pytest.mark.parametrize("failure", [KeyboardInterrupt, RuntimeError])
def test_the_group_is_killed_when_the_parent_fails(tmp_path, failure):
    pids: list[int] = []

    def on_line(line: str, child: deadlines.Child) -> None:
        pids.append(int(line.split()[1]))
        raise failure()

    with pytest.raises(failure):
        deadlines.run(_FAMILY, tmp_path, os.environ, "resolve (pip)", on_line, deadline=60)
    assert pids and _gone(pids[0])


def test_a_child_that_finishes_gives_its_code_and_output(tmp_path):
    code, output = deadlines.run([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"
                                  "; sys.exit(3)"], tmp_path, os.environ, "x")
    assert code == 3 and "out" in output and "err" in output


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv(deadlines.NETWORK_ENV, "2.5")
    assert deadlines.pip_network_args() == ["--timeout", "2.5", "--retries", "2"]
    assert deadlines.uv_network_env() == {"UV_HTTP_TIMEOUT": "2", "UV_HTTP_RETRIES": "1"}
    monkeypatch.setenv(deadlines.PROCESS_ENV, "soon")
    with pytest.raises(SettingsError, match="LAMBDA_TASKS_PROCESS_TIMEOUT must be a number of seconds"):
        deadlines.process_deadline()
    monkeypatch.delenv(deadlines.NETWORK_ENV)
    assert deadlines.network_timeout() == deadlines.DEFAULT_NETWORK


def test_pips_last_retry_after_a_timeout_names_the_index():
    line = ("WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after connection "
            "broken by 'ReadTimeoutError(\"HTTPSConnectionPool(host='pypi.example', port=443): Read timed out. (read "
            "timeout=20.0)\")': /simple/six/\n")
    assert silent_index(line) == "the package index pypi.example:443 did not answer in 40 s (2 attempts timed out " \
                                 "on read) for /simple/six/"
    assert silent_index(line.replace("total=0", "total=1")) is None  # not the last attempt yet
    assert silent_index("WARNING: Retrying (Retry(total=0, ...)) after connection broken by "
                        "'NewConnectionError(...Connection refused)': /simple/six/") is None  # refused: pip says so


@pytest.mark.slow
def test_a_silent_registry_is_named_with_the_step(monkeypatch):
    from lambda_tasks.oci_registry import Client

    monkeypatch.setenv(deadlines.NETWORK_ENV, "0.5")
    with black_hole() as hole:
        client = Client(hole)
        started = time.monotonic()
        with pytest.raises(RegistryError) as caught:
            client.request("GET", "/v2/base/manifests/1", "repository:base:pull", what="the manifest of base:1")
    assert time.monotonic() - started < 15
    first = str(caught.value).splitlines()[0]
    assert first.startswith(f"the registry {hole} did not answer in 1.5 s (the manifest of base:1")
    assert "MaxRetryError" not in str(caught.value) and len(first) < 150


@pytest.mark.slow
def test_what_a_finished_child_left_running_is_killed(tmp_path):
    started = time.monotonic()
    code, output = deadlines.run([sys.executable, "-c", "import subprocess, sys\n"
                                  "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],"
                                  " stdout=subprocess.DEVNULL)\nprint('pids', g.pid)\n"], tmp_path, os.environ, "x")
    assert code == 0 and _gone(int(output.split()[1]))  # it held the output open: killed after the grace
    assert time.monotonic() - started < 15


# ----------------------------------------------------- short children: the pyc compiler, strip, probes (capture)

#: A fake tool: answers Python's probe (``-I -c``) as the real interpreter, otherwise starts a grandchild, writes
#: both pids and hangs (the pyc compiler, strip); what it is asked is kept beside it.
_HANGING = """#!/bin/sh
if [ "$1" = "-I" ]; then exec {python} "$@"; fi
sleep 600 &
echo $$ $! > "$(dirname "$0")/pids"
wait
"""


def hanging_tool(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    tool = directory / name
    tool.write_text(_HANGING.format(python=sys.executable))
    tool.chmod(0o755)
    return tool


def _pids_gone(directory: Path) -> bool:
    pids = [int(pid) for pid in (directory / "pids").read_text().split()]
    return len(pids) == 2 and all(_gone(pid) for pid in pids)


def test_capture_gives_stdout_and_stderr_apart_and_takes_input(tmp_path):
    done = deadlines.capture([sys.executable, "-c", "import sys; print(sys.stdin.read().upper()); "
                              "print('err', file=sys.stderr); sys.exit(2)"], "x", stdin="in")
    assert (done.returncode, done.stdout, done.stderr) == (2, "IN\n", "err\n")


def test_a_hung_short_child_is_killed_with_its_group_and_named_in_one_line(tmp_path):
    tool = hanging_tool(tmp_path / "bin", "tool")
    started = time.monotonic()
    with pytest.raises(DeadlineError) as caught:
        deadlines.capture([str(tool), "x"], "strip_binaries: strip on python/lib.so", deadline=0.5)
    assert time.monotonic() - started < 5
    first = str(caught.value).splitlines()[0]
    assert first == "strip_binaries: strip on python/lib.so: did not finish in 0.5 s"
    assert _pids_gone(tmp_path / "bin")


def test_the_pyc_compiler_has_the_process_deadline(tmp_path, monkeypatch):
    monkeypatch.setenv(deadlines.PROCESS_ENV, "1")
    python = hanging_tool(tmp_path / "bin", "python3")
    entry = Entry("app.py", APP_UNIT, 2, FILE_MODE, BytesSource(b"x\n"))
    with pytest.raises(DeadlineError, match=r"^bytecode: compiling with .*python3: did not finish in 1 s\n"):
        compile_entries([entry], Target("python3.12", "x86_64"), str(python), "/var/task")
    assert _pids_gone(tmp_path / "bin")


def test_strip_has_the_process_deadline(tmp_path, monkeypatch):
    monkeypatch.setenv(deadlines.PROCESS_ENV, "1")
    hanging_tool(tmp_path / "bin", "strip")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    data = plain_library()
    entry = Entry("python/lib.so", "dist", len(data), FILE_MODE, BytesSource(data))
    arch = "arm64" if machine() == "aarch64" else "x86_64"
    with pytest.raises(DeadlineError, match=r"^strip_binaries: .*/strip on python/lib.so: did not finish in 1 s\n"):
        strip_binaries([entry], [entry], Target("python3.12", arch), None)
    assert _pids_gone(tmp_path / "bin")


@pytest.mark.slow
@pytest.mark.e2e
def test_a_build_whose_pyc_compiler_hangs_fails_in_one_line(tmp_path):
    python = hanging_tool(tmp_path / "bin", f"python3.{sys.version_info[1]}")
    root = make_project(tmp_path / "app", pyproject=offline_pyproject(
        tmp_path, f'runtime = "python3.{sys.version_info[1]}"\nbytecode = true\nbytecode_python = "{python}"\n'))
    done = subprocess.run([Path(sys.executable).parent / "lambda-tasks", "build"], cwd=root, capture_output=True,
                          text=True, timeout=120, env={**os.environ, deadlines.PROCESS_ENV: "1"})
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(f"error: bytecode: compiling with {python}: did not finish in 1 s\n"), done.stderr
    assert "Traceback" not in done.stderr and not (root / "dist" / "app.zip").exists()
    assert _pids_gone(tmp_path / "bin")
