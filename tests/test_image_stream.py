"""``image_gzip = "stream"``: one gzip member, the same bytes with any number of threads, whether spliced from the
wheels' deflate data (``tar_join``, where libz loads) or deflated in parallel blocks (``gzip_stream``, where it
does not); every wheel member checked as it is inflated; tar headers made directly, as tarfile makes them."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from factory import make_wheel

from lambda_tasks.assemble import gzip_join, gzip_stream, tar
from lambda_tasks.entries import BytesSource, Entry, WheelMember
from lambda_tasks.errors import WheelError


def big_wheel(directory: Path) -> Path:
    """Over three blocks of tar: text that compresses, noise that does not, members both sides of a cut."""
    text = "".join(f"def f{i}(x):\n    return x * {i} + {i % 7}\n" for i in range(60000))  # ~2.2 MB
    return make_wheel(directory, "pkg", files={
        "pkg/__init__.py": text,
        "pkg/noise.bin": os.urandom(1_300_000),
        **{f"pkg/small_{i}.py": f"X = {i}\n" * (i + 1) for i in range(50)},
    })


def entries_of(wheel: Path, checked: bool = True) -> list[Entry]:
    with zipfile.ZipFile(wheel) as archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
    return [Entry(info.filename, "pkg", info.file_size, 0o644, WheelMember(wheel, info, checked)) for info in infos]


def write(directory: Path, entries: list[Entry], threads: int) -> tuple[tar.WrittenLayer, bytes]:
    layer = tar.members(entries, "var/task/")
    if threads:
        with ThreadPoolExecutor(threads) as pool:
            written = tar.write_layer(directory, layer, tar.STREAM, pool)
    else:
        written = tar.write_layer(directory, layer, tar.STREAM)
    assert written.unzipped_bytes == tar.tar_size(layer)
    return written, (directory / written.digest.removeprefix("sha256:")).read_bytes()


@pytest.fixture(params=["libz", "no libz"])
def libz(request, monkeypatch):
    """Each stream test twice: spliced (libz through ctypes), and deflated anew as on a machine without libz."""
    if request.param == "no libz":
        monkeypatch.setattr(gzip_join, "libz", lambda: None)
    elif gzip_join.libz() is None:
        pytest.skip("no libz to load through ctypes")
    return request.param


def test_a_stream_layer_is_one_gzip_member_with_the_same_bytes_on_1_and_4_threads(tmp_path, libz):
    entries = [*entries_of(big_wheel(tmp_path / "wheels")),
               Entry("pkg/extra.txt", "pkg", 3000, 0o644, BytesSource(b"abc" * 1000))]
    alone, blob = write(tmp_path / "none", entries, 0)
    assert write(tmp_path / "one", entries, 1)[0] == alone
    assert write(tmp_path / "four", entries, 4)[0] == alone
    assert alone.unzipped_bytes > 3 * gzip_stream.BLOCK  # several blocks, cut inside members
    inflater = zlib.decompressobj(31)  # zlib's gzip mode: one member, nothing after it
    data = inflater.decompress(blob)
    assert inflater.eof and not inflater.unused_data
    assert alone.diff_id == "sha256:" + hashlib.sha256(data).hexdigest() and len(data) == alone.unzipped_bytes
    assert alone.digest == "sha256:" + hashlib.sha256(blob).hexdigest()
    assert gzip.decompress(blob) == data  # Python's gzip (which checks the CRC-32 and length in the trailer)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        assert archive.extractfile("var/task/pkg/extra.txt").read() == b"abc" * 1000  # type: ignore[union-attr]
    if shutil.which("gzip"):
        tested = subprocess.run(["gzip", "-t"], input=blob, capture_output=True)
        assert tested.returncode == 0, tested.stderr


@pytest.mark.parametrize("size", [0, 1, gzip_stream.BLOCK - 1, gzip_stream.BLOCK, gzip_stream.BLOCK + 1,
                                  3 * gzip_stream.BLOCK])
def test_the_stream_writer_at_block_edges(size):
    data = (bytes(range(256)) * (size // 256 + 1))[:size]
    outputs = []
    for pool in (None, ThreadPoolExecutor(3)):
        out = io.BytesIO()
        writer = gzip_stream.StreamWriter(out, pool, ahead=2)
        for at in range(0, size, 70001):  # writes that do not line up with the blocks
            writer.write(data[at:at + 70001])
        writer.close()
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1]
    assert gzip.decompress(outputs[0]) == data


@pytest.mark.parametrize("fmt", [tar.STREAM, tar.MEMBERS])
def test_a_wrong_crc_is_found_as_the_member_is_inflated_even_in_a_checked_wheel(tmp_path, fmt, libz):
    """A wheel whose directory disagrees with its intact deflate data: the layer pass checks every byte anyway."""
    entries = entries_of(big_wheel(tmp_path / "wheels"))
    bad = []
    for entry in entries:
        source = entry.source
        assert isinstance(source, WheelMember)
        if source.info.filename == "pkg/__init__.py":
            info = zipfile.ZipInfo(source.info.filename)
            for field in ("compress_type", "compress_size", "file_size", "header_offset"):
                setattr(info, field, getattr(source.info, field))
            info.CRC = source.info.CRC ^ 1
            entry = dataclasses.replace(entry, source=WheelMember(source.wheel, info, checked=True))
        bad.append(entry)
    with pytest.raises(WheelError, match=r"pkg/__init__\.py does not match its CRC or size"):
        tar.write_layer(tmp_path / "blobs", tar.members(bad, "var/task/"), fmt)
    assert not list((tmp_path / "blobs").iterdir())


@pytest.mark.parametrize(("name", "is_dir", "size", "when"), [
    ("a.py", False, 0, 0), ("x/" * 49 + "y/", True, 0, 0), ("x" * 99 + "/", True, 0, 7), ("x" * 100, False, 12345, 1),
    ("x" * 101, False, 1, 0), ("x" * 100 + "/", True, 0, 0), ("\u00fcml\u00e4ut.py", False, 3, 0),
    ("big", False, 8 ** 11 - 1, 1_700_000_000), ("bigger", False, 8 ** 11, 0), ("late", False, 1, 8 ** 11)])
def test_tar_headers_are_tarfiles_bytes(name, is_dir, size, when):
    """The headers made directly are tarfile's PAX-format headers, byte for byte (the diff_id depends on them)."""
    for mode in (0o644, 0o755):
        info = tarfile.TarInfo(name.rstrip("/"))
        info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
        info.size, info.mode, info.mtime = size, mode, when
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        expected = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        assert tar._header(name, is_dir, size, mode, when) == expected
