"""``invoke lock``: a pylock.toml for the target, resolved by uv for it (not the host), written atomically,
read back by the build, refused by a build for another target."""

import textwrap

import pytest
import tomllib
from conftest import offline_pyproject
from factory import build, make_project
from test_locks import Lines, _layer, _settings, wheels  # noqa: F401  (wheels: the fixture)

from lambda_tasks import commands
from lambda_tasks.errors import LambdaTasksError, SettingsError

REQUIREMENTS = "alpha<2\nnatlib\narmonly; platform_machine == 'aarch64'\noldpy; python_version < '3.11'\n"


def test_lock_writes_what_the_target_gets_and_the_build_reads_it(tmp_path, wheels, wheelhouse):
    project = make_project(tmp_path / "proj", requirements=REQUIREMENTS, pyproject=offline_pyproject(wheelhouse))
    reporter = Lines()
    path = commands.lock(_settings(project, arch="arm64"), reporter=reporter)
    lock = tomllib.loads(path.read_text())
    assert {p["name"]: p["version"] for p in lock["packages"]} == {"alpha": "1.0", "natlib": "1.5", "armonly": "2.0"}
    natlib = next(p for p in lock["packages"] if p["name"] == "natlib")
    assert all("aarch64" in w["url"] for w in natlib["wheels"])  # the target's wheels, not the host's
    assert lock["environments"] == ["sys_platform == 'linux' and platform_machine == 'aarch64' and "
                                    "implementation_name == 'cpython' and python_version == '3.12'"]
    assert any('builds read it with requirements = "pylock.toml"' in line for line in reporter.lines)
    assert not list(project.glob(".pylock.toml.*"))  # the temp file of the atomic write is gone
    manifest = build(_settings(project, arch="arm64", requirements="pylock.toml"), reporter=Lines())
    assert _layer(project, manifest) == {"alpha": "1.0", "natlib": "1.5", "armonly": "2.0"}
    with pytest.raises(SettingsError, match=r"pylock.toml is not locked for this target: none of its environments"):
        build(_settings(project, arch="x86_64", requirements="pylock.toml"), reporter=Lines())
    # resolved for the target: natlib has cp312 wheels only, so python3.10 cannot be locked (the host could)
    with pytest.raises(LambdaTasksError, match=r"for python3.10/x86_64: Because natlib==1.5 has no wheels"):
        commands.lock(_settings(project, runtime="python3.10"), output="pylock.py310.toml", reporter=Lines())
    assert not (project / "pylock.py310.toml").exists()


def test_lock_from_pyproject_with_extras_and_refusals(tmp_path, wheels, wheelhouse):
    pyproject = textwrap.dedent("""\
        [project]
        name = "app"
        version = "0.1.0"
        dependencies = ["alpha<2"]

        [project.optional-dependencies]
        cli = ["clicky"]
    """) + offline_pyproject(wheelhouse)
    project = make_project(tmp_path / "proj", pyproject=pyproject)
    (project / "requirements.txt").unlink()
    reporter = Lines()
    commands.lock(_settings(project, extras=["cli"]), reporter=reporter)
    lock = tomllib.loads((project / "pylock.toml").read_text())
    assert {p["name"] for p in lock["packages"]} == {"alpha", "clicky"}
    assert not any("builds read it" in line for line in reporter.lines)  # pylock.toml now comes first
    assert "from pyproject.toml (extras cli)" in (project / "pylock.toml").read_text()
    manifest = build(_settings(project), reporter=Lines())  # the extras were applied when locking
    assert _layer(project, manifest) == {"alpha": "1.0", "clicky": "3.0"}
    with pytest.raises(SettingsError, match="already a lock"):
        commands.lock(_settings(project), output="pylock.other.toml", reporter=Lines())
    with pytest.raises(SettingsError, match="not a pylock file name"):
        commands.lock(_settings(project, requirements="pyproject.toml"), output="locked.toml", reporter=Lines())
    (project / "pyproject.toml").write_text(pyproject.replace("alpha<2", "alpha>5"))
    with pytest.raises(LambdaTasksError, match="uv could not resolve"):
        commands.lock(_settings(project, requirements="pyproject.toml"), reporter=Lines())
