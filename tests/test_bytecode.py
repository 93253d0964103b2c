"""Bytecode: unchecked-hash pycs from the runtime's exact version, deterministic, used from read-only trees."""

from __future__ import annotations

import importlib.util
import marshal
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from factory import make_wheel

from lambda_tasks.assemble.collect import wheel_entries
from lambda_tasks.checks.bytecode import compile_entries, merge, pyc_arcname
from lambda_tasks.entries import APP_UNIT, FILE_MODE, BytesSource, Entry
from lambda_tasks.errors import BytecodeError
from lambda_tasks.host import find_interpreter
from lambda_tasks.targets import Target

HOST = Target(f"python{sys.version_info[0]}.{sys.version_info[1]}", "x86_64")
MODULE = 'KINDS = {"alpha", "beta", "gamma", "delta"}\n\ndef kind(x):\n    return x in {"alpha", "beta", "omega"}\n'


def entry(arcname: str, unit: str, text: str) -> Entry:
    data = text.encode()
    return Entry(arcname, unit, len(data), FILE_MODE, BytesSource(data))


def flags(pyc: bytes) -> int:
    return struct.unpack("<I", pyc[4:8])[0]


def interpreter_or_skip(version: str) -> str:
    """A Python ``version`` interpreter that runs on this machine (as the build finds one), else skip."""
    try:
        return find_interpreter(Target(f"python{version}", "x86_64"), None)
    except BytecodeError as error:
        pytest.skip(f"needs a Python {version} interpreter on this machine: {error}")


def test_pycs_are_unchecked_hash_for_the_runtime_with_runtime_paths(tmp_path):
    wheel = make_wheel(tmp_path, "thing", files={"thing/__init__.py": MODULE, "thing/sub/mod.py": "Y = 2\n"})
    entries = wheel_entries(wheel)
    pycs = compile_entries(entries, HOST, sys.executable, "/opt")
    by_name = {p.arcname: p for p in pycs}
    tag = sys.implementation.cache_tag
    assert set(by_name) == {f"python/thing/__pycache__/__init__.{tag}.pyc", f"python/thing/sub/__pycache__/mod.{tag}.pyc"}
    for pyc in pycs:
        data = pyc.read()
        assert data[:4] == importlib.util.MAGIC_NUMBER
        assert flags(data) == 0b01  # hash-based, check_source off: PEP 552's unchecked-hash
        assert pyc.unit == "thing" and pyc.mode == FILE_MODE and pyc.size == len(data)
    code = marshal.loads(by_name[f"python/thing/__pycache__/__init__.{tag}.pyc"].read()[16:])
    assert code.co_filename == "/opt/python/thing/__init__.py"
    app = compile_entries([entry("app.py", APP_UNIT, "X = 1\n")], HOST, sys.executable, "/var/task")
    assert app[0].arcname == f"__pycache__/app.{tag}.pyc"
    assert marshal.loads(app[0].read()[16:]).co_filename == "/var/task/app.py"


@pytest.mark.parametrize("version", [
    None,  # this interpreter
    # 3.10's marshal writes frozenset constants in string-hash order: only a fixed hash seed makes it repeatable
    pytest.param("3.10", marks=pytest.mark.slow),
], ids=["host", "3.10"])
def test_compilation_is_deterministic_even_with_set_constants(version, monkeypatch):
    target, interpreter = (HOST, sys.executable) if version is None else (
        Target(f"python{version}", "x86_64"), interpreter_or_skip(version))
    entries = [entry(f"python/m{i}.py", "m", MODULE.replace("omega", f"omega{i}")) for i in range(5)]
    monkeypatch.setenv("PYTHONHASHSEED", "1")
    first = [p.read() for p in compile_entries(entries, target, interpreter, "/opt")]
    monkeypatch.setenv("PYTHONHASHSEED", "2")
    second = [p.read() for p in compile_entries(list(reversed(entries)), target, interpreter, "/opt")]
    assert first == second


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def test_module_imports_from_a_read_only_tree_using_the_pyc_and_writes_nothing(tmp_path):
    entries = [entry("python/thing/__init__.py", "thing", "VALUE = 'from source'\n")]
    pycs = compile_entries(entries, HOST, sys.executable, "/opt")
    root = tmp_path / "opt"
    for item in entries + pycs:
        path = root / item.arcname
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(item.read())
    # an unchecked-hash pyc is used without looking at the source: prove it by changing the source
    (root / "python/thing/__init__.py").write_text("VALUE = 'recompiled'\n")
    for path in [root, *root.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    before = snapshot(root)
    done = subprocess.run([sys.executable, "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); import thing; "
                           "print(thing.VALUE, thing.__cached__)", str(root / "python")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "from"  # 'from source': the shipped pyc, not the edited source
    assert snapshot(root) == before


def test_a_third_party_file_that_does_not_compile_gets_no_pyc_but_app_code_must_compile():
    broken = entry("python/old/py2.py", "old", "print 'hello'\n")
    good = entry("python/old/ok.py", "old", "X = 1\n")
    pycs = compile_entries([broken, good], HOST, sys.executable, "/opt")
    assert [p.arcname for p in pycs] == [pyc_arcname("python/old/ok.py", HOST)]
    with pytest.raises(BytecodeError, match=r"chalicelib/bad.py"):
        compile_entries([entry("chalicelib/bad.py", APP_UNIT, "def (:\n")], HOST, sys.executable, "/var/task")


def test_merge_replaces_a_wheels_own_pyc():
    old = entry("python/__pycache__/m.cpython-311.pyc", "m", "old")
    new = entry("python/__pycache__/m.cpython-311.pyc", "m", "new")
    source = entry("python/m.py", "m", "X = 1\n")
    assert merge([source, old], [new]) == [source, new]


def test_no_interpreter_of_the_runtime_version_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", os.defpath)
    with pytest.raises(BytecodeError, match=r"needs a CPython 3\.14 interpreter.*bytecode_python"):
        find_interpreter(Target("python3.14", "x86_64"), None)
    other = "python3.12" if sys.version_info[:2] != (3, 12) else "python3.11"
    with pytest.raises(BytecodeError, match=rf"is {sys.implementation.cache_tag}, but {other} needs"):
        find_interpreter(Target(other, "x86_64"), sys.executable)
    with pytest.raises(BytecodeError, match="does not run"):
        find_interpreter(HOST, "/nonexistent/python")


def test_this_interpreter_is_found_for_its_own_version():
    assert find_interpreter(HOST, None)


@pytest.mark.slow
def test_the_setting_gives_another_version_and_its_pycs_carry_that_versions_magic():
    target = Target("python3.12", "arm64")
    interpreter = find_interpreter(target, interpreter_or_skip("3.12"))
    magic = subprocess.run([interpreter, "-c", "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())"],
                           capture_output=True, text=True, check=True).stdout
    pycs = compile_entries([entry("python/m.py", "m", MODULE)], target, interpreter, "/opt")
    assert pycs[0].arcname == "python/__pycache__/m.cpython-312.pyc"
    assert pycs[0].read()[:4].hex() == magic and flags(pycs[0].read()) == 0b01
