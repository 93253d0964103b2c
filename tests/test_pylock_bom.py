"""The build's bill of materials, layers/pylock.toml: PEP 751 (valid under packaging.pylock), exactly the
distributions the layers hold with the sha256 of the wheel each came from, referenced from the manifest, the
same bytes for the same inputs on another machine (another directory, another cache)."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib
from factory import build, make_project, make_wheel
from test_locks import Lines, _entry

from lambda_tasks.config import load_settings

BIN = Path(sys.executable).parent
OFFLINE = '[tool.lambda-tasks]\npip_args = ["--no-index", "--find-links", "wheels"]\nruntime = "python3.12"\n'


def _project(root: Path, requirements: str = "alpha\nbeta\n", extra: str = "") -> Path:
    wheels = root / "wheels"
    make_wheel(wheels, "alpha", "1.0", requires=["gamma>=2"])
    make_wheel(wheels, "beta", "2.0")
    make_wheel(wheels, "gamma", "2.1")
    return make_project(root, requirements, pyproject=OFFLINE + extra)


def _layer_dists(project: Path, manifest) -> set[str]:
    found = set()
    for layer in manifest.layers:
        with zipfile.ZipFile(project / layer.path) as archive:
            found |= {n.split("/")[1].removesuffix(".dist-info").rsplit("-", 1)[0].lower().replace("_", "-")
                      for n in archive.namelist() if n.endswith(".dist-info/METADATA")}
    return found


def _bom(project: Path) -> dict:
    from packaging.pylock import Pylock

    data = tomllib.loads((project / "layers" / "pylock.toml").read_text())
    Pylock.from_dict(data)  # raises PylockValidationError when it is not a valid PEP 751 lock
    return data


def test_bom_lists_exactly_the_layers_with_hashes(tmp_path):
    project = _project(tmp_path / "proj")
    reporter = Lines()
    manifest = build(load_settings(project, {}, {}), reporter=reporter)
    data = _bom(project)
    assert {p["name"] for p in data["packages"]} == _layer_dists(project, manifest) == {"alpha", "beta", "gamma"}
    for package in data["packages"]:
        wheel = package["wheels"][0]
        assert wheel["path"] == f"wheels/{wheel['name']}"  # from the project's find-links, as the option names it
        digest = hashlib.sha256((project / wheel["path"]).read_bytes()).hexdigest()
        assert wheel["hashes"] == {"sha256": digest}
        assert package["tool"]["lambda-tasks"]["origin"] == "find-links"
    alpha = next(p for p in data["packages"] if p["name"] == "alpha")
    gamma = next(p for p in data["packages"] if p["name"] == "gamma")
    assert alpha["tool"]["lambda-tasks"]["reasons"] == ["requirements.txt: alpha"]
    assert gamma["tool"]["lambda-tasks"]["reasons"] == ["alpha 1.0: gamma>=2"]  # why it is there
    assert data["environments"] == ["sys_platform == 'linux' and platform_machine == 'x86_64' and "
                                    "implementation_name == 'cpython' and python_version == '3.12'"]
    bom = manifest.bill_of_materials
    text = (project / "layers" / "pylock.toml").read_bytes()
    assert bom is not None and bom.path == "layers/pylock.toml" and bom.distributions == 3
    assert bom.sha256 == hashlib.sha256(text).hexdigest()
    on_disk = json.loads((project / "layers" / "manifest.json").read_text())
    assert on_disk["bill_of_materials"]["sha256"] == bom.sha256


def test_bom_same_bytes_on_another_machine_and_after_force(tmp_path, monkeypatch):
    first = _project(tmp_path / "one")
    build(load_settings(first, {}, {}), reporter=Lines())
    text = (first / "layers" / "pylock.toml").read_bytes()
    build(load_settings(first, {}, {}), force=True, reporter=Lines())
    assert (first / "layers" / "pylock.toml").read_bytes() == text
    second = tmp_path / "elsewhere" / "two"
    shutil.copytree(first, second, ignore=shutil.ignore_patterns("layers", "dist"))
    monkeypatch.setenv("LAMBDA_TASKS_CACHE", str(tmp_path / "other-cache"))
    build(load_settings(second, {}, {}), reporter=Lines())
    assert (second / "layers" / "pylock.toml").read_bytes() == text
    assert b"upload-time" not in text and str(tmp_path).encode() not in text


def test_bom_leaves_out_vendor_and_excluded_and_says_so(tmp_path):
    project = _project(tmp_path / "proj", extra='exclude = ["beta"]\n')
    (project / "vendor").mkdir()
    (project / "vendor" / "own_mod.py").write_text("X = 1\n")
    manifest = build(load_settings(project, {}, {}), reporter=Lines())
    data = _bom(project)
    assert {p["name"] for p in data["packages"]} == {"alpha", "gamma"} == _layer_dists(project, manifest)
    text = (project / "layers" / "pylock.toml").read_text()
    assert "Not listed: the project's vendor/ entries (vendor/own_mod.py)" in text
    assert manifest.bill_of_materials.distributions == 2


def test_clean_removes_the_bom(tmp_path):
    from lambda_tasks import commands

    project = _project(tmp_path / "proj")
    build(load_settings(project, {}, {}), reporter=Lines())
    commands.clean(load_settings(project, {}, {}), reporter=Lines())
    assert not (project / "layers" / "pylock.toml").exists()


def test_no_dependencies_no_bom_and_a_stale_one_removed(tmp_path):
    project = _project(tmp_path / "proj")
    build(load_settings(project, {}, {}), reporter=Lines())
    assert (project / "layers" / "pylock.toml").is_file()
    (project / "requirements.txt").write_text("")
    reporter = Lines()
    manifest = build(load_settings(project, {}, {}), reporter=reporter)
    assert not (project / "layers" / "pylock.toml").exists() and manifest.bill_of_materials is None
    assert "layers: none (no dependencies and no vendor/)" in reporter.lines
    assert "bill_of_materials" not in (project / "layers" / "manifest.json").read_text()


def test_bom_from_a_lock_keeps_the_locks_urls(tmp_path):
    wheels = tmp_path / "index"
    alpha = make_wheel(wheels, "alpha", "1.0")
    project = make_project(tmp_path / "proj", pyproject=OFFLINE)
    (project / "requirements.txt").unlink()
    (project / "pylock.toml").write_text(f'lock-version = "1.0"\ncreated-by = "tests"\n\n[[packages]]\n'
                                         f'name = "alpha"\nversion = "1.0"\nwheels = [{_entry(alpha)}]\n')
    build(load_settings(project, {}, {}), reporter=Lines())
    package = _bom(project)["packages"][0]
    assert package["wheels"][0]["path"] == alpha.as_posix()  # outside the project: as the lock names it
    assert package["tool"]["lambda-tasks"] == {"origin": "path", "reasons": ["pylock.toml: alpha"]}


@pytest.mark.slow
@pytest.mark.e2e
def test_cli_build_writes_the_bom(tmp_path):
    project = _project(tmp_path / "proj")
    result = subprocess.run([BIN / "lambda-tasks", "build"], cwd=project, capture_output=True, text=True,
                            env={**os.environ}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert {p["name"] for p in _bom(project)["packages"]} == {"alpha", "beta", "gamma"}
    assert json.loads((project / "layers" / "manifest.json").read_text())["bill_of_materials"]["distributions"] == 3


def test_invoke_lock_writes_the_same_valid_bytes_for_the_same_inputs(tmp_path):
    from packaging.pylock import Pylock

    from lambda_tasks import commands

    project = _project(tmp_path / "proj")
    commands.lock(load_settings(project, {}, {}), reporter=Lines())
    text = (project / "pylock.toml").read_bytes()
    Pylock.from_dict(tomllib.loads(text.decode()))
    commands.lock(load_settings(project, {}, {}), output="pylock.again.toml", reporter=Lines())
    assert (project / "pylock.again.toml").read_bytes() == text
    assert tomllib.loads(text.decode())["tool"]["lambda-tasks"] == {"extras": [], "groups": []}


@pytest.mark.slow
def test_image_build_writes_the_bom_too(tmp_path, wheelhouse, base_image):
    from test_image_build import image_project, settings_for

    root = image_project(tmp_path / "proj", wheelhouse, base_image)
    manifest = build(settings_for(root), reporter=Lines())
    assert manifest.image is not None and manifest.bill_of_materials is not None
    assert {p["name"] for p in _bom(root)["packages"]} == {"alpha", "beta", "gamma"}
