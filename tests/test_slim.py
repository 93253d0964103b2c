"""Slimming, runtime-provided packages and stripping."""

from __future__ import annotations

import io
import shutil

import pytest
from elf_helpers import needs_cc, plain_library
from factory import make_wheel

from lambda_tasks.assemble.collect import vendor_entries, wheel_entries
from lambda_tasks.checks.audit import audit
from lambda_tasks.checks.exclude import exclude, excluded_units, warn_pinned_runtime_provided
from lambda_tasks.checks.slim import slim
from lambda_tasks.checks.strip import strip_binaries
from lambda_tasks.entries import FILE_MODE, BytesSource, Entry
from lambda_tasks.host import find_strip
from lambda_tasks.project_paths import directory
from lambda_tasks.report import Reporter
from lambda_tasks.sources.requirements import requirement_lines
from lambda_tasks.targets import RUNTIME_PROVIDED, Target

PY311 = Target("python3.11", "x86_64")


def entry(arcname: str, unit: str, data: bytes = b"x = 1\n") -> Entry:
    return Entry(arcname, unit, len(data), FILE_MODE, BytesSource(data))


def test_slim_drops_what_lambda_never_uses_and_keeps_dist_info():
    kept_names = [
        "python/numpy/__init__.py",
        "python/numpy/testing/__init__.py",          # a module named testing is real code
        "python/numpy/test_utils.py",                # a file named test_*.py is not a tests/ directory
        "python/numpy-2.0.dist-info/METADATA",
        "python/numpy-2.0.dist-info/RECORD",
        "python/numpy-2.0.dist-info/entry_points.txt",
        "python/numpy-2.0.dist-info/tests/odd.txt",  # never touch .dist-info
    ]
    dropped_names = [
        "python/numpy/__pycache__/__init__.cpython-311.pyc",
        "python/numpy/tests/test_core.py",
        "python/numpy/core/tests/data/x.npy",
        "python/numpy/test/helper.py",
        "python/numpy/__init__.pyi",
        "python/bin/f2py",
    ]
    entries = [entry(name, "numpy") for name in kept_names + dropped_names]
    kept, saved = slim(entries, keep_pycache=False)
    assert sorted(e.arcname for e in kept) == sorted(kept_names)
    assert saved == sum(e.size for e in entries if e.arcname in dropped_names)


def test_slim_keeps_pycache_when_asked_and_leaves_vendor_tests_and_the_app_alone():
    entries = [
        entry("python/lib/__pycache__/m.cpython-311.pyc", "lib"),
        entry("python/mytool/tests/fixtures.py", "vendor/mytool"),  # the user's own vendored code
        entry("chalicelib/tests/conftest.py", "app"),
        entry("python/stubs/__init__.pyi", "vendor/stubs"),
    ]
    kept, saved = slim(entries, keep_pycache=True)
    assert [e.arcname for e in kept] == [e.arcname for e in entries[:3]]
    assert saved == entries[3].size


def test_slim_on_a_real_wheel(tmp_path):
    wheel = make_wheel(tmp_path, "thing", files={
        "thing/__init__.py": "X = 1\n", "thing/__init__.pyi": "X: int\n", "thing/tests/test_x.py": "def test(): pass\n",
    })
    kept, saved = slim(wheel_entries(wheel), keep_pycache=False)
    names = {e.arcname for e in kept}
    assert "python/thing/__init__.py" in names and "python/thing-1.0.dist-info/RECORD" in names
    assert "python/thing/__init__.pyi" not in names and "python/thing/tests/test_x.py" not in names
    assert saved == len("X: int\n") + len("def test(): pass\n")


def test_runtime_provided_are_left_out_with_a_warning_for_pins(tmp_path, capsys):
    assert {"boto3", "botocore", "s3transfer", "jmespath"} == RUNTIME_PROVIDED
    entries = [entry("python/boto3/__init__.py", "boto3"), entry("python/botocore/__init__.py", "botocore"),
               entry("python/yaml/__init__.py", "pyyaml")]
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("boto3==1.34.0  # pinned on purpose\nJMESPath>=1\nbotocore\npyyaml\n")
    warn_pinned_runtime_provided(requirement_lines(requirements), "requirements.txt", Reporter())
    kept = exclude(entries, excluded_units((), runtime_provided=True), {"yaml"}, Reporter())
    assert [e.arcname for e in kept] == ["python/yaml/__init__.py"]
    out, err = capsys.readouterr()
    assert f"left out boto3, botocore (provided by the Lambda runtime): {entries[0].size + entries[1].size} B saved" in out
    assert "pins boto3==1.34.0" in err and "pins JMESPath>=1" in err
    assert "pins botocore" not in err  # named without a version: the runtime's is what it asked for


@needs_cc
def test_strip_removes_debug_symbols_from_verified_files_only(tmp_path):
    tool = find_strip(PY311)
    if tool is None:
        pytest.skip("no strip tool for x86_64 on this host")
    library = plain_library()  # compiled with -g
    (tmp_path / "vendor" / "pkg").mkdir(parents=True)
    (tmp_path / "vendor" / "pkg" / "libok.so").write_bytes(library)
    (tmp_path / "vendor" / "pkg" / "liballowed.so").write_bytes(library)
    entries, _ = vendor_entries(directory(tmp_path, "vendor", "vendor"))
    verified = [e for e in audit(entries, PY311) if e.arcname.endswith("libok.so")]
    out, saved = strip_binaries(entries, verified, PY311, Reporter(quiet=True))
    by_name = {e.arcname: e for e in out}
    stripped = by_name["python/pkg/libok.so"].read()
    assert saved == len(library) - len(stripped) > 0
    assert by_name["python/pkg/libok.so"].size == len(stripped)
    assert by_name["python/pkg/liballowed.so"].read() == library  # not verified: untouched
    from elftools.elf.elffile import ELFFile

    sections = {s.name for s in ELFFile(io.BytesIO(stripped)).iter_sections()}
    assert ".debug_info" not in sections and ".dynsym" in sections
    assert audit([by_name["python/pkg/libok.so"]], PY311)  # still a valid library for the target


def test_strip_is_skipped_with_a_note_without_a_tool(monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    elf = entry("python/x.so", "x", b"\x7fELF....")
    out, saved = strip_binaries([elf], [elf], Target("python3.11", "arm64"), Reporter())
    assert out == [elf] and saved == 0
    assert "skipped, no strip tool for aarch64" in capsys.readouterr().out
