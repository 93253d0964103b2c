"""layers/manifest.json read as untrusted input: schema, types, sizes, nesting, paths contained, files hashed."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest

from lambda_tasks import manifest
from lambda_tasks.errors import ManifestError
from lambda_tasks.manifest_schema import checked

SHA = "a" * 64
GOOD = {
    "runtime": "python3.12", "architecture": "x86_64", "version": 1,
    "app": {"path": "dist/app.zip", "sha256": SHA, "zip_bytes": 10, "unzipped_bytes": 20},
    "layers": [{"name": "p-deps-1", "path": "layers/p-deps-1.zip", "sha256": SHA, "zip_bytes": 1,
                "unzipped_bytes": 2, "distributions": ["six"], "published": {}, "entries_key": ""}],
    "inputs": {"app": "x", "layers": "y"}, "unit_bytes": {"six": 2},
}


def spoilt(**changes):
    data = copy.deepcopy(GOOD)
    for dotted, value in changes.items():
        target = data
        *parents, last = dotted.split("__")
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[last] = value
    return data


@pytest.mark.parametrize("data, problem", [
    (spoilt(app__path="/etc/passwd"), "not a path inside"),
    (spoilt(layers__0__path="../../other/dist/app.zip"), "not a path inside"),
    (spoilt(layers__0__path="layers\\..\\x.zip"), "not a path inside"),
    (spoilt(app__sha256="../../etc/passwd"), "app.sha256 is wrong"),
    (spoilt(app__zip_bytes="10"), "app.zip_bytes is wrong"),
    (spoilt(app__zip_bytes=True), "app.zip_bytes is wrong"),
    (spoilt(app__zip_bytes=-1), "app.zip_bytes is wrong"),
    (spoilt(layers={"a": 1}), "layers is wrong"),
    (spoilt(layers__0__distributions="six"), "distributions is wrong"),
    (spoilt(inputs=[1]), "inputs is wrong"),
    (spoilt(runtime=3), "runtime is wrong"),
    (spoilt(version=2), "another version"),
    ([1, 2], "not an object"),
    (spoilt(image={"path": "dist/image", "digest": "sha256:../../x", "tag": SHA}), "image.digest is wrong"),
])
def test_a_bad_manifest_names_its_first_problem(tmp_path, data, problem):
    found = checked(data, tmp_path)
    assert found is not None and problem in found


def test_a_good_manifest_passes(tmp_path):
    assert checked(GOOD, tmp_path) is None


def test_a_path_through_a_link_that_leaves_the_output_directory_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out" / "dist").symlink_to(tmp_path / "elsewhere")
    assert "leads outside" in (checked(GOOD, tmp_path / "out") or "")


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, "{", "\xff", " " * (5 * 1024 * 1024)])
def test_read_gives_one_line_and_load_gives_none(tmp_path, text):
    path = tmp_path / "layers" / "manifest.json"
    path.parent.mkdir()
    path.write_text(text, encoding="latin-1")
    with pytest.raises(ManifestError) as caught:
        manifest.read(path, tmp_path)
    assert str(caught.value).startswith("manifest.json cannot be used") and "invoke build" in str(caught.value)
    seen = []
    assert manifest.load(path, tmp_path, seen.append) is None and len(seen) == 1


def test_files_are_checked_by_hash_not_only_size(tmp_path):
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "app.zip").write_bytes(b"0123456789")
    data = spoilt(app__sha256=hashlib.sha256(b"0123456789").hexdigest(), layers=[])
    (tmp_path / "layers").mkdir()
    (tmp_path / "layers" / "manifest.json").write_text(json.dumps(data))
    found = manifest.require(tmp_path / "layers" / "manifest.json", tmp_path)
    assert found.app.zip_bytes == 10
    (tmp_path / "dist" / "app.zip").write_bytes(b"9876543210")  # same size, other bytes
    with pytest.raises(ManifestError, match=r"dist/app\.zip changed since the build"):
        manifest.require(tmp_path / "layers" / "manifest.json", tmp_path)
    (tmp_path / "dist" / "app.zip").unlink()
    (tmp_path / "dist" / "app.zip").symlink_to(tmp_path / "layers" / "manifest.json")
    assert "symbolic link" in (manifest.files_problem(found, tmp_path) or "")


def test_layout_problem_names_files_these_settings_do_not_build(tmp_path):
    record = manifest.Manifest.from_json(copy.deepcopy(GOOD))
    assert manifest.layout_problem(record, "dist/app.zip", "layers", "p-deps", "dist/image") is None
    assert "app zip" in (manifest.layout_problem(record, "out/app.zip", "layers", "p-deps", "dist/image") or "")
    assert "layer 1" in (manifest.layout_problem(record, "dist/app.zip", "layers", "q-deps", "dist/image") or "")
