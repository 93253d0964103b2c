"""The issue's cases on our own wheels (no index): a lock made for another Python lacking what the target's
markers need is refused naming it; a pylock without group markers does not ship a dev-only package; a Poetry
project without poetry.lock and a Pipfile-only project are resolved from their declarations (never "no
dependencies"); Requires-Python excludes the target; files without a hash are refused."""

import textwrap
from pathlib import Path

import pytest
from factory import build, make_project, make_wheel
from test_locks import Lines, _entry, _layer

from lambda_tasks.config import load_settings
from lambda_tasks.errors import LambdaTasksError, ResolveError, SettingsError

OFFLINE = '[tool.lambda-tasks]\npip_args = ["--no-index", "--find-links", "wheels"]\n'


def _settings(root: Path, runtime: str = "python3.12", **flags):
    return load_settings(root, {}, {"runtime": runtime, **flags})


def _pylock(*wheels: Path, extra: str = "") -> str:
    text = 'lock-version = "1.0"\ncreated-by = "tests"\n' + extra
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        text += f'\n[[packages]]\nname = "{name.replace("_", "-")}"\nversion = "{version}"\nwheels = [{_entry(wheel)}]\n'
    return text


@pytest.fixture
def project(tmp_path):
    root = make_project(tmp_path / "proj", pyproject=OFFLINE)
    (root / "requirements.txt").unlink()
    return root


# -- a pylock.toml made by `pip lock` on a 3.11 host, built for python3.10


def _host_lock(project: Path) -> None:
    """What pip lock writes on 3.11: the backports' markers were false there, so they are not in the lock."""
    wheels = project / "wheels"
    anyio = make_wheel(wheels, "anyio-like", "4.6", requires=['exceptiongroup>=1; python_version < "3.11"', "idna"])
    pytestish = make_wheel(wheels, "testtool", "8.0", requires=['tomli>=1; python_version < "3.11"'])
    idna = make_wheel(wheels, "idna", "3.10")
    (project / "pylock.toml").write_text(_pylock(anyio, pytestish, idna))


def test_pip_lock_made_on_311_is_refused_for_310_naming_what_is_missing(project):
    _host_lock(project)
    with pytest.raises(ResolveError) as raised:
        build(_settings(project, "python3.10"), reporter=Lines())
    first, *detail = str(raised.value).splitlines()
    assert first == "dependency check failed: 2 distributions missing for python3.10/x86_64: exceptiongroup, tomli"
    assert any("missing exceptiongroup: needed by anyio-like 4.6" in line for line in detail)
    assert any("missing tomli: needed by testtool 8.0" in line for line in detail)
    assert not (project / "layers" / "pylock.toml").exists()


def test_the_same_lock_builds_for_312(project):
    _host_lock(project)
    reporter = Lines()
    manifest = build(_settings(project, "python3.12"), reporter=reporter)
    assert set(_layer(project, manifest)) == {"anyio_like", "testtool", "idna"}
    assert any("records no project requirements; checked that every locked distribution's needs" in line
               for line in reporter.lines)


# -- a pylock.toml from `uv export` (dev group packages without a group marker)

UV_PROJECT = """\
[project]
name = "app"
version = "0.1.0"
dependencies = ["alpha"]

[dependency-groups]
dev = ["testtool"]
"""


def _uv_export(project: Path) -> None:
    wheels = project / "wheels"
    alpha = make_wheel(wheels, "alpha", "1.0")
    testtool = make_wheel(wheels, "testtool", "8.0", requires=["pluggy"])
    pluggy = make_wheel(wheels, "pluggy", "1.5")
    (project / "pyproject.toml").write_text(UV_PROJECT + OFFLINE)
    (project / "pylock.toml").write_text(_pylock(alpha, pluggy, testtool))


def test_uv_export_pylock_does_not_ship_the_dev_group(project):
    _uv_export(project)
    reporter = Lines()
    manifest = build(_settings(project), reporter=reporter)
    assert _layer(project, manifest) == {"alpha": "1.0"}
    assert any(line.startswith("dependencies: left out pluggy, testtool: in pylock.toml, but not needed by "
                               "pylock.toml (pyproject.toml's requirements)") for line in reporter.lines)
    bom = (project / "layers" / "pylock.toml").read_text()
    assert 'name = "alpha"' in bom and "testtool" not in bom


def test_uv_export_pylock_ships_the_dev_group_when_chosen(project):
    _uv_export(project)
    manifest = build(_settings(project, groups=["dev"]), reporter=Lines())
    assert _layer(project, manifest) == {"alpha": "1.0", "testtool": "8.0", "pluggy": "1.5"}


def test_pylock_lacking_a_declared_dependency_is_refused(project):
    _uv_export(project)
    (project / "pyproject.toml").write_text(UV_PROJECT.replace('["alpha"]', '["alpha", "beta"]') + OFFLINE)
    with pytest.raises(ResolveError, match=r"1 distribution missing for python3\.12/x86_64: beta"):
        build(_settings(project), reporter=Lines())


# -- Requires-Python and hashes, whatever made the lock


def test_requires_python_upper_bound_excludes_the_target(project):
    wheels = project / "wheels"
    old = make_wheel(wheels, "dataclasses", "0.8")
    (project / "pylock.toml").write_text(_pylock(old).replace('version = "0.8"\n',
                                                              'version = "0.8"\nrequires-python = ">=3.6,<3.7"\n'))
    # the lock says it (the wheel's own metadata does not): checked before anything is fetched
    with pytest.raises(ResolveError) as raised:
        build(_settings(project, "python3.10"), reporter=Lines())
    assert str(raised.value).splitlines()[0] == ("dataclasses==0.8 cannot be installed for python3.10/x86_64: it "
                                                "requires Python >=3.6,<3.7; the target has 3.10.0")


def test_requires_python_from_the_wheels_metadata(project, tmp_path):
    wheels = project / "wheels"
    path = make_wheel(wheels, "newonly", "2.0")
    import zipfile

    patched = wheels / "patched" / path.name
    patched.parent.mkdir()
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(patched, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename.endswith("METADATA"):
                data += b"Requires-Python: >=3.11\n"
            new.writestr(item, data)
    (project / "pylock.toml").write_text(_pylock(patched))
    with pytest.raises(ResolveError) as raised:
        build(_settings(project, "python3.10"), reporter=Lines())
    assert str(raised.value).splitlines()[0] == "Requires-Python excludes python3.10/x86_64 (Python 3.10.0) for newonly"
    assert "newonly 2.0 requires Python >=3.11" in str(raised.value)


def test_a_url_without_a_hash_is_refused(project):
    (project / "pylock.toml").write_text(textwrap.dedent("""\
        lock-version = "1.0"
        created-by = "tests"

        [[packages]]
        name = "alpha"
        version = "1.0"
        wheels = [{ name = "alpha-1.0-py3-none-any.whl", url = "https://example.invalid/alpha-1.0-py3-none-any.whl", hashes = {} }]
    """))
    with pytest.raises(LambdaTasksError):
        build(_settings(project), reporter=Lines())


# -- Poetry without poetry.lock


POETRY = """\
[tool.poetry]
name = "app"
version = "0.1.0"

[tool.poetry.dependencies]
python = "^3.10"
alpha = "^1.0"
natlib = { version = "~1.5", platform = "linux" }
winonly = { version = "*", markers = "sys_platform == 'win32'" }
extra-thing = { version = "*", optional = true }

[tool.poetry.extras]
more = ["extra-thing"]

[tool.poetry.group.dev.dependencies]
testtool = "*"
"""


def _poetry(project: Path) -> None:
    wheels = project / "wheels"
    for name, version in (("alpha", "1.2"), ("alpha", "2.0"), ("natlib", "1.5.3"), ("testtool", "8.0"),
                          ("extra-thing", "1.0")):
        make_wheel(wheels, name, version)
    (project / "pyproject.toml").write_text(POETRY + OFFLINE)


def test_poetry_without_lock_is_resolved_from_its_declaration(project):
    _poetry(project)
    reporter = Lines()
    manifest = build(_settings(project), reporter=reporter)
    assert _layer(project, manifest) == {"alpha": "1.2", "natlib": "1.5.3"}  # ^1.0 is <2; dev and optional out
    assert "dependencies: pyproject.toml [tool.poetry] dependencies (no poetry.lock: resolved for the target) " \
           "(found in the project)" in reporter.lines
    assert not any("lists nothing" in line or "no dependencies" in line for line in reporter.lines)
    manifest = build(_settings(project, extras=["more"], groups=["dev"]), reporter=Lines())
    assert _layer(project, manifest) == {"alpha": "1.2", "natlib": "1.5.3", "extra_thing": "1.0", "testtool": "8.0"}


def test_poetry_constraint_with_alternatives_is_refused_in_one_line(project):
    _poetry(project)
    (project / "pyproject.toml").write_text(POETRY.replace('alpha = "^1.0"', 'alpha = "^1.0 || ^3.0"') + OFFLINE)
    with pytest.raises(SettingsError) as raised:
        build(_settings(project), reporter=Lines())
    assert str(raised.value).splitlines()[0] == "pyproject.toml: alpha = '^1.0 || ^3.0' has alternatives (||), " \
                                                "which a requirement cannot say"


def test_pyproject_declaring_nothing_says_no_dependencies(project):
    (project / "pyproject.toml").write_text('[tool.poetry]\nname = "app"\n\n[tool.poetry.dependencies]\n'
                                            'python = "^3.10"\n' + OFFLINE)
    reporter = Lines()
    build(_settings(project), reporter=reporter)
    assert "layers: none (no dependencies and no vendor/)" in reporter.lines
