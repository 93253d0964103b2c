"""One command at a time per output directory; what a killed build left is cleaned up by the next one."""

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import offline_pyproject
from factory import make_project, make_wheel

from lambda_tasks.assemble.output_lock import build_lock

BIN = Path(sys.executable).parent
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def run(args, cwd, **kwargs):
    return subprocess.run([str(BIN / "lambda-tasks"), *args], cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ), timeout=300, **kwargs)


@pytest.fixture
def project(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "purelib")
    return make_project(tmp_path / "myapp", "purelib\n", pyproject=offline_pyproject(wheelhouse, 'runtime = "python3.12"\n'))


def test_no_wait_fails_at_once_while_another_command_holds_the_directory(project):
    with build_lock(project / "layers"):
        started = time.monotonic()
        busy = run(["build", "--no-wait"], project)
        assert time.monotonic() - started < 30
    assert busy.returncode == 1 and "Traceback" not in busy.stderr
    first = busy.stderr.strip().splitlines()[0]
    assert first == f"error: another lambda-tasks command (pid {os.getpid()}) is using {project / 'layers'}"
    assert not (project / "layers" / "manifest.json").exists()


def test_a_second_build_waits_and_says_so(project):
    with build_lock(project / "layers"):
        waiter = subprocess.Popen([str(BIN / "lambda-tasks"), "build"], cwd=project, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        said = ""
        while "waiting for another lambda-tasks command" not in said and waiter.poll() is None:
            said += waiter.stdout.readline()  # it says so once, when it starts waiting
        assert waiter.poll() is None  # still waiting for the lock
    out, err = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, err
    assert f"waiting for another lambda-tasks command (pid {os.getpid()})" in said
    assert "built in" in out  # and built once the lock was free


def test_concurrent_builds_leave_a_manifest_that_matches_the_zips(project):
    for attempt in range(3):
        (project / "chalicelib").mkdir(exist_ok=True)
        (project / "chalicelib" / "n.py").write_text(f"N = {attempt}\n")
        processes = [subprocess.Popen([str(BIN / "lambda-tasks"), "build"], cwd=project, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True) for _ in range(2)]
        assert all(p.wait(300) == 0 for p in processes)
        manifest = json.loads((project / "layers" / "manifest.json").read_text())
        for artifact in [manifest["app"], *manifest["layers"]]:
            assert hashlib.sha256((project / artifact["path"]).read_bytes()).hexdigest() == artifact["sha256"]


def test_leftovers_of_a_killed_build_are_removed(project):
    assert run(["build"], project).returncode == 0
    (project / "layers" / ".myapp-deps-1.zip.abc123.tmp").write_bytes(b"x" * 5000)
    (project / "dist" / ".app.zip.def456.tmp").write_bytes(b"y" * 100)
    cache = Path(os.environ["LAMBDA_TASKS_CACHE"])
    dead = cache / "resolve-999999999-zz"
    (dead / "download").mkdir(parents=True)
    (dead / "download" / "half.whl").write_bytes(b"z" * 2000)
    alive = cache / f"resolve-{os.getpid()}-yy"
    alive.mkdir()
    result = run(["build"], project)
    assert result.returncode == 0, result.stderr
    assert "removed 6.9 KiB left by an interrupted build" in result.stdout
    assert not list((project / "layers").glob(".*.tmp")) and not list((project / "dist").glob(".*.tmp"))
    assert not dead.exists() and alive.exists()  # another live process's scratch stays
