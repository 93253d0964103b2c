"""``image_gzip = "stream"`` as zlib's gzjoin: the wheels' deflate streams spliced into ONE gzip member, at the bit
level (every end offset, every kind of last block, many in a row) and as layers read by independent readers."""

from __future__ import annotations

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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_tasks.assemble import gzip_join, gzip_members, tar
from lambda_tasks.entries import BytesSource, Entry, WheelMember
from lambda_tasks.errors import WheelError

pytestmark = pytest.mark.skipif(gzip_join.libz() is None, reason="no libz to load through ctypes")

FLUSHES = [zlib.Z_NO_FLUSH, zlib.Z_SYNC_FLUSH, zlib.Z_FULL_FLUSH, zlib.Z_BLOCK]
STRATEGIES = [zlib.Z_DEFAULT_STRATEGY, zlib.Z_FILTERED, zlib.Z_HUFFMAN_ONLY, zlib.Z_RLE, zlib.Z_FIXED]


def deflate(data: bytes, level: int, strategy: int = zlib.Z_DEFAULT_STRATEGY, cuts: tuple[int, ...] = (),
            flush: int = zlib.Z_NO_FLUSH) -> bytes:
    """A raw deflate stream from zlib, flushed with ``flush`` at each of ``cuts`` (more blocks, empty ones too)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 9, strategy)
    out, at = [], 0
    for cut in sorted(cuts):
        out += [compressor.compress(data[at:cut]), compressor.flush(flush)]
        at = cut
    return b"".join([*out, compressor.compress(data[at:]), compressor.flush()])


def fixed_final(ascii_count: int, high_count: int) -> tuple[bytes, bytes, int]:
    """A final fixed-Huffman block whose end is known bit for bit: literals 1..143 take 8 bits, 144..255 take 9,
    header and end-of-block 10. Returns (data, stream, unused bits in its last byte)."""
    data = bytes(1 + i % 143 for i in range(ascii_count)) + bytes(144 + i % 112 for i in range(high_count))
    bits = 10 + 8 * ascii_count + 9 * high_count
    return data, gzip_members.fixed_block(data, final=True), -bits % 8


def spliced(stream: bytes, step: int) -> tuple[bytes, bytes]:
    """(the stream spliced, what it inflated to), fed ``step`` bytes at a time."""
    raw, data = [], []
    for out, inflated in gzip_join.splice(stream[at:at + step] for at in range(0, len(stream), step)):
        raw.append(out)
        data.append(inflated)
    return b"".join(raw), b"".join(data)


def inflate_all(joined: bytes) -> bytes:
    inflater = zlib.decompressobj(-15)
    data = inflater.decompress(joined)
    assert inflater.eof and not inflater.unused_data
    return data


@pytest.mark.parametrize("high", range(8))
@pytest.mark.parametrize("step", [1, 3, 1 << 20])
def test_a_last_block_ending_at_every_bit_offset(high, step):
    """The end's unused bits are zeroed and an empty stored block appended where the end is not on a byte: one
    more byte when fewer than 3 bits are left for its header. What follows then starts on a byte."""
    data, stream, unused = fixed_final(5, high)
    out, inflated = spliced(stream, step)
    assert inflated == data
    assert len(out) == len(stream) + (0 if unused == 0 else 5 if unused < 3 else 4)
    assert out[0] == stream[0] & ~1  # the BFINAL bit, and only it, cleared
    assert out[1:len(stream) - 1] == stream[1:-1]
    after = b"after"
    assert inflate_all(out + gzip_members.fixed_block(after, final=True)) == data + after


@pytest.mark.parametrize("level", range(10))
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_zlib_streams_of_every_level_and_strategy_join(level, strategy):
    text = b"".join(b"line %d of some text, %d\n" % (i, i % 13) for i in range(5000))
    pieces = [text, os.urandom(40000), b"", b"x", text[:300] + os.urandom(300)]
    streams = [deflate(data, level, strategy) for data in pieces]
    joined = b"".join(spliced(stream, 4096)[0] for stream in streams) + gzip_members.FINAL_EMPTY
    assert inflate_all(joined) == b"".join(pieces)


streams = st.one_of(
    st.builds(lambda n, h: fixed_final(n, h)[:2], st.integers(0, 40), st.integers(0, 40)),
    st.tuples(st.binary(max_size=3000), st.integers(0, 9), st.sampled_from(STRATEGIES),
              st.lists(st.integers(0, 3000), max_size=3), st.sampled_from(FLUSHES)).map(
        lambda t: (t[0], deflate(t[0], t[1], t[2], tuple(c for c in t[3] if c <= len(t[0])), t[4]))),
    st.tuples(st.integers(0, 200_000), st.integers(0, 9)).map(  # several blocks: stored, or dynamic ones
        lambda t: (data := (bytes(range(256)) * (t[0] // 256 + 1))[:t[0]] if t[1] % 2 else os.urandom(t[0]),
                   deflate(data, t[1]))),
)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(streams, st.integers(1, 70000), st.binary(max_size=600)), min_size=1, max_size=12))
def test_many_streams_joined_in_a_row_inflate_to_their_concatenation(items):
    """Streams of every kind, fed in chunks of any size, each followed by bytes of ours in non-final fixed blocks
    (as tar headers are): one deflate stream whose data are the inputs' in order."""
    joined, expected = [], []
    for (data, stream), step, ours in items:
        out, inflated = spliced(stream, step)
        assert inflated == data
        joined.append(out)
        if ours:
            joined.append(gzip_members.fixed_block(ours, final=False))
        expected += [data, ours]
    assert inflate_all(b"".join(joined) + gzip_members.FINAL_EMPTY) == b"".join(expected)


@pytest.mark.parametrize(("stream", "why"), [
    (deflate(b"abc" * 1000, 6)[:-3], "ends early"),
    (deflate(b"abc" * 1000, 6) + b"\x00", "bytes after the end"),
    (b"\xff" * 20, "corrupt"),
    (b"", "ends early"),
], ids=["truncated", "trailing", "garbage", "empty"])
def test_a_bad_stream_is_refused(stream, why):
    with pytest.raises(gzip_join.JoinError, match=why):
        spliced(stream, 7)


def test_crc32_combine_is_zlibs():
    first, second = os.urandom(1000), os.urandom(3333)
    assert gzip_join.crc32_combine(zlib.crc32(first), zlib.crc32(second), len(second)) == zlib.crc32(first + second)


# -- layers


def mixed_wheel(path: Path) -> list[Entry]:
    """A wheel with members deflated at levels 0-9, stored, empty, large and of many blocks."""
    text = b"".join(b"def f%d(x):\n    return x * %d\n" % (i, i) for i in range(30000))
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for level in range(10):
            archive.writestr(f"pkg/level{level}.py", text[: 5000 * (level + 1)], zipfile.ZIP_DEFLATED, level)
        archive.writestr("pkg/big.py", text, zipfile.ZIP_DEFLATED, 9)
        archive.writestr("pkg/noise.bin", os.urandom(200_000), zipfile.ZIP_DEFLATED, 6)
        archive.writestr("pkg/stored.so", os.urandom(5000) + bytes(3000), zipfile.ZIP_STORED)
        archive.writestr("pkg/empty.py", b"", zipfile.ZIP_DEFLATED)
        archive.writestr("pkg/empty_stored.py", b"", zipfile.ZIP_STORED)
        archive.writestr("pkg/one.py", b"1", zipfile.ZIP_DEFLATED)
        infos = archive.infolist()
    return [Entry(info.filename, "pkg", info.file_size, 0o644, WheelMember(path, info, True)) for info in infos]


def layer_entries(tmp_path: Path) -> list[Entry]:
    return [*mixed_wheel(tmp_path / "wheels" / "pkg-1.0-py3-none-any.whl"),
            Entry("app.py", "app", 3000, 0o644, BytesSource(b"abc" * 1000)),
            Entry("pkg-1.0.dist-info/RECORD", "pkg", 5, 0o644, BytesSource(b"a,,\n\n"))]


def write(directory: Path, entries: list[Entry], fmt: str, pool: ThreadPoolExecutor | None = None) -> bytes:
    layer = tar.members(entries, "var/task/")
    written = tar.write_layer(directory, layer, fmt, pool)
    blob = (directory / written.digest.removeprefix("sha256:")).read_bytes()
    assert written.digest == "sha256:" + hashlib.sha256(blob).hexdigest() and written.size == len(blob)
    assert written.unzipped_bytes == tar.tar_size(layer)
    return blob


def test_a_stream_layer_is_one_member_with_the_tar_the_other_writers_make(tmp_path, monkeypatch):
    entries = layer_entries(tmp_path)
    blob = write(tmp_path / "joined", entries, tar.STREAM)
    inflater = zlib.decompressobj(31)  # zlib's gzip mode: one member, nothing after it
    data = inflater.decompress(blob)
    assert inflater.eof and not inflater.unused_data
    assert gzip.decompress(blob) == data  # Python's gzip checks the trailer's CRC-32 and length
    assert gzip.decompress(write(tmp_path / "members", entries, tar.MEMBERS)) == data
    with ThreadPoolExecutor(4) as pool:
        assert write(tmp_path / "again", entries, tar.STREAM, pool) == blob  # reruns and threads: the same bytes
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        assert archive.extractfile("var/task/pkg/big.py").read().startswith(b"def f0(x)")  # type: ignore[union-attr]
        assert archive.extractfile("var/task/pkg/empty_stored.py").read() == b""  # type: ignore[union-attr]
    for command in (["gzip", "-t"], ["tar", "-tzf", "-"]):
        if shutil.which(command[0]):
            tested = subprocess.run(command, input=blob, capture_output=True)
            assert tested.returncode == 0, tested.stderr
    # without libz (Windows): the pigz-style writer, another key, the same tar
    joined_key = tar.entries_key(tar.members(entries, "var/task/"), tar.STREAM)
    monkeypatch.setattr(gzip_join, "libz", lambda: None)
    deflated = write(tmp_path / "deflated", entries, tar.STREAM)
    assert deflated != blob and gzip.decompress(deflated) == data
    assert tar.entries_key(tar.members(entries, "var/task/"), tar.STREAM) != joined_key


def test_a_stream_layer_is_about_the_size_of_the_members_one(tmp_path):
    entries = layer_entries(tmp_path)
    joined, members = write(tmp_path / "joined", entries, tar.STREAM), write(tmp_path / "m", entries, tar.MEMBERS)
    assert len(joined) < len(members)  # no gzip header and trailer per file; about 5 bytes per file instead


@pytest.mark.parametrize("damage", ["flipped", "longer", "shorter"])
def test_a_damaged_member_is_the_one_line_error_and_leaves_no_blob(tmp_path, damage):
    entries = layer_entries(tmp_path)
    wheel = tmp_path / "wheels" / "pkg-1.0-py3-none-any.whl"
    bad = []
    for entry in entries:
        source = entry.source
        if isinstance(source, WheelMember) and source.info.filename == "pkg/big.py":
            info = source.info
            if damage == "flipped":
                blob = bytearray(wheel.read_bytes())
                blob[info.header_offset + 30 + len(info.filename) + info.compress_size // 2] ^= 0x55
                wheel.write_bytes(bytes(blob))
            else:
                info.compress_size += 1 if damage == "longer" else -1
        bad.append(entry)
    with pytest.raises(WheelError, match=r"pkg/big\.py does not match its CRC or size"):
        write(tmp_path / "blobs", bad, tar.STREAM)
    assert not list((tmp_path / "blobs").iterdir())


def test_a_header_looked_for_in_the_wrong_place_stops_the_splice(monkeypatch):
    """Each block's BFINAL bit as we find it is compared with libz's own reading: an off-by-one never ships."""
    real = gzip_join._clear_final

    def off_by_one(held, consumed, header, cleared):
        return real(held, consumed, None if header is None else header + 1, cleared)

    monkeypatch.setattr(gzip_join, "_clear_final", off_by_one)
    with pytest.raises(AssertionError, match="disagree"):
        spliced(deflate(bytes(range(256)) * 2000, 6, cuts=(1000, 9000), flush=zlib.Z_SYNC_FLUSH), 4096)
