"""Image layers as gzip members that reuse the wheels' deflate streams, read back by independent readers."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest
from factory import make_wheel

from lambda_tasks.assemble import gzip_members, tar
from lambda_tasks.entries import BytesSource, Entry, FileSource, WheelMember
from lambda_tasks.errors import WheelError


def wheel_entries(wheel: Path, checked: bool = True) -> list[Entry]:
    with zipfile.ZipFile(wheel) as archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
    return [Entry(info.filename, "pkg", info.file_size, 0o644, WheelMember(wheel, info, checked)) for info in infos]


def a_wheel(directory: Path) -> Path:
    text = "".join(f"def f{i}(x):\n    return x * {i}\n" for i in range(4000))
    return make_wheel(directory, "pkg", files={
        "pkg/__init__.py": text,  # several deflate blocks
        "pkg/empty.py": "",
        "pkg/noise.bin": os.urandom(70000),  # stored blocks inside the wheel's deflate stream
        "pkg/\u00fcml\u00e4ut/" + "long_name_" * 12 + ".py": "X = 1\n",  # a PAX header
    })


def members_of(blob: bytes) -> list[bytes]:
    """Each gzip member's decompressed bytes, split by zlib's gzip mode."""
    out = []
    while blob:
        inflater = zlib.decompressobj(31)
        out.append(inflater.decompress(blob))
        assert inflater.eof
        blob = inflater.unused_data
    return out


def write(tmp_path: Path, entries: list[Entry], fmt: str = tar.MEMBERS) -> tuple[tar.WrittenLayer, Path]:
    layer = tar.members(entries, "var/task/")
    written = tar.write_layer(tmp_path / "blobs", layer, fmt)
    assert written.unzipped_bytes == tar.tar_size(layer)
    return written, tmp_path / "blobs" / written.digest.removeprefix("sha256:")


def test_a_layer_is_a_multi_member_gzip_that_independent_readers_take(tmp_path):
    wheel = a_wheel(tmp_path / "wheels")
    app = tmp_path / "app.py"
    app.write_text("import pkg\n" * 300)
    entries = [*wheel_entries(wheel), Entry("app.py", "app", app.stat().st_size, 0o644, FileSource(app)),
               Entry("pkg-1.0.dist-info/RECORD", "pkg", 5, 0o644, BytesSource(b"a,b\n\n"))]
    written, path = write(tmp_path, entries)
    blob = path.read_bytes()
    assert written.digest == "sha256:" + hashlib.sha256(blob).hexdigest() and written.size == len(blob)
    parts = members_of(blob)
    assert len(parts) > 5  # a member per reused stream, one between each two
    data = b"".join(parts)
    assert written.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    with gzip.open(path) as stream:  # Python's gzip reads every member
        assert stream.read() == data
    # the wheel's deflate bytes are in the layer as they are, with the zip's CRC and length after them
    with zipfile.ZipFile(wheel) as archive:
        info = archive.getinfo("pkg/__init__.py")
    with open(wheel, "rb") as handle:
        from lambda_tasks.assemble.archive import data_offset

        handle.seek(data_offset(WheelMember(wheel, info), handle))
        raw = handle.read(info.compress_size)
    assert gzip_members.HEADER + raw + gzip_members.trailer(info.CRC, info.file_size) in blob
    # the same tar as the one-stream writer: same diff_id, same length
    stream_written, _ = write(tmp_path / "stream", entries, tar.STREAM)
    assert (stream_written.diff_id, stream_written.unzipped_bytes) == (written.diff_id, written.unzipped_bytes)
    with tarfile.open(path, "r:gz") as archive:
        names = archive.getnames()
        assert archive.extractfile("var/task/pkg/__init__.py").read().startswith(b"def f0(x)")  # type: ignore[union-attr]
    assert "var/task/pkg/\u00fcml\u00e4ut/" + "long_name_" * 12 + ".py" in names and "var/task/pkg" in names
    if shutil.which("gzip"):
        assert subprocess.run(["gzip", "-t", str(path)], capture_output=True).returncode == 0
    if shutil.which("tar"):
        listed = subprocess.run(["tar", "-tzf", str(path)], capture_output=True, text=True)
        assert listed.returncode == 0, listed.stderr
        assert sorted(line.rstrip("/") for line in listed.stdout.splitlines()) == sorted(names)


def test_wheel_layers_do_not_depend_on_zlibs_compressor(tmp_path, monkeypatch):
    """Only deflated wheel members and directories: no byte of the layer comes from zlib's compressor."""
    wheel = a_wheel(tmp_path / "wheels")
    entries = [e for e in wheel_entries(wheel) if e.source.info.compress_type == zipfile.ZIP_DEFLATED]  # type: ignore[union-attr]
    first, _ = write(tmp_path / "one", entries)

    def refuse(*args, **kwargs):
        raise AssertionError("zlib.compressobj was used")

    monkeypatch.setattr(zlib, "compressobj", refuse)
    second, _ = write(tmp_path / "two", entries)
    assert second == first


def test_members_and_stream_layers_keep_apart_in_the_entries_key(tmp_path):
    layer = tar.members(wheel_entries(a_wheel(tmp_path)), "var/task/")
    assert tar.entries_key(layer, tar.MEMBERS) != tar.entries_key(layer, tar.STREAM)


@pytest.mark.parametrize("fmt", [tar.MEMBERS, tar.STREAM])
def test_a_damaged_member_is_named_and_leaves_no_blob(tmp_path, fmt):
    wheel = a_wheel(tmp_path / "wheels")
    with zipfile.ZipFile(wheel) as archive:
        info = archive.getinfo("pkg/__init__.py")
    with open(wheel, "r+b") as handle:
        from lambda_tasks.assemble.archive import data_offset

        at = data_offset(WheelMember(wheel, info), handle) + info.compress_size // 2
        handle.seek(at)
        byte = handle.read(1)
        handle.seek(at)
        handle.write(bytes([byte[0] ^ 0x55]))
    with pytest.raises(WheelError, match=r"pkg/__init__\.py"):
        write(tmp_path, wheel_entries(wheel, checked=False), fmt)
    assert not [p for p in (tmp_path / "blobs").iterdir()]


@pytest.mark.parametrize("data", [b"", b"\0", b"\0\0\0", b"\0" * 4, b"a\0\0\0", b"\0" * 259, b"\0" * 260, b"\0" * 12000,
                                  bytes(range(256)) * 2, "\u00e9t\u00e9/\u00fc".encode() + b"\0" * 600 + b"0000644\0"])
def test_fixed_blocks_decode_to_their_bytes(data):
    for final in (True, False):
        encoded = gzip_members.fixed_block(data, final) + (b"" if final else gzip_members.FINAL_EMPTY)
        inflater = zlib.decompressobj(-15)
        assert inflater.decompress(encoded) == data and inflater.eof and not inflater.unused_data
