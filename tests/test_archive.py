import os
import stat
import zipfile

import pytest
from factory import make_wheel

from lambda_tasks.assemble.archive import pack_entries, with_directories, write_zip, zip_size
from lambda_tasks.assemble.collect import wheel_entries
from lambda_tasks.entries import BytesSource, Entry, FileSource


def entry(name: str, data: bytes, mode: int = 0o644) -> Entry:
    return Entry(name, "u", len(data), mode, BytesSource(data))


def test_zip_is_valid_sorted_with_fixed_time_and_modes(tmp_path):
    entries = [entry("b/x.py", b"print(1)\n" * 50), entry("a.py", b"a"), entry("b/run", b"#!/bin/sh\n", 0o755)]
    packed = with_directories(pack_entries(entries))
    written = write_zip(tmp_path / "out.zip", packed)
    with zipfile.ZipFile(written.path) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names == sorted(names) == ["a.py", "b/", "b/run", "b/x.py"]
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            mode = info.external_attr >> 16
            expected = 0o755 if info.filename in ("b/", "b/run") else 0o644
            assert stat.S_IMODE(mode) == expected
        assert archive.read("b/x.py") == b"print(1)\n" * 50
        assert archive.getinfo("b/x.py").compress_type == zipfile.ZIP_DEFLATED
        assert archive.getinfo("a.py").compress_type == zipfile.ZIP_STORED  # deflate would not help
    assert written.zip_bytes == os.path.getsize(written.path) == zip_size(packed)
    assert written.unzipped_bytes == sum(len(e.read()) for e in entries)


def test_same_entries_same_bytes_any_order_or_path(tmp_path):
    entries = [entry(f"pkg/m{i}.py", f"x = {i}\n".encode() * i) for i in range(30)]
    one = write_zip(tmp_path / "one" / "a.zip", with_directories(pack_entries(entries)))
    two = write_zip(tmp_path / "two" / "b.zip", with_directories(pack_entries(list(reversed(entries)), workers=1)))
    assert one.path.read_bytes() == two.path.read_bytes()
    assert one.sha256 == two.sha256


def test_source_date_epoch_sets_the_timestamp(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13:20 UTC
    written = write_zip(tmp_path / "t.zip", with_directories(pack_entries([entry("a.py", b"x")])))
    with zipfile.ZipFile(written.path) as archive:
        assert archive.getinfo("a.py").date_time == (2023, 11, 14, 22, 13, 20)


def test_deflated_wheel_members_are_copied_not_recompressed(tmp_path):
    body = ("def f():\n    return 1\n" * 400).encode()
    wheel = make_wheel(tmp_path, "demo", files={"demo/__init__.py": body, "demo/empty.py": b""})
    entries = wheel_entries(wheel)
    packed = {p.arcname: p for p in pack_entries(entries)}
    copied = packed["python/demo/__init__.py"]
    assert copied.data is None and copied.wheel == wheel  # a reference into the wheel, no bytes in memory
    with zipfile.ZipFile(wheel) as source:
        assert copied.compress_size == source.getinfo("demo/__init__.py").compress_size
    written = write_zip(tmp_path / "layer.zip", with_directories(packed.values()))
    with zipfile.ZipFile(written.path) as archive:
        assert archive.testzip() is None
        assert archive.read("python/demo/__init__.py") == body
        assert archive.read("python/demo/empty.py") == b""


def test_stored_and_deflate64_members_are_recompressed(tmp_path):
    body = b"data " * 1000
    wheel = make_wheel(tmp_path, "stored", files={"stored/__init__.py": body}, compression=zipfile.ZIP_STORED)
    packed = next(p for p in pack_entries(wheel_entries(wheel)) if p.arcname.endswith("__init__.py"))
    assert packed.data is not None and packed.compress_size < len(body)


def test_file_sources_keep_exec_bit_only(tmp_path):
    script = tmp_path / "tool.sh"
    script.write_bytes(b"#!/bin/sh\n")
    script.chmod(0o700)  # owner-only: normalised to 0755 so Lambda's user can read it
    packed = pack_entries([Entry("tool.sh", "u", 10, 0o755, FileSource(script))])
    written = write_zip(tmp_path / "x.zip", with_directories(packed))
    with zipfile.ZipFile(written.path) as archive:
        assert stat.S_IMODE(archive.getinfo("tool.sh").external_attr >> 16) == 0o755


@pytest.mark.slow
def test_zip64_when_more_than_65535_entries(tmp_path):
    entries = [entry(f"d/{i:05d}", b"") for i in range(66000)]
    packed = with_directories(pack_entries(entries))
    written = write_zip(tmp_path / "many.zip", packed)
    assert written.zip_bytes == zip_size(packed)
    with zipfile.ZipFile(written.path) as archive:
        assert len(archive.infolist()) == 66001
