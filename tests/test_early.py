"""Wheels checked while pip resolves (assemble/early.py): what counts, and what is left to the regular check."""

import zipfile

from factory import make_wheel

from lambda_tasks.assemble.early import EarlyChecks
from lambda_tasks.files import file_sha256
from lambda_tasks.targets import Target

TARGET = Target("python3.12", "x86_64")


def _damaged(path):
    """The wheel with its first member's compressed bytes flipped (its CRC no longer matches)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.infolist()[0]
    data = bytearray(path.read_bytes())
    at = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def test_a_checked_wheel_counts_by_its_content_and_brings_its_audit_verdicts(tmp_path):
    good = make_wheel(tmp_path / "good", "goodpkg", files={"goodpkg/__init__.py": "x = 1\n" * 100})
    bad = _damaged(make_wheel(tmp_path / "bad", "badpkg", files={"badpkg/__init__.py": "y = 2\n" * 100}))
    early = EarlyChecks(TARGET)
    early.submit(good)
    early.submit(bad)  # damaged: not counted, and no error here (the regular check reports it if shipped)
    verdicts = {}
    assert early.finish(verdicts) == {file_sha256(good)}
    assert any(key.startswith(f"{good.name}|goodpkg/__init__.py|") for key in verdicts)
    assert not any(key.startswith(bad.name) for key in verdicts)


def test_cancel_after_a_failed_resolve_drops_what_has_not_started(tmp_path):
    wheels = [make_wheel(tmp_path / str(n), f"pkg{n}", files={f"pkg{n}/__init__.py": ""}) for n in range(3)]
    early = EarlyChecks(TARGET)
    for wheel in wheels:
        early.submit(wheel)
    early.cancel()  # returns once the running check (if any) is done
