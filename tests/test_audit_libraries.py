"""The binary audit's shared-library closure on crafted ELF files (compiled by the host's `cc`): the audit stage,
then `lambda-tasks build` as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import offline_pyproject
from elf_helpers import EM_AARCH64, linked, needs_cc, plain_library, with_machine, write
from factory import make_project, make_wheel

from lambda_tasks.assemble.collect import vendor_entries, wheel_entries
from lambda_tasks.checks.audit import audit
from lambda_tasks.checks.slim import slim
from lambda_tasks.entries import APP_MOUNT, LAYER_MOUNT
from lambda_tasks.errors import AuditError
from lambda_tasks.project_paths import directory
from lambda_tasks.report import Reporter
from lambda_tasks.targets import Target

pytestmark = needs_cc

PY311 = Target("python3.11", "x86_64")
PY312 = Target("python3.12", "x86_64")
BIN = Path(sys.executable).parent
EXT = "_ext.cpython-311-x86_64-linux-gnu.so"


class Said(Reporter):
    def __init__(self) -> None:
        super().__init__(quiet=True)
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)

    def warn(self, message: str) -> None:
        self.lines.append(f"warning: {message}")


def vendored(tmp_path: Path, files: dict[str, bytes]) -> list:
    for rel, data in files.items():
        write(tmp_path / "vendor" / rel, data)
    return vendor_entries(directory(tmp_path, "vendor", "vendor"))[0]


def test_a_library_lambda_lacks_fails_naming_file_library_and_way_out(tmp_path):
    entries = vendored(tmp_path, {f"fastgl/{EXT}": linked(("libGL.so.1",)), "fastgl/__init__.py": b""})
    with pytest.raises(AuditError) as caught:
        audit(entries, PY311, mount=LAYER_MOUNT)
    message = str(caught.value)
    first, *rest = message.splitlines()
    assert first == "binary audit failed: 1 file needs libGL.so.1, which python3.11 (Amazon Linux 2) does not have"
    assert f"  python/fastgl/{EXT} (vendor/) needs libGL.so.1" in rest
    assert "vendor/lib/" in message and f'audit_allow = ["fastgl/{EXT}:libGL.so.1"]' in message
    assert audit(entries, PY311) == [e for e in entries if e.arcname.endswith(".so")]  # no mount: no closure


def test_audit_allow_accepts_the_library_of_that_file_only(tmp_path):
    entries = vendored(tmp_path, {f"fastgl/{EXT}": linked(("libGL.so.1", "libX11.so.6"))})
    assert audit(entries, PY311, ["fastgl/*.so:libGL.so.1", "fastgl/*.so:libX11.so.6"], mount=LAYER_MOUNT)
    with pytest.raises(AuditError, match=r"libX11\.so\.6") as caught:
        audit(entries, PY311, ["fastgl/*.so:libGL.so.1"], mount=LAYER_MOUNT)
    assert "needs libX11.so.6\n" in str(caught.value) + "\n"
    assert audit(entries, PY311, ["fastgl/*"], mount=LAYER_MOUNT)  # the whole file, as before


def test_with_extra_layers_a_missing_library_is_a_warning_not_a_failure(tmp_path):
    entries = vendored(tmp_path, {f"fastgl/{EXT}": linked(("libpq.so.5",))})
    said = Said()
    audit(entries, PY311, mount=LAYER_MOUNT, extra_layers=["arn:aws:lambda:us-east-1:123456789012:layer:pq:1"],
          reporter=said)
    assert any("needs libpq.so.5" in line and "extra layer" in line for line in said.lines)


def test_vendor_lib_lands_in_opt_lib_where_the_loader_finds_it(tmp_path):
    files = {"fastpq/_ext.abi3.so": linked(("libpq.so.5",)), "lib/libpq.so.5": linked((), (), "libpq.so.5")}
    entries = vendored(tmp_path, files)
    assert {e.arcname for e in entries} == {"python/fastpq/_ext.abi3.so", "lib/libpq.so.5"}
    assert len(audit(entries, PY312, mount=LAYER_MOUNT)) == 2
    # in an image the same files sit in /var/task: lib/ is /var/task/lib
    image = [e.__class__(e.arcname.removeprefix("python/"), e.unit, e.size, e.mode, e.source) for e in entries]
    assert len(audit(image, PY312, mount=APP_MOUNT)) == 2


def test_a_vendor_lib_package_stays_a_package(tmp_path):
    entries = vendored(tmp_path, {"lib/__init__.py": b"", "lib/libpq.so.5": linked((), (), "libpq.so.5")})
    assert {e.arcname for e in entries} == {"python/lib/__init__.py", "python/lib/libpq.so.5"}


def test_runpath_with_origin_inside_the_artifacts(tmp_path):
    ext = linked(("libdep-1a2b.so.1",), ("-Wl,-rpath,$ORIGIN/../fastdep.libs", "-Wl,--enable-new-dtags"))
    dep = linked(("libz.so.1",), (), "libdep-1a2b.so.1")
    assert audit(vendored(tmp_path / "a", {f"fastdep/{EXT}": ext, "fastdep.libs/libdep-1a2b.so.1": dep}), PY311,
                 mount=LAYER_MOUNT)
    with pytest.raises(AuditError, match=r"needs libdep-1a2b\.so\.1"):
        audit(vendored(tmp_path / "b", {f"fastdep/{EXT}": ext, "elsewhere/libdep-1a2b.so.1": dep}), PY311,
              mount=LAYER_MOUNT)


def test_app_library_in_var_task_lib_is_found(tmp_path):
    from lambda_tasks.assemble.app_code import app_entries, app_files

    root = make_project(tmp_path / "proj")
    write(root / "chalicelib" / EXT, linked(("libthing.so.1",), ("-Wl,-rpath,$ORIGIN/lib", "-Wl,--enable-new-dtags")))
    with pytest.raises(AuditError, match=r"chalicelib/_ext.*needs libthing\.so\.1"):
        audit(app_entries(app_files(root)), PY311, mount=APP_MOUNT)
    write(root / "chalicelib" / "lib" / "libthing.so.1", linked((), (), "libthing.so.1"))
    assert len(audit(app_entries(app_files(root)), PY311, mount=APP_MOUNT)) == 2


def test_extension_files_for_other_pythons_are_not_audited_and_slim_drops_them(tmp_path):
    """As PyPI's pymongo wheels do: cpython-39 and -310 files beside the target's, here even for another CPU."""
    arm = with_machine(plain_library(), EM_AARCH64)
    wheel = make_wheel(tmp_path / "wh", "multi-abi", tag="cp311-cp311-manylinux2014_x86_64", files={
        "multi_abi/__init__.py": "", "multi_abi/_speed.cpython-311-x86_64-linux-gnu.so": plain_library(),
        "multi_abi/_speed.cpython-39-x86_64-linux-gnu.so": linked(("libGL.so.1",)),
        "multi_abi/_speed.cpython-310-x86_64-linux-gnu.so": arm})
    said = Said()
    verified = audit(wheel_entries(wheel), PY311, mount=LAYER_MOUNT, reporter=said)
    assert [e.arcname for e in verified] == ["python/multi_abi/_speed.cpython-311-x86_64-linux-gnu.so"]
    assert any("2 extension files built for other Pythons (multi-abi" in line for line in said.lines)
    kept, _ = slim(wheel_entries(wheel), keep_pycache=False, target=PY311)
    assert sorted(e.arcname for e in kept if ".dist-info" not in e.arcname) == [
        "python/multi_abi/__init__.py", "python/multi_abi/_speed.cpython-311-x86_64-linux-gnu.so"]
    alone = make_wheel(tmp_path / "wh2", "one-abi", tag="cp311-cp311-manylinux2014_x86_64",
                       files={"one_abi/_speed.cpython-39-x86_64-linux-gnu.so": plain_library()})
    with pytest.raises(AuditError, match="built for cpython-39"):  # nothing the target loads beside it
        audit(wheel_entries(alone), PY311, mount=LAYER_MOUNT)


@pytest.mark.e2e
@pytest.mark.slow
def test_lambda_tasks_build_fails_on_a_host_library_and_passes_once_it_is_shipped(tmp_path, wheelhouse):
    root = make_project(tmp_path / "app", pyproject=offline_pyproject(wheelhouse, 'runtime = "python3.12"\n'))
    write(root / "vendor" / "fastpq" / "__init__.py", b"")
    write(root / "vendor" / "fastpq" / "_ext.cpython-312-x86_64-linux-gnu.so", linked(("libpq.so.5",)))
    env = {**os.environ, "CI": "true"}
    failed = subprocess.run([BIN / "lambda-tasks", "build"], cwd=root, capture_output=True, text=True, env=env,
                            timeout=300)
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    assert "needs libpq.so.5, which python3.12 (Amazon Linux 2023) does not have" in failed.stderr
    assert "vendor/lib/" in failed.stderr and not (root / "layers" / "manifest.json").exists()
    write(root / "vendor" / "lib" / "libpq.so.5", linked((), (), "libpq.so.5"))
    built = subprocess.run([BIN / "lambda-tasks", "build"], cwd=root, capture_output=True, text=True, env=env,
                           timeout=300)
    assert built.returncode == 0, built.stderr
    layer = next((root / "layers").glob("*.zip"))
    with zipfile.ZipFile(layer) as archive:
        assert "lib/libpq.so.5" in archive.namelist()


@pytest.mark.slow
def test_verify_resolves_the_laid_out_artifacts_as_lambdas_loader_would(tmp_path, wheelhouse):
    """A library accepted at build time (audit_allow) is accepted by verify; without the setting, verify fails
    naming it, whatever this host has."""
    from lambda_tasks.assemble import build
    from lambda_tasks.config import load_settings
    from lambda_tasks.errors import VerifyError
    from lambda_tasks.verify import verify

    runtime = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    root = make_project(tmp_path / "app", pyproject=offline_pyproject(wheelhouse, f'runtime = "{runtime}"\n'))
    write(root / "vendor" / "fastpq" / "__init__.py", b"")
    write(root / "vendor" / "fastpq" / "_ext.abi3.so", linked(("libpq.so.5",)))
    allowed = load_settings(root, {}, {"audit_allow": ["fastpq/*:libpq.so.5"]})
    build(allowed, reporter=Reporter(quiet=True))
    verify(allowed.layers, allowed.function, None, Reporter(quiet=True))
    with pytest.raises(VerifyError) as caught:
        plain = load_settings(root, {}, {})
        verify(plain.layers, plain.function, None, Reporter(quiet=True))
    assert str(caught.value).startswith("verify failed: 1 file needs libpq.so.5, which ")
    assert "/opt/python/fastpq/_ext.abi3.so needs libpq.so.5" in str(caught.value)


def test_a_file_that_cannot_load_and_a_missing_library_are_said_together(tmp_path):
    entries = vendored(tmp_path, {"a/liba.so": with_machine(plain_library(), EM_AARCH64),
                                  f"fastpq/{EXT}": linked(("libpq.so.5",))})
    with pytest.raises(AuditError) as caught:
        audit(entries, PY311, mount=LAYER_MOUNT)
    first, second, *_ = str(caught.value).splitlines()
    assert "python/a/liba.so (vendor/) is built for AArch64" in first
    assert second == "  and 1 file needs libpq.so.5, which python3.11 (Amazon Linux 2) does not have"


@pytest.mark.slow
def test_the_function_zips_compiled_file_finds_a_library_vendor_lib_ships(tmp_path, wheelhouse):
    """chalicelib/ is in /var/task, vendor/lib/ in /opt/lib: both on Lambda's library path."""
    from lambda_tasks.assemble import build
    from lambda_tasks.config import load_settings

    root = make_project(tmp_path / "app", pyproject=offline_pyproject(wheelhouse))
    write(root / "chalicelib" / "_native.abi3.so", linked(("libthing.so.1",)))
    settings = load_settings(root, {}, {"runtime": "python3.12"})
    with pytest.raises(AuditError, match=r"chalicelib/_native\.abi3\.so \(app\) needs libthing\.so\.1"):
        build(settings, reporter=Reporter(quiet=True))
    write(root / "vendor" / "lib" / "libthing.so.1", linked((), (), "libthing.so.1"))
    build(settings, reporter=Reporter(quiet=True))


@pytest.mark.slow
def test_a_rebuild_resolves_from_the_remembered_verdicts(tmp_path, wheelhouse, monkeypatch):
    """The verdict cache keeps each wheel member's needed names and paths: a forced rebuild reads no ELF file
    again and still finds a library the wheel lacks."""
    from lambda_tasks.assemble import build
    from lambda_tasks.checks import audit as audit_module
    from lambda_tasks.config import load_settings

    ext = linked(("libdep-1a2b.so.1",), ("-Wl,-rpath,$ORIGIN/../fast_dep.libs", "-Wl,--disable-new-dtags"))
    files = {"fast_dep/__init__.py": "", "fast_dep/_ext.abi3.so": ext,
             "fast_dep.libs/libdep-1a2b.so.1": linked(("libz.so.1",), (), "libdep-1a2b.so.1")}
    make_wheel(wheelhouse, "fast-dep", tag="cp312-abi3-manylinux2014_x86_64", files=files)
    root = make_project(tmp_path / "app", "fast-dep\n", pyproject=offline_pyproject(wheelhouse))
    settings = load_settings(root, {}, {"runtime": "python3.12", "arch": "x86_64"})
    build(settings, reporter=Reporter(quiet=True))
    read: list[str] = []
    real = audit_module.verdict
    monkeypatch.setattr(audit_module, "verdict", lambda path, *a: read.append(path) or real(path, *a))
    build(settings, force=True, reporter=Reporter(quiet=True))
    assert not [path for path in read if path.endswith((".so", ".so.1"))]
    lacking = make_wheel(tmp_path / "other", "fast-dep", version="2.0", tag="cp312-abi3-manylinux2014_x86_64",
                         files={"fast_dep/_ext.abi3.so": ext})
    (root / "requirements.txt").write_text("fast-dep==2.0\n")
    (wheelhouse / lacking.name).write_bytes(lacking.read_bytes())
    with pytest.raises(AuditError, match=r"fast_dep/_ext\.abi3\.so \(fast-dep\) needs libdep-1a2b\.so\.1"):
        build(settings, reporter=Reporter(quiet=True))
