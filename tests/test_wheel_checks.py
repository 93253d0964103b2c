"""assemble/wheel_checks.py with the CRC pass: a wheel's members as pip would install them, against RECORD."""

from __future__ import annotations

import zipfile

import pytest
from factory import make_wheel
from factory_content import rewrite_wheel

from lambda_tasks.assemble.collect import check_wheel_file
from lambda_tasks.assemble.wheel_checks import check_tree, parse_record
from lambda_tasks.entries import FILE_MODE, BytesSource, Entry
from lambda_tasks.errors import ProjectError, WheelError


def refusal(wheel) -> str:
    with pytest.raises(WheelError) as caught:
        check_wheel_file(wheel, f"vendor/{wheel.name}")
    first = str(caught.value).splitlines()[0]
    assert len("error: " + first) < 160
    return str(caught.value)


def test_a_good_wheel_passes_and_stored_members_are_hashed_too(tmp_path):
    check_wheel_file(make_wheel(tmp_path, "good", files={"good/__init__.py": "X = 1\n"}), "good.whl")
    stored = make_wheel(tmp_path / "s", "stored", compression=zipfile.ZIP_STORED)
    check_wheel_file(stored, "stored.whl")
    rewrite_wheel(stored, lambda m: [(n, d.replace(b"1.0", b"2.0") if n.endswith("__init__.py") else d)
                                     for n, d in m])
    assert "does not match its RECORD hash" in refusal(stored)


def test_duplicates_and_paths_that_land_twice(tmp_path):
    wheel = rewrite_wheel(make_wheel(tmp_path, "dup"), lambda m: [*m, ("dup/__init__.py", b"evil = 1\n")])
    assert "has two entries named dup/__init__.py" in refusal(wheel)
    data = make_wheel(tmp_path / "d", "data", files={"data/x.py": "", "data-1.0.data/platlib/data/x.py": ""})
    assert "both install as data/x.py" in refusal(data)


def test_record_rows_are_the_truth(tmp_path):
    unlisted = rewrite_wheel(make_wheel(tmp_path, "unlisted"), lambda m: [*m, ("unlisted/new.py", b"")])
    assert "holds unlisted/new.py, which its RECORD does not list" in refusal(unlisted)
    norecord = rewrite_wheel(make_wheel(tmp_path / "n", "norec"), lambda m: [x for x in m if "RECORD" not in x[0]])
    assert "has no .dist-info/RECORD" in refusal(norecord)


@pytest.mark.parametrize("record, message", [
    (b"a.py,md5=abc,3\n", "with 'md5'"),
    (b"a.py,sha256=abc\n", "bad row"),
    (b"a.py,sha256=AAAA,three\n", "bad size"),
    (b"\xff\xfe", "cannot be read"),
])
def test_bad_records(record, message):
    with pytest.raises(WheelError, match=message):
        parse_record(record, "x.whl")


def test_a_hex_digest_is_read_as_hex():  # gmsh 4.15.2 on PyPI writes its RECORD so
    hex_row = "a.py,sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855,0\n"
    assert parse_record(hex_row.encode(), "x.whl")["a.py"].digest == bytes.fromhex(hex_row.split("=")[1][:64])


def test_rows_without_a_hash_are_taken_as_they_are():
    rows = parse_record(b"a.py,,\nb.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n", "x.whl")
    assert rows["a.py"].digest is None and rows["b.py"].size == 0


def _entry(arcname: str, unit: str) -> Entry:
    return Entry(arcname, unit, 1, FILE_MODE, BytesSource(b"x"))


def test_a_file_where_a_directory_is_needed():
    check_tree([_entry("python/x/__init__.py", "x"), _entry("python/x.py", "vendor/x.py")])
    with pytest.raises(ProjectError) as caught:
        check_tree([_entry("python/x/__init__.py", "x"), _entry("python/x", "vendor/x")])
    assert str(caught.value).startswith("vendor/x is a file where python/x/__init__.py needs a directory")
