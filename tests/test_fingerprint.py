"""vendor/ is fingerprinted by content, kept fast by a stat cache that hashes a file only when its stat changed."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pytest
from factory import layers_key as layers_fingerprint
from factory import make_project

from lambda_tasks import files
from lambda_tasks.assemble import build
from lambda_tasks.config import load_settings
from lambda_tasks.files import content_sha256, content_sha256s, tree_digest
from lambda_tasks.report import Reporter


@pytest.fixture
def counted(monkeypatch) -> list[Path]:
    """Each path the stat cache really hashes; hashes are remembered at once (no racy window)."""
    calls: list[Path] = []
    real = files.file_sha256

    def counting(path: Path) -> str:
        calls.append(Path(path))
        return real(path)

    monkeypatch.setattr(files, "file_sha256", counting)
    monkeypatch.setattr(files, "RACY_NS", 0)
    return calls


def edit_keeping_size_and_mtime(path: Path, text: str) -> None:
    before = path.stat()
    assert len(text.encode()) == before.st_size
    path.write_text(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_a_vendor_edit_that_keeps_size_and_mtime_makes_the_layer_stale(tmp_path, capsys, counted):
    root = make_project(tmp_path / "proj")
    (root / "vendor").mkdir()
    module = root / "vendor" / "vendored_mod.py"
    module.write_text("X = 'aaa'\n")
    settings = load_settings(root, {}, {"runtime": "python3.12"})
    build(settings)
    capsys.readouterr()
    build(settings)
    assert "up to date" in capsys.readouterr().out
    edit_keeping_size_and_mtime(module, "X = 'bbb'\n")
    manifest = build(settings)
    out = capsys.readouterr().out
    assert "write: layers/proj-deps-1.zip" in out
    with zipfile.ZipFile(root / manifest.layers[0].path) as archive:
        assert archive.read("python/vendored_mod.py") == b"X = 'bbb'\n"


def test_the_stat_cache_hashes_only_changed_files(tmp_path, counted):
    paths = []
    for i in range(5):
        path = tmp_path / f"f{i}.txt"
        path.write_text(f"content {i}\n")
        paths.append(path)
    first = content_sha256s(paths)
    assert first == [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    assert len(counted) == 5
    assert content_sha256s(paths) == first and len(counted) == 5  # unchanged: none hashed again
    files._LOADED.clear()  # a new process: the hashes come from <cache>/hashes/
    assert content_sha256s(paths) == first and len(counted) == 5
    edit_keeping_size_and_mtime(paths[2], "content X\n")  # only ctime tells
    again = content_sha256s(paths)
    assert counted[5:] == [paths[2]]
    assert again[2] == hashlib.sha256(b"content X\n").hexdigest() and again[:2] == first[:2]


def test_a_file_replaced_by_another_is_hashed_again(tmp_path, counted):
    path, other = tmp_path / "a.txt", tmp_path / "b.txt"
    path.write_text("one\n")
    other.write_text("two\n")
    os.utime(other, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns))
    content_sha256(path)
    os.replace(other, path)  # same size and mtime, another inode
    assert content_sha256(path) == hashlib.sha256(b"two\n").hexdigest()
    assert len(counted) == 2


def test_a_file_changed_just_now_is_not_remembered(tmp_path, counted, monkeypatch):
    monkeypatch.setattr(files, "RACY_NS", 10**12)  # everything counts as just changed
    path = tmp_path / "fresh.txt"
    path.write_text("new\n")
    content_sha256(path)
    content_sha256(path)
    assert len(counted) == 2


def test_tree_digest_lists_paths_hashes_and_exec_bits(tmp_path):
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "__pycache__" / "m.cpython-312.pyc").write_bytes(b"junk")
    (tmp_path / "pkg" / "m.py").write_text("M = 1\n")
    (tmp_path / "run.sh").write_text("#!/bin/sh\n")
    (tmp_path / "run.sh").chmod(0o755)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref\n")
    assert tree_digest(tmp_path) == [
        ("pkg/m.py", hashlib.sha256(b"M = 1\n").hexdigest(), False),
        ("run.sh", hashlib.sha256(b"#!/bin/sh\n").hexdigest(), True),
    ]


def test_a_noop_fingerprint_of_a_big_vendor_tree_hashes_nothing(tmp_path, counted):
    root = make_project(tmp_path / "proj")
    for i in range(300):
        (root / "vendor" / f"pkg{i % 10}").mkdir(parents=True, exist_ok=True)
        (root / "vendor" / f"pkg{i % 10}" / f"m{i}.py").write_text(f"V = {i}\n")
    settings = load_settings(root, {}, {"runtime": "python3.12"})
    first = layers_fingerprint(settings)
    assert len(counted) == 300
    assert layers_fingerprint(settings) == first and len(counted) == 300
    (root / "vendor" / "pkg3" / "m3.py").chmod(0o755)  # the exec bit counts too
    assert layers_fingerprint(settings) != first


def test_a_no_op_build_does_not_hash_vendor_files_again(tmp_path, counted):
    root = make_project(tmp_path / "proj")
    (root / "vendor").mkdir()
    (root / "vendor" / "big.bin").write_bytes(os.urandom(1 << 20))
    settings = load_settings(root, {}, {"runtime": "python3.12"})
    build(settings, reporter=Reporter(quiet=True))
    hashed = len([path for path in counted if "vendor" in Path(path).parts])
    build(settings, reporter=Reporter(quiet=True))  # (the zips just written are hashed again: they are too new to
    assert len([path for path in counted if "vendor" in Path(path).parts]) == hashed  # be remembered, files.RACY_NS)
