"""Interpreter discovery and emulation, with fake pyenv and uv trees made of tiny shell scripts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from lambda_tasks import host
from lambda_tasks.errors import BytecodeError
from lambda_tasks.targets import RUNTIMES, Target

PY312 = Target("python3.12", "x86_64")
OTHER_CPU = "x86_64" if host.machine() == "aarch64" else "aarch64"


def script(path: Path, body: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return str(path)


def fake_python(path: Path, tag: str = "cpython-312", *more: str) -> str:
    """A script that answers the probe like an interpreter would: its cache tag (then machine, abiflags)."""
    return script(path, "\n".join(f"echo {line}" for line in (tag, *more)))


def broken_shim(path: Path) -> str:
    return script(path, "echo 'pyenv: python3.12: command not found' >&2\nexit 127")


@pytest.fixture
def fake_host(tmp_path, monkeypatch):
    """No real interpreter leaks in: PATH, HOME, pyenv and uv all point into tmp_path; fresh probe caches."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("PYENV_ROOT", "XDG_DATA_HOME", "UV_PYTHON_INSTALL_DIR", host.emulated_variable(OTHER_CPU)):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(host, "uv_path", lambda: None)
    monkeypatch.setattr(host, "BINFMT_MISC", tmp_path / "binfmt")
    host.describe.cache_clear()
    host._uv_find.cache_clear()
    yield bin_dir
    host.describe.cache_clear()
    host._uv_find.cache_clear()


def test_pyenv_versions_are_found_newest_first_and_a_shim_that_does_not_run_is_skipped(tmp_path, fake_host):
    shim = broken_shim(fake_host / "python3.12")
    versions = tmp_path / "home" / ".pyenv" / "versions"
    old = fake_python(versions / "3.12.1" / "bin" / "python3.12")
    new = fake_python(versions / "3.12.10" / "bin" / "python3.12")
    fake_python(versions / "3.12.5" / "bin" / "python3.12", "cpython-311")  # misnamed: its tag decides
    fake_python(versions / "3.11.7" / "bin" / "python3.11", "cpython-311")
    assert host.candidates((3, 12)) == [shim, new, str(versions / "3.12.5" / "bin" / "python3.12"), old]
    assert [i.path for i in host.interpreters(PY312)] == [new, old]
    assert host.find_interpreter(PY312, None) == new


def test_pyenv_root_from_the_environment(tmp_path, monkeypatch, fake_host):
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "elsewhere"))
    found = fake_python(tmp_path / "elsewhere" / "versions" / "3.12.3" / "bin" / "python3.12")
    fake_python(tmp_path / "home" / ".pyenv" / "versions" / "3.12.4" / "bin" / "python3.12")  # not this root
    assert [i.path for i in host.interpreters(PY312)] == [found]


def test_every_python_on_path_is_tried_in_order(tmp_path, fake_host, monkeypatch):
    shim = broken_shim(fake_host / "python3.12")
    real = fake_python(tmp_path / "usr" / "python3.12")
    monkeypatch.setenv("PATH", f"{fake_host}{os.pathsep}{tmp_path / 'usr'}")
    assert host.candidates((3, 12)) == [shim, real]
    assert host.find_interpreter(PY312, None) == real


def test_uv_python_find_then_uvs_install_directory(tmp_path, fake_host, monkeypatch):
    answered = fake_python(tmp_path / "uv-answer" / "python3.13", "cpython-313")
    uv = script(fake_host / "uv", f'[ "$1 $2 $3" = "python find 3.13" ] && echo {answered} && exit 0\nexit 2')
    monkeypatch.setattr(host, "uv_path", lambda: uv)
    managed = tmp_path / "home" / ".local" / "share" / "uv" / "python"
    installed = fake_python(managed / "cpython-3.13.1-linux-x86_64-gnu" / "bin" / "python3.13", "cpython-313")
    fake_python(managed / "cpython-3.13.1+freethreaded-linux-x86_64-gnu" / "bin" / "python3.13", "cpython-313")
    fake_python(managed / "cpython-3.130.0-linux-x86_64-gnu" / "bin" / "python3.13", "cpython-313")  # not 3.13
    target = Target("python3.13", "x86_64")
    assert [i.path for i in host.interpreters(target)] == [answered, installed]
    assert host.candidates((3, 12)) == []  # uv answers nothing for 3.12


def test_uv_install_directory_without_uv_and_from_its_variable(tmp_path, monkeypatch, fake_host):
    directory = tmp_path / "uv-pythons"
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(directory))
    found = fake_python(directory / "cpython-3.12.7-linux-x86_64-gnu" / "bin" / "python3.12")
    assert host.find_interpreter(PY312, None) == found


def test_free_threaded_builds_do_not_count(tmp_path, fake_host):
    fake_python(tmp_path / "home" / ".pyenv" / "versions" / "3.13.0t" / "bin" / "python3.13", "cpython-313",
                host.machine(), "t")
    assert host.interpreters(Target("python3.13", "x86_64")) == []


def test_this_interpreter_comes_last_for_its_own_version(fake_host):
    version = sys.version_info[:2]
    assert host.candidates((version[0], version[1]))[-1] == sys.executable
    target = Target(f"python{version[0]}.{version[1]}", "x86_64")
    assert host.find_interpreter(target, None) == sys.executable  # nothing else on this fake host


def test_probes_run_once_per_interpreter(tmp_path, fake_host):
    count = tmp_path / "count"
    python = script(tmp_path / "home" / ".pyenv" / "versions" / "3.12.2" / "bin" / "python3.12",
                    f"echo run >> {count}\necho cpython-312")
    for _ in range(3):
        assert [i.path for i in host.interpreters(PY312)] == [python]
        assert host.find_interpreter(PY312, None) == python
    assert host.probe(python) == "cpython-312"
    assert count.read_text().count("run") == 1


def test_nothing_found_keeps_the_bytecode_errors(tmp_path, fake_host):
    broken_shim(fake_host / "python3.12")
    with pytest.raises(BytecodeError, match=r"needs a CPython 3\.12 interpreter.*python3\.12 on PATH does not run"
                                            r".*bytecode_python"):
        host.find_interpreter(PY312, None)
    other = fake_python(tmp_path / "py311", "cpython-311")
    with pytest.raises(BytecodeError, match=r"is cpython-311, but python3\.12 needs cpython-312"):
        host.find_interpreter(PY312, other)
    with pytest.raises(BytecodeError, match="does not run"):
        host.find_interpreter(PY312, str(fake_host / "python3.12"))


def test_emulation_through_binfmt_misc_or_qemu_on_path(tmp_path, fake_host):
    assert host.emulator(host.machine()) == ()
    assert host.emulator(OTHER_CPU) is None
    binfmt = tmp_path / "binfmt"
    binfmt.mkdir()
    (binfmt / "status").write_text("enabled\n")
    (binfmt / f"qemu-{OTHER_CPU}").write_text(f"disabled\ninterpreter /usr/bin/qemu-{OTHER_CPU}\n")
    assert host.emulator(OTHER_CPU) is None
    qemu = script(fake_host / f"qemu-{OTHER_CPU}", 'exec "$@"')
    assert host.emulator(OTHER_CPU) == (qemu,)
    (binfmt / f"qemu-{OTHER_CPU}").write_text(f"enabled\ninterpreter /usr/bin/qemu-{OTHER_CPU}\n")
    assert host.emulator(OTHER_CPU) == ()


@pytest.mark.skipif(host.machine() == "aarch64", reason="needs a host that is not AArch64")
def test_an_aarch64_python_is_used_only_when_named_and_runnable(tmp_path, fake_host, monkeypatch):
    target = Target("python3.12", "arm64")
    variable = host.emulated_variable("aarch64")
    assert variable == "LAMBDA_TASKS_AARCH64_PYTHON"
    assert host.find_emulated(target) == (None, "no qemu-aarch64 here")
    qemu = script(fake_host / "qemu-aarch64", 'exec "$@"')
    found, why = host.find_emulated(target)
    assert found is None and why.startswith(f"set {variable} to an aarch64 Python 3.12")
    python = fake_python(tmp_path / "arm" / "python3.12", "cpython-312", "aarch64")
    monkeypatch.setenv(variable, python)
    found, why = host.find_emulated(target)
    assert found is not None and found.command == (qemu, python) and found.machine == "aarch64" and not why
    monkeypatch.setenv(variable, fake_python(tmp_path / "x86" / "python3.12", "cpython-312", "x86_64"))
    found, why = host.find_emulated(target)
    assert found is None and "is cpython-312 on x86_64, not cpython-312 on aarch64" in why


@pytest.mark.slow
@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_the_real_hosts_interpreters_are_the_version_they_claim(runtime):
    """Whatever this machine has (nothing is assumed): each interpreter found runs and has the right tag."""
    host.describe.cache_clear()
    target = Target(runtime, "x86_64")
    for interpreter in host.interpreters(target):
        assert interpreter.cache_tag == target.cache_tag and os.access(interpreter.path, os.X_OK)
        assert host.probe(interpreter.path) == target.cache_tag
