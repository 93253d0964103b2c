"""A green build is a true build: damaged cached wheels are fetched again, ``--hash`` pins hold on a cache hit,
and a vendored wheel that is damaged or misnamed stops the build with one line, before anything is written."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import offline_pyproject
from factory import declared, make_project, make_wheel

from lambda_tasks.assemble import build
from lambda_tasks.assemble.archive import pack_entries, with_directories, write_zip
from lambda_tasks.assemble.collect import check_wheels, wheel_entries
from lambda_tasks.config import load_settings
from lambda_tasks.errors import ResolveError, WheelError
from lambda_tasks.files import cache_dir
from lambda_tasks.report import Reporter

GOOD = "def hello():\n    return 'good'\n"
EVIL = "def hello():\n    return 'evil'\n"


def settings_for(root: Path, **flags):
    return load_settings(root, {}, {"runtime": "python3.12", **flags})


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def project(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "purelib", files={"purelib/__init__.py": GOOD}, requires=["helperdep"])
    make_wheel(wheelhouse, "helperdep")
    root = make_project(tmp_path / "proj", "purelib\n", pyproject=offline_pyproject(wheelhouse))
    (root / "vendor").mkdir()
    (root / "vendor" / "vendored_mod.py").write_text("X = 1\n")
    return root


def layer_member(root: Path, manifest, name: str) -> bytes:
    with zipfile.ZipFile(root / manifest.layers[0].path) as archive:
        return archive.read(name)


def cached_wheel(name: str) -> Path:
    found = list((cache_dir() / "wheels" / "sha256").glob(f"*/{name}-*.whl"))
    assert len(found) == 1, found
    return found[0]


def make_layers_stale(root: Path, n: int) -> None:
    (root / "vendor" / "vendored_mod.py").write_text(f"X = {n}\n")


def rebuilt_under_the_same_name(tmp_path: Path, cached: Path) -> None:
    """Another wheel, same file name: what a rebuilt or replaced wheel looks like to a cache keyed by name."""
    evil = make_wheel(tmp_path / "evil", "purelib", files={"purelib/__init__.py": EVIL}, requires=["helperdep"])
    assert evil.name == cached.name
    shutil.copyfile(evil, cached)


def flipped_in_place(cached: Path) -> None:
    """One byte changed; size and mtime put back (only ctime, which cannot be set, tells)."""
    before = cached.stat()
    data = bytearray(cached.read_bytes())
    data[len(data) // 3] ^= 0xFF
    cached.write_bytes(bytes(data))
    os.utime(cached, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = cached.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


# ------------------------------------------------------------------------------------ the wheel cache


@pytest.mark.slow
@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("tamper", ["rebuilt", "flipped"])
def test_a_tampered_cached_wheel_is_dropped_and_fetched_again(project, tmp_path, capsys, monkeypatch, tamper, force):
    monkeypatch.setattr("lambda_tasks.files.RACY_NS", 0)  # remember hashes at once: the stat cache must see the edit
    first = build(settings_for(project))
    cached = cached_wheel("purelib")
    good_sha = sha256(cached)
    assert cached.parent.name == good_sha  # content-addressed
    if tamper == "rebuilt":
        rebuilt_under_the_same_name(tmp_path, cached)
    else:
        flipped_in_place(cached)
    make_layers_stale(project, 2)
    capsys.readouterr()
    second = build(settings_for(project), force=force)
    assert layer_member(project, second, "python/purelib/__init__.py") == GOOD.encode()
    assert sha256(cached_wheel("purelib")) == good_sha
    err = capsys.readouterr().err  # --force resolves again and replaces the damaged file as it stores the new one
    assert "cached wheel purelib-1.0-py3-none-any.whl is damaged" in err
    # with --force pip's path replaces the file as it stores the fetched one; uv's drops it before fetching
    assert "dropped it, fetching it again" in err or (force and "replaced it with the one just fetched" in err)
    assert first.layers[0].sha256 != second.layers[0].sha256  # the vendor edit


@pytest.mark.skipif(not shutil.which("uv", path=f"{os.environ.get('PATH')}{os.pathsep}{Path(sys.executable).parent}"),
                    reason="uv is not installed")
def test_uv_does_not_link_a_tampered_cached_wheel(project, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("lambda_tasks.files.RACY_NS", 0)
    with open(project / "pyproject.toml", "a") as handle:
        handle.write('installer = "uv"\n')
    build(settings_for(project))
    cached = cached_wheel("purelib")
    good_sha = sha256(cached)
    flipped_in_place(cached)
    capsys.readouterr()
    second = build(settings_for(project), force=True)  # uv resolves again and finds the wheel in the cache
    err = capsys.readouterr().err
    assert "cached wheel purelib-1.0-py3-none-any.whl is damaged" in err
    assert "dropped it, fetching it again" in err  # found by uv's fetch, before it could be linked
    assert layer_member(project, second, "python/purelib/__init__.py") == GOOD.encode()
    assert sha256(cached_wheel("purelib")) == good_sha


def test_the_cached_resolution_records_each_wheels_sha256(project):
    build(settings_for(project))
    (key_file,) = (cache_dir() / "resolutions").glob("*.json")
    rows = json.loads(key_file.read_text())
    assert {row["name"]: row["sha256"] for row in rows} == {
        path.name: sha256(path) for path in (cached_wheel("purelib"), cached_wheel("helperdep"))}


def pinned_project(tmp_path: Path, wheelhouse: Path) -> Path:
    purelib = make_wheel(wheelhouse, "purelib", files={"purelib/__init__.py": GOOD}, requires=["helperdep"])
    helperdep = make_wheel(wheelhouse, "helperdep")
    requirements = (f"purelib==1.0 \\\n    --hash=sha256:{sha256(purelib)}\n"
                    f"helperdep==1.0 --hash=sha256:{sha256(helperdep)}  # a comment\n")
    root = make_project(tmp_path / "pinned", requirements, pyproject=offline_pyproject(wheelhouse))
    (root / "vendor").mkdir()
    (root / "vendor" / "vendored_mod.py").write_text("X = 1\n")
    return root


def test_a_hash_pin_is_checked_on_a_cache_hit(tmp_path, wheelhouse):
    root = pinned_project(tmp_path, wheelhouse)
    build(settings_for(root))
    manifest_before = (root / "layers" / "manifest.json").read_bytes()
    # a cache that serves other bytes, consistently: wheel and resolution both say the new hash
    cached = cached_wheel("purelib")
    other = make_wheel(tmp_path / "other", "purelib", files={"purelib/__init__.py": EVIL}, requires=["helperdep"])
    other_sha = sha256(other)
    (cached.parent.parent / other_sha).mkdir()
    shutil.copyfile(other, cached.parent.parent / other_sha / other.name)
    (key_file,) = (cache_dir() / "resolutions").glob("*.json")
    rows = [{**row, "sha256": other_sha} if row["name"] == cached.name else row
            for row in json.loads(key_file.read_text())]
    key_file.write_text(json.dumps(rows))
    make_layers_stale(root, 2)
    with pytest.raises(ResolveError) as error:
        build(settings_for(root), reporter=Reporter(quiet=True))
    message = str(error.value)
    first, *detail = message.splitlines()
    assert first.startswith("purelib:") and "--hash" in first and len(first) < 160
    assert other_sha in message and sha256(wheelhouse / cached.name) in message
    assert all(line.startswith("  ") for line in detail)
    assert (root / "layers" / "manifest.json").read_bytes() == manifest_before


def test_pinned_hashes_follow_continuations_included_and_constraints_files(tmp_path):
    (tmp_path / "base.txt").write_text("six==1.16 --hash=sha256:AAAA --hash sha256:bbbb\n# x --hash=sha256:cc\n")
    (tmp_path / "constraints.txt").write_text("idna==3.7 --hash=sha256:ff\n")
    (tmp_path / "requirements.txt").write_text(
        "-r base.txt\n-c constraints.txt\nRequests[socks]==2.0 ; python_version > '3' \\\n  --hash=sha512:dd \\\n"
        "  --hash=sha256:ee\nplain\n")
    declaration = declared(load_settings(tmp_path, {}, {}))  # read once, with the files it includes
    assert declaration.pins == {"requests": {"sha512": {"dd"}, "sha256": {"ee"}}, "six": {"sha256": {"aaaa", "bbbb"}},
                                "idna": {"sha256": {"ff"}}}
    assert declaration.pins_of("Six>=1") == ["sha256:aaaa", "sha256:bbbb"]


# --------------------------------------------------------------------------------------- vendored wheels


def _data_offset(path: Path, member: str) -> tuple[int, zipfile.ZipInfo]:
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    with open(path, "rb") as handle:
        handle.seek(info.header_offset)
        header = handle.read(30)
    name_len, extra_len = struct.unpack("<2H", header[26:30])
    return info.header_offset + 30 + name_len + extra_len, info


def flip_member_byte(path: Path, member: str) -> None:
    """Change one byte inside a member's data; the zip's structure (directory, headers, sizes) stays."""
    offset, info = _data_offset(path, member)
    data = bytearray(path.read_bytes())
    data[offset + info.compress_size // 2] ^= 0x01
    path.write_bytes(bytes(data))


BODY = "".join(f"def f{i}(x):\n    return x * {i} + {i * 7 % 13}\n" for i in range(400))


def bad_crc_wheel(directory: Path, compression: int) -> Path:
    wheel = make_wheel(directory, "privatepkg", files={"privatepkg/__init__.py": BODY}, compression=compression)
    flip_member_byte(wheel, "privatepkg/__init__.py")
    return wheel


def truncated_wheel(directory: Path) -> Path:
    wheel = make_wheel(directory, "privatepkg", files={"privatepkg/__init__.py": BODY})
    wheel.write_bytes(wheel.read_bytes()[: wheel.stat().st_size // 2])
    return wheel


def misnamed_wheel(directory: Path) -> Path:
    wheel = make_wheel(directory, "privatepkg")
    return wheel.rename(directory / "notawheel.whl")


def _snapshot(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes()
            for folder in ("layers", "dist") for path in sorted((root / folder).rglob("*")) if path.is_file()}


@pytest.mark.parametrize("kind, label, says", [
    ("deflated-crc", "vendor/privatepkg-1.0-py3-none-any.whl", "is damaged: privatepkg/__init__.py"),
    ("stored-crc", "vendor/privatepkg-1.0-py3-none-any.whl", "is damaged: privatepkg/__init__.py"),
    ("truncated", "vendor/privatepkg-1.0-py3-none-any.whl", "is not a readable wheel"),
    ("name", "vendor/notawheel.whl", "is not a valid wheel file name"),
])
def test_a_damaged_vendored_wheel_is_one_line_and_nothing_is_written(project, kind, label, says):
    build(settings_for(project))
    before = _snapshot(project)
    vendor = project / "vendor"
    if kind == "deflated-crc":
        bad_crc_wheel(vendor, zipfile.ZIP_DEFLATED)
    elif kind == "stored-crc":
        bad_crc_wheel(vendor, zipfile.ZIP_STORED)
    elif kind == "truncated":
        truncated_wheel(vendor)
    else:
        misnamed_wheel(vendor)
    with pytest.raises(WheelError) as error:
        build(settings_for(project), reporter=Reporter(quiet=True))
    first, *detail = str(error.value).splitlines()
    assert first.startswith(label) and says in first and len(first) < 160
    assert detail and all(line.startswith("  ") for line in detail)
    assert _snapshot(project) == before  # no new zip, the manifest unchanged


def test_a_damaged_vendored_wheel_fails_a_first_build_without_writing(tmp_path, wheelhouse):
    root = make_project(tmp_path / "fresh", "", pyproject=offline_pyproject(wheelhouse))
    bad_crc_wheel(root / "vendor", zipfile.ZIP_DEFLATED)
    with pytest.raises(WheelError, match=r"^vendor/privatepkg-1.0-py3-none-any.whl is damaged"):
        build(settings_for(root), reporter=Reporter(quiet=True))
    assert not list((root / "layers").glob("*.zip")) and not (root / "layers" / "manifest.json").exists()
    assert not (root / "dist" / "app.zip").exists()


def test_the_copy_checks_members_of_wheels_not_checked_before(tmp_path):
    wheel = bad_crc_wheel(tmp_path / "w", zipfile.ZIP_DEFLATED)
    packed = with_directories(pack_entries(wheel_entries(wheel)))
    assert any(p.verify for p in packed)
    with pytest.raises(WheelError, match=r"^privatepkg-1.0-py3-none-any.whl is damaged: python/privatepkg/__init__"):
        write_zip(tmp_path / "out" / "layer.zip", packed)
    assert list((tmp_path / "out").iterdir()) == []  # the temp file is gone too


def test_a_stored_member_with_a_bad_crc_fails_when_packed(tmp_path):
    wheel = bad_crc_wheel(tmp_path / "w", zipfile.ZIP_STORED)
    with pytest.raises(WheelError, match=r"^privatepkg-1.0-py3-none-any.whl is damaged: privatepkg/__init__.py"):
        pack_entries(wheel_entries(wheel))


def test_checked_wheels_are_copied_raw_and_the_verdict_is_remembered(tmp_path, monkeypatch):
    from lambda_tasks.assemble import crc

    wheel = make_wheel(tmp_path / "w", "goodpkg", files={"goodpkg/__init__.py": BODY})
    calls = []
    real = crc.check_wheel
    monkeypatch.setattr(crc, "check_wheel", lambda *a: calls.append(a) or real(*a))
    check_wheels([wheel])
    check_wheels([wheel])
    assert len(calls) == 1  # once per wheel content
    packed = pack_entries(wheel_entries(wheel, checked=True))
    assert not any(p.verify for p in packed)
    written = write_zip(tmp_path / "layer.zip", with_directories(packed))
    with zipfile.ZipFile(written.path) as archive_file:
        assert archive_file.testzip() is None
