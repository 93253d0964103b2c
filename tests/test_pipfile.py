"""Pipenv's files, on our own wheels: a Pipfile alone is resolved from its [packages] ([dev-packages] only with
groups = ["dev"]); Pipfile.lock ships its ``default`` section as locked (markers for the target, files fetched
by their locked hashes), ``develop`` only with the dev group; a stale or mismatching lock stops the build."""

import hashlib
import json
import textwrap
from pathlib import Path

import pytest
import tomllib
from factory import build, make_project, make_wheel
from test_locks import Lines, _layer

from lambda_tasks.config import load_settings
from lambda_tasks.errors import LambdaTasksError, ResolveError
from lambda_tasks.sources.pipfile import pipfile_hash

OFFLINE = '[tool.lambda-tasks]\npip_args = ["--no-index", "--find-links", "wheels"]\nruntime = "python3.12"\n'
PIPFILE = textwrap.dedent("""\
    [packages]
    alpha = "*"
    natlib = { version = "==1.5", markers = "platform_machine == 'aarch64'" }
    beta = { version = ">=2", extras = ["fast"] }

    [dev-packages]
    testtool = "*"
""")


@pytest.fixture
def project(tmp_path):
    root = make_project(tmp_path / "proj", pyproject=OFFLINE)
    (root / "requirements.txt").unlink()
    wheels = root / "wheels"
    make_wheel(wheels, "alpha", "1.0")
    make_wheel(wheels, "natlib", "1.5", tag="cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64")
    make_wheel(wheels, "beta", "2.0", requires=['speedup; extra == "fast"'])
    make_wheel(wheels, "speedup", "1.1")
    make_wheel(wheels, "testtool", "8.0")
    (root / "Pipfile").write_text(PIPFILE)
    return root


def _sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _lock(project: Path, **change) -> dict:
    wheels = project / "wheels"
    data = {
        "_meta": {"hash": {"sha256": pipfile_hash(tomllib.loads((project / "Pipfile").read_text()))},
                  "pipfile-spec": 6, "requires": {"python_version": "3.12"}, "sources": []},
        "default": {
            "alpha": {"hashes": [_sha(wheels / "alpha-1.0-py3-none-any.whl"), "sha256:" + "0" * 64],
                      "version": "==1.0"},
            "beta": {"extras": ["fast"], "hashes": [_sha(wheels / "beta-2.0-py3-none-any.whl")], "version": "==2.0"},
            "speedup": {"hashes": [_sha(wheels / "speedup-1.1-py3-none-any.whl")], "version": "==1.1"},
            "natlib": {"hashes": [_sha(next(wheels.glob("natlib-*.whl")))], "version": "==1.5",
                       "markers": "platform_machine == 'aarch64'"},
        },
        "develop": {"testtool": {"hashes": [_sha(wheels / "testtool-8.0-py3-none-any.whl")], "version": "==8.0"}},
    }
    data["default"].update(change)
    (project / "Pipfile.lock").write_text(json.dumps(data, indent=4))
    return data


def test_pipfile_alone_is_resolved_from_its_packages(project):
    reporter = Lines()
    manifest = build(load_settings(project, {}, {}), reporter=reporter)
    assert _layer(project, manifest) == {"alpha": "1.0", "beta": "2.0", "speedup": "1.1"}
    assert "dependencies: Pipfile [packages] (no Pipfile.lock: resolved for the target) (found in the project)" \
        in reporter.lines
    manifest = build(load_settings(project, {}, {"arch": "arm64"}), reporter=Lines())
    assert _layer(project, manifest) == {"alpha": "1.0", "beta": "2.0", "speedup": "1.1", "natlib": "1.5"}


@pytest.mark.slow
def test_pipfile_lock_ships_default_not_develop(project):
    _lock(project)
    reporter = Lines()
    manifest = build(load_settings(project, {}, {}), reporter=reporter)
    assert _layer(project, manifest) == {"alpha": "1.0", "beta": "2.0", "speedup": "1.1"}
    assert "dependencies: Pipfile.lock (default section, versions as locked) (found in the project)" in reporter.lines
    assert any("closure of Pipfile.lock (the Pipfile's packages)" in line for line in reporter.lines)
    bom = tomllib.loads((project / "layers" / "pylock.toml").read_text())
    assert {p["name"] for p in bom["packages"]} == {"alpha", "beta", "speedup"}
    alpha = next(p for p in bom["packages"] if p["name"] == "alpha")
    assert "sha256:" + alpha["wheels"][0]["hashes"]["sha256"] == _sha(project / "wheels" / "alpha-1.0-py3-none-any.whl")
    manifest = build(load_settings(project, {}, {"arch": "arm64"}), reporter=Lines())
    assert _layer(project, manifest) == {"alpha": "1.0", "beta": "2.0", "speedup": "1.1", "natlib": "1.5"}


def test_pipfile_lock_develop_ships_with_the_dev_group(project):
    _lock(project)
    manifest = build(load_settings(project, {}, {"groups": ["dev"]}), reporter=Lines())
    assert _layer(project, manifest) == {"alpha": "1.0", "beta": "2.0", "speedup": "1.1", "testtool": "8.0"}
    with pytest.raises(LambdaTasksError, match=r"dependency group 'docs' is not in Pipfile; a Pipfile has one group"):
        build(load_settings(project, {}, {"groups": ["docs"]}), reporter=Lines())


def test_pipfile_lock_rebuild_takes_the_wheels_by_hash_from_the_cache(project):
    _lock(project)
    build(load_settings(project, {}, {}), reporter=Lines())
    for wheel in (project / "wheels").iterdir():
        wheel.unlink()  # no index now: only the wheelhouse, by the locked hashes
    manifest = build(load_settings(project, {}, {}), force=True, reporter=Lines())
    assert _layer(project, manifest) == {"alpha": "1.0", "beta": "2.0", "speedup": "1.1"}


def test_stale_pipfile_lock_is_refused(project):
    _lock(project)
    (project / "Pipfile").write_text(PIPFILE.replace('alpha = "*"', 'alpha = ">=1"'))
    with pytest.raises(ResolveError) as raised:
        build(load_settings(project, {}, {}), reporter=Lines())
    assert str(raised.value).splitlines()[0] == ("Pipfile.lock is out of date: the Pipfile changed since it was "
                                                 "locked (its hash differs); run `pipenv lock` to update it")


def test_pipfile_lock_hash_mismatch_is_refused(project):
    _lock(project, alpha={"hashes": ["sha256:" + "1" * 64], "version": "==1.0"})
    with pytest.raises(ResolveError, match=r"does not match the hashes in Pipfile\.lock"):
        build(load_settings(project, {}, {}), reporter=Lines())
    assert not (project / "layers" / "pylock.toml").exists()


def test_pipfile_lock_missing_a_dependency_for_the_target_is_refused(project):
    _lock(project, speedup={"hashes": ["sha256:" + "2" * 64], "version": "==1.1",
                            "markers": "python_version >= '3.13'"})  # locked on a 3.13 host: not for 3.12
    with pytest.raises(ResolveError, match=r"1 distribution missing for python3\.12/x86_64: speedup"):
        build(load_settings(project, {}, {}), reporter=Lines())


def test_invoke_lock_from_a_pipfile(project):
    from lambda_tasks import commands

    commands.lock(load_settings(project, {}, {}), reporter=Lines())
    lock = tomllib.loads((project / "pylock.toml").read_text())
    assert {p["name"] for p in lock["packages"]} == {"alpha", "beta", "speedup"}  # not natlib (aarch64), not dev
    manifest = build(load_settings(project, {}, {}), reporter=Lines())  # pylock.toml now comes first
    assert _layer(project, manifest) == {"alpha": "1.0", "beta": "2.0", "speedup": "1.1"}
