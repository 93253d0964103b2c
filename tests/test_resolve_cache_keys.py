"""Resolution caches and the layers' fingerprint are keyed by content: a relative ``--find-links wheels`` means
what that directory holds, so two projects with the same requirements text never share a resolution.

The shape is serverless-python-requirements' static cache (keyed by the requirements text and the
architecture) and aws-lambda-builders' find-links directories, with the issue's case: one project's only wheel
is win_amd64."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from factory import declared, make_project, make_wheel
from factory import layers_key as layers_fingerprint

from lambda_tasks.config import load_settings
from lambda_tasks.resolve import resolution_key
from lambda_tasks.resolve.installer import choose

BIN = Path(sys.executable).parent
REQUIREMENTS = "--no-index\n--find-links wheels\nfoolib==1.0\n"


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "lambda-tasks"), *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}, timeout=300)


def two_projects(tmp_path: Path) -> tuple[Path, Path]:
    good = make_project(tmp_path / "good", REQUIREMENTS)
    make_wheel(good / "wheels", "foolib", "1.0", files={"foolib/__init__.py": "WHO = 'good'\n"})
    bad = make_project(tmp_path / "bad", REQUIREMENTS)
    make_wheel(bad / "wheels", "foolib", "1.0", tag="cp311-cp311-win_amd64",
               files={"foolib/__init__.py": "WHO = 'windows'\n"})
    return good, bad


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_same_requirements_text_other_wheels_never_share_a_resolution(tmp_path, installer):
    good, bad = two_projects(tmp_path)
    args = ["build", "--runtime", "python3.11"]
    for project in (good, bad):
        (project / "pyproject.toml").write_text(f'[tool.lambda-tasks]\ninstaller = "{installer}"\n')
    built = run(args, good)
    assert built.returncode == 0, built.stderr
    with zipfile.ZipFile(next((good / "layers").glob("*.zip"))) as layer:
        assert layer.read("python/foolib/__init__.py") == b"WHO = 'good'\n"

    failed = run(args, bad)  # same text, same cache: its win_amd64 wheel fits nothing
    assert failed.returncode == 1, failed.stdout
    assert "foolib==1.0" in failed.stderr.splitlines()[0], failed.stderr
    assert not list((bad / "layers").glob("*.zip")) if (bad / "layers").exists() else True
    shutil.rmtree(os.environ["LAMBDA_TASKS_CACHE"])
    again = run(args, bad)
    assert again.returncode == 1 and "up to date" not in again.stdout + again.stderr
    forced = run([*args, "--force"], bad)
    assert forced.returncode == 1 and "up to date" not in forced.stdout + forced.stderr
    after = run(args, bad)
    assert after.returncode == 1 and "up to date" not in after.stdout + after.stderr


def settings_of(project: Path, **flags: str):
    return load_settings(project, {}, {"runtime": "python3.11", **flags})


def test_the_resolution_key_covers_the_find_links_bytes(tmp_path):
    good, bad = two_projects(tmp_path)
    keys = {project.name: resolution_key(settings_of(project), declared(settings_of(project)), choose(settings_of(project)))
            for project in (good, bad)}
    assert keys["good"] != keys["bad"]
    twin = make_project(tmp_path / "twin", REQUIREMENTS)
    shutil.copytree(good / "wheels", twin / "wheels")
    assert resolution_key(settings_of(twin), declared(settings_of(twin)), choose(settings_of(twin))) == keys["good"]  # equal bytes: shared


def test_the_resolution_key_covers_find_links_from_pip_args_and_local_archives(tmp_path):
    project = make_project(tmp_path / "p", "--no-index\nfoolib==1.0\n./vendored/barlib-1.0-py3-none-any.whl\n")
    make_wheel(project / "wheels", "foolib", "1.0")
    make_wheel(project / "vendored", "barlib", "1.0")
    settings = settings_of(project, pip_args="--find-links=wheels")
    before = resolution_key(settings, declared(settings), choose(settings))
    make_wheel(project / "wheels", "foolib", "1.0", files={"foolib/__init__.py": "CHANGED = 1\n"})
    after_find_links = resolution_key(settings, declared(settings), choose(settings))
    make_wheel(project / "vendored", "barlib", "1.0", files={"barlib/__init__.py": "CHANGED = 1\n"})
    after_archive = resolution_key(settings, declared(settings), choose(settings))
    assert len({before, after_find_links, after_archive}) == 3


def test_the_resolution_key_names_the_installer_and_its_version(tmp_path, monkeypatch):
    from lambda_tasks.resolve import installer as installer_module

    project = make_project(tmp_path / "p", "foolib==1.0\n")
    pip_key = resolution_key(settings_of(project), declared(settings_of(project)), installer_module.Installer("pip"))
    assert pip_key != resolution_key(settings_of(project), declared(settings_of(project)), installer_module.Installer("uv", isolated=True))
    monkeypatch.setattr(installer_module, "_pip_version", lambda: "0.0-other")
    assert resolution_key(settings_of(project), declared(settings_of(project)), installer_module.Installer("pip")) != pip_key


def test_the_layers_fingerprint_changes_when_a_find_links_wheel_changes(tmp_path):
    project = make_project(tmp_path / "p", REQUIREMENTS)
    make_wheel(project / "wheels", "foolib", "1.0")
    first = layers_fingerprint(settings_of(project))
    assert layers_fingerprint(settings_of(project)) == first
    make_wheel(project / "wheels", "foolib", "1.0", files={"foolib/__init__.py": "CHANGED = 1\n"})
    changed = layers_fingerprint(settings_of(project))
    assert changed != first
    make_wheel(project / "wheels", "other", "1.0")  # a new file pip would see
    assert layers_fingerprint(settings_of(project)) != changed


def test_the_layers_fingerprint_is_the_same_wherever_the_project_is(tmp_path):
    one = make_project(tmp_path / "a" / "p", REQUIREMENTS)
    make_wheel(one / "wheels", "foolib", "1.0")
    two = tmp_path / "b" / "deeper" / "p"
    shutil.copytree(one, two)
    assert layers_fingerprint(settings_of(one)) == layers_fingerprint(settings_of(two))


@pytest.mark.slow
def test_a_find_links_file_outside_the_project_is_checked_by_content_when_reused(tmp_path, wheelhouse):
    from factory import resolve_project as resolve

    from lambda_tasks.report import Reporter

    project = make_project(tmp_path / "p", f"--no-index\n--find-links {wheelhouse}\nfoolib==1.0\n",
                           pyproject='[tool.lambda-tasks]\ninstaller = "pip"\n')
    wheel = make_wheel(wheelhouse, "foolib", "1.0", files={"foolib/__init__.py": "WHO = 'one'\n"},
                       compression=zipfile.ZIP_STORED)
    first = resolve(settings_of(project), Reporter())
    stat = wheel.stat()
    make_wheel(wheelhouse, "foolib", "1.0", files={"foolib/__init__.py": "WHO = 'two'\n"},  # same name and size
               compression=zipfile.ZIP_STORED)
    os.utime(wheel, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert wheel.stat().st_size == stat.st_size
    second = resolve(settings_of(project), Reporter())
    with zipfile.ZipFile(first[0]) as one, zipfile.ZipFile(second[0]) as two:
        assert one.read("foolib/__init__.py") == b"WHO = 'one'\n"
        assert two.read("foolib/__init__.py") == b"WHO = 'two'\n"


@pytest.mark.slow
@pytest.mark.e2e
def test_a_failed_force_build_leaves_the_next_build_rebuilding(tmp_path):
    """A wheel outside the project counts by name and size in the layers' fingerprint: replaced by other bytes
    of the same size, only --force sees it. When that forced build fails, the next build with the same inputs
    must not say "up to date" against the layers the failed build could not vouch for."""
    outside = tmp_path / "machine-wheels"
    good = make_wheel(outside, "foolib", "1.0", files={"foolib/__init__.py": "WHO = 'good'\n"},
                      compression=zipfile.ZIP_STORED)
    project = make_project(tmp_path / "p", f"--no-index\n--find-links {outside}\nfoolib==1.0\n",
                           pyproject='[tool.lambda-tasks]\ninstaller = "pip"\n')
    args = ["build", "--runtime", "python3.11"]
    assert run(args, project).returncode == 0
    assert "up to date" in run(args, project).stdout
    original = good.read_bytes()
    damaged = bytearray(original)
    start = original.index(b"WHO = 'good'")
    damaged[start:start + 12] = b"WHO = 'evil'"  # same size: the stored member's CRC no longer holds
    good.write_bytes(bytes(damaged))
    assert "up to date" in run(args, project).stdout  # name and size unchanged: as documented
    forced = run([*args, "--force"], project)
    assert forced.returncode == 1, forced.stdout + forced.stderr
    after = run(args, project)
    assert after.returncode == 1 and "up to date" not in after.stdout + after.stderr
    assert "the last --force build did not finish; building anew" in after.stdout + after.stderr
    good.write_bytes(original)
    fixed = run(args, project)
    assert fixed.returncode == 0 and "up to date" not in fixed.stdout, fixed.stdout + fixed.stderr
    assert "up to date" in run(args, project).stdout
