"""A lock's target lock is decided before anything is fetched (resolve/lock_plan.py): the exact files, their
sha256 and why each is there, with markers and Requires-Python evaluated for the target; the fetch is then held
to it. The locks are written here in the shapes uv writes them (pylock.toml from `uv export`, uv.lock)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from factory import declared, make_project, make_wheel

from lambda_tasks.config import load_settings
from lambda_tasks.errors import ResolveError
from lambda_tasks.resolve.lock_plan import check_agrees, check_fetched, plan_lock
from lambda_tasks.target_lock import LockedDistribution, Reason, TargetLock

X86 = "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64"
ARM = "cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64"


def _entry(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return f'{{ name = "{path.name}", url = "{path.as_uri()}", size = {path.stat().st_size}, ' \
           f'hashes = {{ sha256 = "{digest}" }} }}'


def _project(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    wheels = tmp_path / "index"
    made = {"alpha": make_wheel(wheels, "alpha", "1.0", requires=["natlib"]),
            "x86": make_wheel(wheels, "natlib", "1.5", tag=X86),
            "arm": make_wheel(wheels, "natlib", "1.5", tag=ARM),
            "old": make_wheel(wheels, "oldonly", "0.8")}
    project = make_project(tmp_path / "proj", pyproject='[project]\nname = "app"\nversion = "1"\n'
                           'dependencies = ["alpha"]\n')
    (project / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "uv"\n\n'
        f'[[packages]]\nname = "alpha"\nversion = "1.0"\nwheels = [{_entry(made["alpha"])}]\n\n'
        f'[[packages]]\nname = "natlib"\nversion = "1.5"\nwheels = [{_entry(made["arm"])}, {_entry(made["x86"])}]\n\n'
        f'[[packages]]\nname = "oldonly"\nversion = "0.8"\nmarker = "python_version < \'3.7\'"\n'
        f'requires-python = ">=3.6,<3.7"\nwheels = [{_entry(made["old"])}]\n')
    return project, made


def test_the_lock_names_each_file_and_its_hash_before_fetching(tmp_path):
    project, made = _project(tmp_path)
    for arch, wheel in (("x86_64", made["x86"]), ("arm64", made["arm"])):
        settings = load_settings(project, {}, {"runtime": "python3.12", "arch": arch, "requirements": "pylock.toml"})
        plan = plan_lock(declared(settings), settings.target, settings.project_dir)
        natlib = plan.lock.get("natlib")
        assert natlib is not None and natlib.filename == wheel.name  # the target's wheel, chosen from the lock
        assert natlib.sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest() and natlib.size == wheel.stat().st_size
        assert plan.lock.names == {"alpha", "natlib"}  # oldonly's marker leaves it out for the target
        alpha = plan.lock.get("alpha")
        assert alpha is not None and alpha.reasons == (Reason("pylock.toml (pyproject.toml's requirements)", "alpha"),)
        assert [pick.filename for pick in plan.picks] == [made["alpha"].name, wheel.name] and plan.pending == []


def test_a_requires_python_the_target_lacks_stops_the_build_before_fetching(tmp_path):
    project, made = _project(tmp_path)
    text = (project / "pylock.toml").read_text().replace('marker = "python_version < \'3.7\'"\n', "")
    (project / "pylock.toml").write_text(text)
    made["old"].unlink()  # never fetched: the plan refuses first
    settings = load_settings(project, {}, {"runtime": "python3.12", "requirements": "pylock.toml"})
    with pytest.raises(ResolveError, match=r"oldonly==0\.8.*python3\.12/x86_64") as caught:
        plan_lock(declared(settings), settings.target, settings.project_dir)
    assert "it requires Python >=3.6,<3.7; the target has 3.12.0" in str(caught.value)


def test_the_fetch_is_held_to_the_plan(tmp_path):
    project, made = _project(tmp_path)
    settings = load_settings(project, {}, {"runtime": "python3.12", "requirements": "pylock.toml"})
    plan = plan_lock(declared(settings), settings.target, settings.project_dir)
    good = [(made["alpha"], hashlib.sha256(made["alpha"].read_bytes()).hexdigest()),
            (made["x86"], hashlib.sha256(made["x86"].read_bytes()).hexdigest())]
    check_fetched(plan, good, "pylock.toml")
    with pytest.raises(ResolveError, match=r"^natlib-1\.5-.*\.whl does not match the sha256 in pylock\.toml"):
        check_fetched(plan, [good[0], (made["x86"], "0" * 64)], "pylock.toml")
    with pytest.raises(ResolveError, match="was not fetched"):
        check_fetched(plan, good[:1], "pylock.toml")
    with pytest.raises(ResolveError, match="gave 3 wheels, not 2"):
        check_fetched(plan, [*good, (made["old"], "1" * 64)], "pylock.toml")
    relabelled = [LockedDistribution("alpha", "2.0", made["alpha"].name, "", "a" * 64, 1, "installer")]
    with pytest.raises(ResolveError, match=r"holds alpha 2\.0, but pylock\.toml locks 1\.0"):
        check_agrees(plan, TargetLock("python3.12/x86_64", "3.12.0", "", "pylock.toml", tuple(relabelled)))
