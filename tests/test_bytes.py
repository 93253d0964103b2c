"""The layer's bytes are right: entries round-trip against the wheels, CRCs verify, sizes match a fresh
level-6 compression, builds in different directories are byte-identical, and the result imports."""

from __future__ import annotations

import hashlib
import io
import random
import shutil
import zipfile
import zlib
from pathlib import Path

import pytest
from conftest import lambda_layout, offline_pyproject, run_handler
from factory import build, make_project, make_wheel

from lambda_tasks.assemble.collect import _installed_path, _is_record
from lambda_tasks.config import load_settings


def _text(seed: int, lines: int) -> str:
    """Source-like comment lines that compress like real code (not all alike, not random)."""
    rng = random.Random(seed)
    words = ["self", "return", "value", "import", "numpy", "def", "class", "None", "for", "in", "if", "data",
             "result", "index", "frame", "dtype", "array", "axis", "len", "range", "name", "key", "items"]
    return "".join(f"#{' ' * 4 * rng.randint(0, 3)}{' '.join(rng.choices(words, k=rng.randint(2, 9)))}\n"
                   for _ in range(lines))


def _wheel_with_level(directory: Path, name: str, level: int, files: dict[str, bytes]) -> Path:
    """A wheel whose members were deflated at ``level`` (as other build tools do), plus one stored member."""
    info = f"{name}-1.0.dist-info"
    path = directory / f"{name}-1.0-py3-none-any.whl"
    members = {**files, f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode(),
               f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    with zipfile.ZipFile(path, "w") as archive:
        for arcname, data in sorted(members.items()):
            method = zipfile.ZIP_STORED if arcname.endswith(".txt") else zipfile.ZIP_DEFLATED
            archive.writestr(zipfile.ZipInfo(arcname), data, compress_type=method, compresslevel=level)
        archive.writestr(f"{info}/RECORD", "".join(f"{n},,\n" for n in sorted(members)) + f"{info}/RECORD,,\n")
    return path


@pytest.fixture
def wheels(wheelhouse: Path) -> Path:
    make_wheel(wheelhouse, "alpha", files={f"alpha/mod{i}.py": _text(i, 400) for i in range(6)}
               | {"alpha/__init__.py": "from alpha.mod0 import *\nNAME = 'alpha'\n",
                  "alpha-1.0.data/purelib/alpha_extra.py": "EXTRA = 'moved from .data/purelib'\n",
                  "alpha-1.0.data/scripts/alpha-cli": "#!/bin/sh\necho left out\n"})
    make_wheel(wheelhouse, "beta", compression=zipfile.ZIP_STORED,
               files={"beta/__init__.py": "NAME = 'beta'\n" + _text(99, 300), "beta/data.bin": bytes(range(256)) * 64})
    _wheel_with_level(wheelhouse, "gamma", 9, {"gamma/__init__.py": ("NAME = 'gamma'\n" + _text(7, 500)).encode(),
                                               "gamma/notes.txt": b"stored, deflated by us\n" * 50})
    return wheelhouse


def _project(root: Path, wheelhouse: Path) -> Path:
    app = "import alpha, beta, gamma, alpha_extra\n\ndef handler(event, context):\n" \
          "    return [alpha.NAME, beta.NAME, gamma.NAME, alpha_extra.EXTRA]\n"
    return make_project(root, "alpha\nbeta\ngamma\n", app=app, pyproject=offline_pyproject(wheelhouse))


def _build(project: Path):
    manifest = build(load_settings(project, {}, {"runtime": "python3.12"}))
    return manifest, [project / layer.path for layer in manifest.layers], project / manifest.app.path


def test_every_layer_entry_round_trips_against_its_wheel_and_crcs_verify(wheels, tmp_path):
    _, layers, app = _build(_project(tmp_path / "proj", wheels))
    shipped: dict[str, bytes] = {}
    for layer in layers:
        with zipfile.ZipFile(layer) as archive:
            assert archive.testzip() is None
            for info in archive.infolist():
                if not info.is_dir():
                    shipped[info.filename] = archive.read(info)
    with zipfile.ZipFile(app) as archive:
        assert archive.testzip() is None
    expected = 0
    for wheel in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            for info in archive.infolist():
                target = _installed_path(info.filename)
                if target is None:
                    assert f"python/{info.filename}" not in shipped
                    continue
                data = shipped[f"python/{target}"]
                if _is_record(info.filename):
                    assert b"alpha_extra.py," in data or "alpha" not in info.filename
                    assert b".data/" not in data
                else:
                    assert data == archive.read(info), info.filename
                expected += 1
    assert expected == len(shipped)
    assert shipped["python/alpha_extra.py"] == b"EXTRA = 'moved from .data/purelib'\n"


def test_deflated_wheel_members_are_copied_raw_and_the_rest_is_deflated(wheels, tmp_path):
    _, layers, _ = _build(_project(tmp_path / "proj", wheels))
    gamma = next(wheels.glob("gamma-*.whl"))
    with zipfile.ZipFile(gamma) as source, zipfile.ZipFile(layers[0]) as layer:
        wheel_info = source.getinfo("gamma/__init__.py")
        layer_info = layer.getinfo("python/gamma/__init__.py")
        assert (layer_info.CRC, layer_info.compress_size) == (wheel_info.CRC, wheel_info.compress_size)
        assert layer.getinfo("python/gamma/notes.txt").compress_type == zipfile.ZIP_DEFLATED
        assert layer.getinfo("python/beta/data.bin").compress_type == zipfile.ZIP_DEFLATED


def test_no_file_twice_and_every_directory_listed(wheels, tmp_path):
    _, layers, app = _build(_project(tmp_path / "proj", wheels))
    for path in [*layers, app]:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        assert len(names) == len(set(names))
        assert names == sorted(names)
        for name in names:
            parent = name.rstrip("/").rpartition("/")[0]
            assert not parent or parent + "/" in names


def _recompressed(path: Path) -> int:
    """The same entries deflated afresh at level 6 by Python's zipfile (stored when that is smaller)."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as fresh:
        for info in source.infolist():
            data = source.read(info)
            packed = zlib.compressobj(6, zlib.DEFLATED, -15)
            smaller = len(packed.compress(data) + packed.flush()) < len(data)
            method = zipfile.ZIP_DEFLATED if smaller and not info.is_dir() else zipfile.ZIP_STORED
            fresh.writestr(zipfile.ZipInfo(info.filename, info.date_time), data, compress_type=method, compresslevel=6)
    return len(out.getvalue())


def test_compressed_size_within_two_percent_of_a_level_6_recompression(wheels, tmp_path):
    _, layers, _ = _build(_project(tmp_path / "proj", wheels))
    for layer in layers:
        ours, fresh = layer.stat().st_size, _recompressed(layer)
        assert ours <= fresh * 1.02, (ours, fresh)


def test_builds_in_different_directories_are_byte_identical(wheels, tmp_path, monkeypatch):
    digests = []
    for number, where in enumerate(["one/proj", "two/deeper/other-name"]):
        monkeypatch.setenv("LAMBDA_TASKS_CACHE", str(tmp_path / f"cache{number}"))
        project = _project(tmp_path / where, wheels)
        (project / "pyproject.toml").write_text(offline_pyproject(wheels, 'layer_name = "same-deps"\n'))
        manifest, layers, app = _build(project)
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in [*layers, app]])
        assert [layer.sha256 for layer in manifest.layers] == digests[-1][:-1]
    assert digests[0] == digests[1]


def test_the_layer_imports_in_a_lambda_like_layout(wheels, tmp_path):
    _, layers, app = _build(_project(tmp_path / "proj", wheels))
    task, opt = lambda_layout(tmp_path / "lambda", app, layers)
    result = run_handler(task, opt, "import app; print(app.handler({}, None))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['alpha', 'beta', 'gamma', 'moved from .data/purelib']"
    shutil.rmtree(tmp_path / "lambda")


def test_a_no_op_rebuild_imports_neither_pip_nor_boto3(wheels, tmp_path):
    """The up-to-date check is the floor's path: nothing heavy is imported on it."""
    import subprocess
    import sys

    project = _project(tmp_path / "proj", wheels)
    _build(project)
    code = ("import sys; from pathlib import Path; from lambda_tasks.assemble import build; "
            "from lambda_tasks.config import load_settings; "
            "build(load_settings(Path.cwd(), {}, {'runtime': 'python3.12'}).building); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'pip', 'boto3', 'botocore', 'elftools'}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"
