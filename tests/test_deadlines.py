"""deadlines.py and the waits it bounds: a child and its process group killed at the deadline and on any failure of
ours (Ctrl-C included), pip stopped at a silent index, the registry client's error for a silent registry."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from factory_content import black_hole

from lambda_tasks import deadlines
from lambda_tasks.errors import DeadlineError, RegistryError, SettingsError
from lambda_tasks.resolve.process import silent_index

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
