"""poetry.lock: walked from pyproject.toml (Poetry 1 and 2 layouts), files fetched by name from the index with
the lock's hash, markers for the target, extras and groups, path dependencies, Poetry's content-hash."""

import hashlib
import textwrap
import zipfile
from pathlib import Path

import pytest
from conftest import offline_pyproject
from factory import build, make_project, make_sdist
from factory_sdists import make_local_project
from test_locks import Lines, _layer, _settings, wheels  # noqa: F401  (wheels: the fixture)

from lambda_tasks.errors import ResolveError, SettingsError
from lambda_tasks.sources.poetry_lock import content_hash, python_allows, read_poetry_lock
from lambda_tasks.sources.project import read_toml
from lambda_tasks.targets import Target

DATA = Path(__file__).parent / "data" / "poetry"

PYPROJECT = """\
[project]
name = "app"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["alpha==1.0", "natlib", "armonly; platform_machine == 'aarch64'"]

[project.optional-dependencies]
cli = ["clicky"]

[tool.poetry]
package-mode = false

[tool.poetry.group.dev.dependencies]
devtool = "*"
"""


def _files(*paths: Path, sha256: str | None = None) -> str:
    return ", ".join(f'{{file = "{p.name}", hash = "sha256:{sha256 or hashlib.sha256(p.read_bytes()).hexdigest()}"}}'
                     for p in paths)


def _lock(w, pyproject: str, natlib=("arm", "x86", "musl"), alpha_sha=None, extra: str = "") -> str:
    return textwrap.dedent(f"""\
        [[package]]
        name = "alpha"
        version = "1.0"
        optional = false
        python-versions = "*"
        groups = ["main"]
        files = [{_files(w["alpha1"], sha256=alpha_sha)}]

        [[package]]
        name = "armonly"
        version = "2.0"
        optional = false
        python-versions = "*"
        groups = ["main"]
        markers = "platform_machine == \\"aarch64\\""
        files = [{_files(w["armonly"])}]

        [[package]]
        name = "clicky"
        version = "3.0"
        optional = true
        python-versions = "*"
        groups = ["main"]
        markers = "extra == \\"cli\\""
        files = [{_files(w["clicky"])}]

        [[package]]
        name = "devtool"
        version = "1.0"
        optional = false
        python-versions = "*"
        groups = ["dev"]
        files = [{_files(w["devtool"])}]

        [[package]]
        name = "natlib"
        version = "1.5"
        optional = false
        python-versions = "*"
        groups = ["main"]
        files = [{_files(*(w[k] for k in natlib))}]
        {extra}
        [extras]
        cli = ["clicky"]

        [metadata]
        lock-version = "2.1"
        python-versions = ">=3.10"
        content-hash = "{content_hash(read_toml_text(pyproject))}"
    """)


def read_toml_text(text: str) -> dict:
    import tomllib

    return tomllib.loads(text)


def _project(tmp_path: Path, wheelhouse: Path, lock: str, pyproject: str = PYPROJECT) -> Path:
    project = make_project(tmp_path / "proj", pyproject=pyproject + offline_pyproject(wheelhouse))
    (project / "requirements.txt").unlink()
    (project / "poetry.lock").write_text(lock)
    return project


def _full(pyproject: str, wheelhouse: Path) -> str:
    return pyproject + offline_pyproject(wheelhouse)


@pytest.mark.slow  # pip download / pip wheel builds
def test_poetry_lock_ships_the_locked_versions_fetched_by_name(tmp_path, wheels, wheelhouse):
    text = _full(PYPROJECT, wheelhouse)
    project = _project(tmp_path, wheelhouse, _lock(wheels, text), PYPROJECT)
    reporter = Lines()
    manifest = build(_settings(project, arch="arm64"), reporter=reporter)
    assert _layer(project, manifest) == {"alpha": "1.0", "natlib": "1.5", "armonly": "2.0"}
    assert "dependencies: poetry.lock (versions as locked) (found in the project)" in reporter.lines
    assert any("closure of poetry.lock (pyproject.toml's requirements)" in line for line in reporter.lines)
    with zipfile.ZipFile(project / manifest.layers[0].path) as archive:
        assert "aarch64" in archive.read("python/natlib-1.5.dist-info/WHEEL").decode()
    manifest = build(_settings(project, arch="x86_64", extras=["cli"], groups=["dev"]), reporter=Lines())
    assert _layer(project, manifest) == {"alpha": "1.0", "natlib": "1.5", "clicky": "3.0", "devtool": "1.0"}
    with pytest.raises(SettingsError, match=r"dependency group 'docs' is not in .*\n    it has: dev"):
        build(_settings(project, groups=["docs"]), reporter=Lines())


def test_poetry_lock_wrong_hash_stale_and_no_usable_wheel(tmp_path, wheels, wheelhouse):
    text = _full(PYPROJECT, wheelhouse)
    project = _project(tmp_path, wheelhouse, _lock(wheels, text, alpha_sha="0" * 64), PYPROJECT)
    with pytest.raises(ResolveError, match=r"alpha-1\.0-py3-none-any\.whl does not match the sha256 in poetry\.lock"):
        build(_settings(project), reporter=Lines())
    (project / "poetry.lock").write_text(_lock(wheels, text, natlib=("arm", "musl")))
    with pytest.raises(ResolveError) as raised:
        build(_settings(project), reporter=Lines())
    first = str(raised.value).splitlines()[0]
    assert first.startswith("natlib==1.5 cannot be installed for python3.12/x86_64") and len(first) < 160
    assert "cp312-cp312-musllinux_1_1_x86_64" in str(raised.value)
    (project / "pyproject.toml").write_text(text.replace("alpha==1.0", "alpha>=2"))
    with pytest.raises(ResolveError, match=r"poetry.lock is out of date: .*run `poetry lock`"):
        build(_settings(project), reporter=Lines())


@pytest.mark.slow  # pip download / pip wheel builds
def test_poetry_lock_path_dependency_and_locked_sdist(tmp_path, wheels, wheelhouse):
    make_local_project(tmp_path / "libs" / "mylib", "mylib", "0.3")
    sdist = make_sdist(wheelhouse, "sdonly", "0.5")
    pyproject = PYPROJECT.replace('"alpha==1.0",', '"alpha==1.0", "mylib", "sdonly",')
    text = _full(pyproject, wheelhouse)
    extra = textwrap.dedent(f"""
        [[package]]
        name = "mylib"
        version = "0.3"
        optional = false
        python-versions = "*"
        groups = ["main"]
        files = []
        develop = true

        [package.source]
        type = "directory"
        url = "../libs/mylib"

        [[package]]
        name = "sdonly"
        version = "0.5"
        optional = false
        python-versions = "*"
        groups = ["main"]
        files = [{_files(sdist)}]
    """)
    project = _project(tmp_path, wheelhouse, _lock(wheels, text, extra=extra), pyproject)
    manifest = build(_settings(project), reporter=Lines())
    assert _layer(project, manifest) == {"alpha": "1.0", "natlib": "1.5", "mylib": "0.3", "sdonly": "0.5"}


POETRY1 = """\
[tool.poetry]
name = "app"
version = "0.1.0"
description = ""
authors = []

[tool.poetry.dependencies]
python = "^3.10"
alpha = "^1.0"
oldpy = {version = "*", python = "<3.11"}
natlib = {version = "*", markers = "platform_machine == 'aarch64'"}
clicky = {version = "*", optional = true}

[tool.poetry.extras]
cli = ["clicky"]

[tool.poetry.dev-dependencies]
devtool = "*"
"""

POETRY1_LOCK = """\
[[package]]
name = "alpha"
version = "1.0"
category = "main"
optional = false
python-versions = "*"

[package.dependencies]
helper = {version = "*", markers = "python_version >= \\"3.12\\""}
socks = {version = "*", optional = true}

[package.extras]
proxy = ["socks (>=1)"]

[[package]]
name = "helper"
version = "2.0"
category = "main"
optional = false
python-versions = "*"

[[package]]
name = "oldpy"
version = "1.0"
category = "main"
optional = false
python-versions = "*"

[[package]]
name = "natlib"
version = "1.5"
category = "main"
optional = false
python-versions = "*"

[[package]]
name = "clicky"
version = "3.0"
category = "main"
optional = true
python-versions = "*"

[package.dependencies]
alpha = {version = "*", extras = ["proxy"]}

[[package]]
name = "socks"
version = "1.1"
category = "main"
optional = true
python-versions = "*"

[[package]]
name = "devtool"
version = "1.0"
category = "dev"
optional = false
python-versions = "*"

[metadata]
lock-version = "1.1"
python-versions = "^3.10"
content-hash = "x"
"""


@pytest.mark.parametrize(("runtime", "arch", "extras", "groups", "expected"), [
    ("python3.12", "x86_64", (), (), {"alpha", "helper"}),
    ("python3.10", "arm64", (), (), {"alpha", "oldpy", "natlib"}),
    ("python3.12", "x86_64", ("cli",), ("dev",), {"alpha", "helper", "clicky", "socks", "devtool"}),
])
def test_poetry1_layout_markers_python_extras_and_dev(tmp_path, runtime, arch, extras, groups, expected):
    (tmp_path / "pyproject.toml").write_text(POETRY1)
    (tmp_path / "poetry.lock").write_text(POETRY1_LOCK)
    environment = Target(runtime, arch).marker_environment()
    packages = read_poetry_lock(tmp_path / "poetry.lock", environment, extras, groups)
    assert {p.name for p in packages} == expected


def test_lock_for_other_pythons_and_unknown_extras_are_refused(tmp_path):
    (tmp_path / "pyproject.toml").write_text(POETRY1)
    (tmp_path / "poetry.lock").write_text(POETRY1_LOCK.replace('python-versions = "^3.10"', 'python-versions = "^3.13"'))
    environment = Target("python3.12", "x86_64").marker_environment()
    with pytest.raises(SettingsError, match=r"was locked for Python \^3.13, which excludes the target's 3.12"):
        read_poetry_lock(tmp_path / "poetry.lock", environment)
    (tmp_path / "poetry.lock").write_text(POETRY1_LOCK)
    with pytest.raises(SettingsError, match=r"extra 'pdf' is not in .*\[tool.poetry.extras\]\n    it has: cli"):
        read_poetry_lock(tmp_path / "poetry.lock", environment, extras=["pdf"])


@pytest.mark.parametrize(("constraint", "version", "allowed"), [
    ("^3.10", "3.12.0", True), ("^3.10", "4.0", False), ("^0.2.3", "0.3.0", False), ("^0.2.3", "0.2.9", True),
    ("~3.10", "3.11.0", False), ("~3.10", "3.10.7", True), (">=3.8,<3.11", "3.12.0", False),
    (">=3.8 <3.13", "3.12.1", True), ("3.12.*", "3.12.4", True), ("^2.7 || ^3.11", "3.12.0", True), ("*", "3.9", True),
    ("!=3.0.*,!=3.1.*,>=2.7", "3.12.0", True),
])
def test_poetry_constraints(constraint, version, allowed):
    assert python_allows(constraint, version) is allowed


@pytest.mark.parametrize("case", sorted(p.name for p in DATA.iterdir() if p.is_dir()) if DATA.is_dir() else [])
def test_content_hash_matches_what_poetry_wrote(case):
    """Locks made by the real Poetry (tests/data/poetry/README.md says how): our content-hash is Poetry's."""
    recorded = read_toml(DATA / case / "poetry.lock")["metadata"]["content-hash"]
    assert content_hash(read_toml(DATA / case / "pyproject.toml")) == recorded


@pytest.mark.parametrize(("case", "extras", "groups", "more"), [
    ("poetry1-tool-poetry", (), (), set()),
    ("poetry2-tool-poetry", ("six",), ("dev",), {"six", "iniconfig"}),
    ("poetry2-project", ("socks",), ("dev",), {"pysocks", "six"}),
])
def test_real_locks_walk_to_what_poetry_records(case, extras, groups, more):
    """The walk from pyproject.toml finds the set Poetry 2 records per package (groups and markers)."""
    environment = Target("python3.12", "arm64").marker_environment()
    names = {p.name.lower() for p in read_poetry_lock(DATA / case / "poetry.lock", environment, extras, groups)}
    main = {"requests", "certifi", "charset-normalizer", "idna", "urllib3", "pydantic", "pydantic-core",
            "annotated-types", "typing-extensions", "typing-inspection"}
    socks = {"pysocks"} if "tool-poetry" in case else set()
    assert names == main | socks | more
    lock = read_toml(DATA / case / "poetry.lock")
    if lock["metadata"]["lock-version"] == "2.1":
        from lambda_tasks.sources.locks import evaluate_any

        recorded = {p["name"].lower() for p in lock["package"] if set(p["groups"]) & {"main", *groups}
                    and evaluate_any(p.get("markers"), environment, extras)}
        assert names == recorded
