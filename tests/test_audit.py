"""The binary audit, on real ELF files compiled by the tests (see elf_helpers.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from elf_helpers import EM_AARCH64, needs_cc, newer_glibc_library, plain_library, with_machine, write
from factory import make_project, make_wheel

from lambda_tasks.assemble.collect import vendor_entries, wheel_entries
from lambda_tasks.checks.audit import audit, check_elf, check_extension_name
from lambda_tasks.entries import FILE_MODE, BytesSource, Entry
from lambda_tasks.errors import AuditError
from lambda_tasks.project_paths import directory
from lambda_tasks.targets import Target

PY311 = Target("python3.11", "x86_64")
PY312 = Target("python3.12", "x86_64")
PY311_ARM = Target("python3.11", "arm64")

pytestmark = needs_cc


def vendored(tmp_path: Path, files: dict[str, bytes]) -> list:
    vendor = tmp_path / "vendor"
    for rel, data in files.items():
        write(vendor / rel, data)
    entries, wheels = vendor_entries(directory(vendor.parent, "vendor", "vendor"))
    assert not wheels
    return entries


def test_the_helpers_make_what_the_tests_need():
    assert check_elf(io.BytesIO(newer_glibc_library()), PY311)[0] == ["needs GLIBC_2.34; python3.11 has glibc 2.26"]
    assert check_elf(io.BytesIO(plain_library()), PY311)[0] == []


def test_vendored_library_needing_glibc_2_34_fails_a_python311_build(tmp_path):
    entries = vendored(tmp_path, {"fastthing/libfast.so": newer_glibc_library(), "fastthing/__init__.py": b""})
    with pytest.raises(AuditError) as caught:
        audit(entries, PY311)
    message = str(caught.value)
    assert "\n" not in message
    assert "python/fastthing/libfast.so (vendor/)" in message
    assert "needs GLIBC_2.34" in message and "python3.11 has glibc 2.26" in message
    assert "audit_allow" in message


def test_the_same_library_passes_on_python312_and_is_a_strip_candidate(tmp_path):
    entries = vendored(tmp_path, {"fastthing/libfast.so": newer_glibc_library(), "fastthing/__init__.py": b""})
    verified = audit(entries, PY312)
    assert [e.arcname for e in verified] == ["python/fastthing/libfast.so"]


def test_wheel_library_for_the_wrong_machine_names_file_distribution_and_both_machines(tmp_path):
    arm = with_machine(plain_library(), EM_AARCH64)
    wheel = make_wheel(tmp_path / "wh", "Fast-Thing", tag="cp311-cp311-manylinux2014_x86_64",
                       files={"fast_thing/__init__.py": "", "fast_thing/_core.cpython-311-x86_64-linux-gnu.so": arm})
    with pytest.raises(AuditError) as caught:
        audit(wheel_entries(wheel), PY311)
    message = str(caught.value)
    assert "python/fast_thing/_core.cpython-311-x86_64-linux-gnu.so (fast-thing)" in message
    assert "built for AArch64" in message and "x86_64 runs x86-64" in message


def test_machine_check_works_both_ways(tmp_path):
    x86 = Entry("python/libx.so", "vendor/libx.so", len(plain_library()), FILE_MODE, BytesSource(plain_library()))
    arm_data = with_machine(plain_library(), EM_AARCH64)
    arm = Entry("python/liba.so", "vendor/liba.so", len(arm_data), FILE_MODE, BytesSource(arm_data))
    assert audit([arm], PY311_ARM) == [arm]
    with pytest.raises(AuditError, match=r"python/libx.so \(vendor/\) is built for x86-64; arm64 runs AArch64"):
        audit([x86, arm], PY311_ARM)


def test_extension_module_for_another_python_fails_even_when_its_elf_is_fine(tmp_path):
    good = plain_library()
    entries = vendored(tmp_path, {
        "mod_a.cpython-312-x86_64-linux-gnu.so": good,
        "mod_b.cpython-311-x86_64-linux-gnu.so": good,
        "mod_c.abi3.so": good,
        "mod_d.so": good,
    })
    with pytest.raises(AuditError) as caught:
        audit(entries, PY311)
    message = str(caught.value)
    assert "python/mod_a.cpython-312-x86_64-linux-gnu.so (vendor/) is an extension module built for cpython-312" in message
    assert "python3.11 needs cpython-311 or abi3" in message
    assert "mod_b" not in message and "mod_c" not in message and "mod_d" not in message
    assert message.startswith("binary audit failed: 1 file cannot load")


@pytest.mark.parametrize("name, problem", [
    ("m.cpython-311-x86_64-linux-gnu.so", None),
    ("m.cpython-311.so", None),
    ("m.abi3.so", None),
    ("m.cpython-310-x86_64-linux-gnu.so", "cpython-310"),
    ("m.cpython-311-aarch64-linux-gnu.so", "aarch64-linux-gnu"),
    ("m.cpython-311-x86_64-linux-musl.so", "x86_64-linux-musl"),
    ("m.cpython-311-darwin.so", "darwin"),
    ("m.cpython-311d-x86_64-linux-gnu.so", "'d' build"),
    ("m.pypy39-pp73-x86_64-linux-gnu.so", "PyPy"),
])
def test_extension_name_tags(name, problem):
    found = check_extension_name(name, PY311)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_every_bad_file_is_listed_in_one_line(tmp_path):
    entries = vendored(tmp_path, {
        "a/liba.so": newer_glibc_library(),
        "b/libb.so": with_machine(plain_library(), EM_AARCH64),
        "c/libc_ok.so": plain_library(),
    })
    with pytest.raises(AuditError) as caught:
        audit(entries, PY311)
    message = str(caught.value)
    assert "2 files cannot load" in message and "\n" not in message
    assert "python/a/liba.so (vendor/) needs GLIBC_2.34" in message
    assert "python/b/libb.so (vendor/) is built for AArch64" in message
    assert "libc_ok" not in message


def test_audit_allow_ships_a_listed_file_but_does_not_call_it_verified(tmp_path):
    entries = vendored(tmp_path, {"a/liba.so": newer_glibc_library(), "b/libb.so": plain_library()})
    verified = audit(entries, PY311, allow=["a/*.so"])  # patterns match with or without python/
    assert [e.arcname for e in verified] == ["python/b/libb.so"]
    assert audit(entries, PY311, allow=["python/a/liba.so"])
    with pytest.raises(AuditError):
        audit(entries, PY311, allow=["b/*"])


def test_truncated_elf_and_foreign_binaries_fail():
    truncated = b"\x7fELF" + b"\0" * 8
    macho = b"\xcf\xfa\xed\xfe" + b"\0" * 60
    entries = [Entry("python/t.so", "t", len(truncated), FILE_MODE, BytesSource(truncated)),
               Entry("python/m.so", "m", len(macho), FILE_MODE, BytesSource(macho))]
    with pytest.raises(AuditError) as caught:
        audit(entries, PY311)
    assert "python/t.so (t) is not a readable ELF file" in str(caught.value)
    assert "python/m.so (m) is a macOS Mach-O file" in str(caught.value)


class CountingSource:
    """A source that counts the bytes read from it."""

    def __init__(self, data: bytes) -> None:
        self.data, self.read_bytes = data, 0

    def open(self):
        source = self

        class Stream(io.BytesIO):
            def read(self, size=-1):
                chunk = super().read(size)
                source.read_bytes += len(chunk)
                return chunk

        return Stream(self.data)


def test_only_the_magic_of_non_elf_files_is_read():
    big = CountingSource(b"#" * 1_000_000)
    entry = Entry("python/big.py", "big", 1_000_000, FILE_MODE, big)  # type: ignore[arg-type]
    assert audit([entry], PY311) == []
    assert big.read_bytes == 4


def test_build_stage_refuses_a_vendored_library_needing_a_newer_glibc(tmp_path):
    """The audit runs on the layers with the setting's allow list."""
    from lambda_tasks.config import load_settings

    root = make_project(tmp_path / "proj")
    write(root / "vendor" / "fastthing" / "libfast.so", newer_glibc_library())
    settings = load_settings(root, {}, {"runtime": "python3.11"})
    entries, _ = vendor_entries(directory(settings.project_dir, "vendor", "vendor"))
    with pytest.raises(AuditError, match=r"python/fastthing/libfast.so \(vendor/\) needs GLIBC_2.34; python3.11 has glibc 2.26"):
        audit(entries, settings.target, settings.audit_allow)
    allowed = load_settings(root, {}, {"runtime": "python3.11", "audit_allow": ["fastthing/libfast.so"]})
    assert audit(entries, allowed.target, allowed.audit_allow) == []


def test_build_fails_on_a_vendored_library_needing_a_newer_glibc(tmp_path):
    """End to end: `build` refuses the layer, naming file and versions."""
    from lambda_tasks.assemble import build
    from lambda_tasks.config import load_settings
    from lambda_tasks.report import Reporter

    root = make_project(tmp_path / "proj", pyproject='[tool.lambda-tasks]\npip_args = ["--no-index"]\n')
    write(root / "vendor" / "fastthing" / "libfast.so", newer_glibc_library())
    with pytest.raises(AuditError, match=r"python/fastthing/libfast.so \(vendor/\) needs GLIBC_2.34; python3.11 has glibc 2.26"):
        build(load_settings(root, {}, {"runtime": "python3.11"}), reporter=Reporter(quiet=True))
    assert not (root / "layers" / "manifest.json").exists()
