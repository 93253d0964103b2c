"""File-system faults become short errors naming the path and the way out, through the real task entry point.

As root, permissions do not stop reads: the real case runs as `nobody` (setpriv) when this interpreter is
reachable by that user, and is skipped with the reason otherwise; the same faults are also injected in-process.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import offline_pyproject
from factory import make_project, make_wheel
from invoke import Program

from lambda_tasks.tasks import ns


@pytest.fixture
def project(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "purelib")
    root = make_project(tmp_path / "proj", "purelib\n", pyproject=offline_pyproject(wheelhouse))
    (root / "chalicelib").mkdir(exist_ok=True)
    (root / "chalicelib" / "data.txt").write_text("secret-free data\n")
    return root


def run_in_process(root: Path, monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.chdir(root)
    with pytest.raises(SystemExit) as caught:
        Program(namespace=ns, name="lambda-tasks").run(["lambda-tasks", *args])
    return int(caught.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize("code, advice", [
    (errno.EACCES, "give this user read"),
    (errno.EROFS, "read-only file system"),
    (errno.ENOSPC, "the disk is full"),
])
def test_injected_file_system_errors_are_short(project, monkeypatch, capsys, code, advice):
    real = Path.read_bytes

    def failing(self: Path) -> bytes:
        if self.name == "data.txt":
            raise OSError(code, os.strerror(code), str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", failing)
    status, err = run_in_process(project, monkeypatch, capsys, "build", "--runtime", "python3.12")
    assert status == 1 and "Traceback" not in err
    first, second = err.strip().splitlines()[:2]
    assert first.startswith(f"error: {os.strerror(code)}: ") and "data.txt" in first and len(first) < 160
    assert advice in second


def _nobody_can_run_python() -> str | None:
    if os.geteuid() != 0:
        return "the tests do not run as root"
    if shutil.which("setpriv") is None:
        return "setpriv is not installed"
    probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                            "import lambda_tasks"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"this interpreter is not reachable by nobody ({(probe.stderr.strip().splitlines() or ['?'])[-1]})"
    return None


def test_an_unreadable_file_as_a_non_root_user():
    reason = _nobody_can_run_python()
    if reason:
        print(f"skipped: {reason}")
        pytest.skip(reason)
    base = Path(tempfile.mkdtemp(prefix="lambda-tasks-nobody-"))  # pytest's own tmp dirs are root's alone
    try:
        base.chmod(0o755)
        wheelhouse = base / "wheelhouse"
        make_wheel(wheelhouse, "purelib")
        root = make_project(base / "proj", "purelib\n", pyproject=offline_pyproject(wheelhouse))
        (root / "chalicelib").mkdir(exist_ok=True)
        (root / "chalicelib" / "data.txt").write_text("data\n")
        for path in [base, *base.rglob("*")]:
            path.chmod(0o777 if path.is_dir() else 0o666)
        (root / "chalicelib" / "data.txt").chmod(0)
        env = {**os.environ, "HOME": str(base), "LAMBDA_TASKS_CACHE": str(base / "cache")}
        done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
                               "lambda_tasks.cli", "build", "--runtime", "python3.12"], cwd=root,
                              capture_output=True, text=True, env=env)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        first = done.stderr.splitlines()[0]
        assert first.startswith("error: Permission denied: ") and "data.txt" in first
        assert not (root / "dist" / "app.zip").exists()
    finally:
        shutil.rmtree(base, ignore_errors=True)
