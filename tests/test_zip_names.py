"""The central directory's member names (assemble/zip_names.py) are zipfile's, for every zip shape."""

import zipfile
from pathlib import Path

import pytest

from lambda_tasks.assemble.archive import pack_entries, write_zip
from lambda_tasks.assemble.zip_names import member_names
from lambda_tasks.entries import BytesSource, Entry


def _entry(name: str, data: bytes = b"x = 1\n") -> Entry:
    return Entry(name, "u", len(data), 0o644, BytesSource(data))


def _zipfile_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def test_a_zip_we_write(tmp_path):
    entries = [_entry(f"python/pkg{n}/mod.py") for n in range(50)] + [_entry("python/é.py", b"")]
    path = tmp_path / "layer.zip"
    write_zip(path, pack_entries(entries))
    assert member_names(path) == _zipfile_names(path)


@pytest.mark.parametrize("shape", ["comment", "cp437 name", "extra field", "zip64", "empty"])
def test_zips_others_write(tmp_path, shape):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w", allowZip64=True) as archive:
        if shape == "comment":
            archive.comment = b"a comment " * 300
        if shape == "cp437 name":
            info = zipfile.ZipInfo("caf\xe9.py")
            archive.writestr(info, b"")
            info.flag_bits &= ~0x800
        if shape == "extra field":
            info = zipfile.ZipInfo("with_extra.py")
            info.extra = b"\xfe\xca\x04\x00abcd"
            archive.writestr(info, b"data")
        if shape == "zip64":
            with archive.open("big.py", "w", force_zip64=True) as member:
                member.write(b"y = 2\n")
        if shape != "empty":
            archive.writestr("pkg/__init__.py", b"")
    assert member_names(path) == _zipfile_names(path)


def test_what_is_not_a_zip_is_refused_as_zipfile_refuses_it(tmp_path):
    path = tmp_path / "not.zip"
    path.write_bytes(b"not a zip at all")
    with pytest.raises(zipfile.BadZipFile):
        member_names(path)
    truncated = tmp_path / "truncated.zip"
    write_zip(truncated, pack_entries([_entry("a.py")]))
    truncated.write_bytes(truncated.read_bytes()[:-10])
    with pytest.raises(zipfile.BadZipFile):
        member_names(truncated)
