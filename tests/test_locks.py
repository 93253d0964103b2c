"""Builds from lock files (pylock.toml, uv.lock) and from pyproject.toml: the locked versions ship, hashes are
checked, markers are the target's, stale locks and locks without a usable wheel stop the build."""

import hashlib
import shutil
import subprocess
import textwrap
import zipfile
from pathlib import Path

import pytest
from conftest import offline_pyproject
from factory import build, make_project, make_sdist, make_wheel
from factory_sdists import make_local_project

from lambda_tasks.config import load_settings
from lambda_tasks.errors import LambdaTasksError, ResolveError
from lambda_tasks.report import Reporter


class Lines(Reporter):
    def __init__(self):
        super().__init__(quiet=True)
        self.lines = []

    def info(self, message):
        self.lines.append(message)


def _settings(root: Path, **flags):
    return load_settings(root, {}, {"runtime": "python3.12", **flags})


def _entry(path: Path, uv: bool = False, sha256: str | None = None) -> str:
    digest = sha256 or hashlib.sha256(path.read_bytes()).hexdigest()
    if uv:
        return f'{{ url = "{path.as_uri()}", hash = "sha256:{digest}", size = {path.stat().st_size} }}'
    return f'{{ name = "{path.name}", url = "{path.as_uri()}", size = {path.stat().st_size}, hashes = {{ sha256 = "{digest}" }} }}'


def _layer(project: Path, manifest) -> dict[str, str]:
    """distribution name -> version, read from the .dist-info directories in the layer."""
    with zipfile.ZipFile(project / manifest.layers[0].path) as archive:
        names = {n.split("/")[1] for n in archive.namelist() if ".dist-info/" in n}
    return dict(name[: -len(".dist-info")].rsplit("-", 1) for name in names)


@pytest.fixture
def wheels(wheelhouse):
    made = {
        "alpha1": make_wheel(wheelhouse, "alpha", "1.0"),
        "alpha2": make_wheel(wheelhouse, "alpha", "2.0"),  # newer, in the same place: the lock's 1.0 must ship
        "arm": make_wheel(wheelhouse, "natlib", "1.5", tag="cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64"),
        "x86": make_wheel(wheelhouse, "natlib", "1.5", tag="cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64"),
        "musl": make_wheel(wheelhouse, "natlib", "1.5", tag="cp312-cp312-musllinux_1_1_x86_64"),
        "oldpy": make_wheel(wheelhouse, "oldpy", "1.0"),
        "clicky": make_wheel(wheelhouse, "clicky", "3.0"),
        "devtool": make_wheel(wheelhouse, "devtool", "1.0"),
        "armonly": make_wheel(wheelhouse, "armonly", "2.0"),
    }
    return made


def _pylock(w, natlib=("arm", "x86", "musl"), alpha_sha=None) -> str:
    natlib_wheels = ", ".join(_entry(w[k]) for k in natlib)
    return textwrap.dedent(f"""\
        lock-version = "1.0"
        created-by = "tests"
        extras = ["cli"]

        [[packages]]
        name = "alpha"
        version = "1.0"
        wheels = [{_entry(w["alpha1"], sha256=alpha_sha)}]

        [[packages]]
        name = "natlib"
        version = "1.5"
        wheels = [{natlib_wheels}]

        [[packages]]
        name = "armonly"
        version = "2.0"
        marker = "platform_machine == 'aarch64'"
        wheels = [{_entry(w["armonly"])}]

        [[packages]]
        name = "oldpy"
        version = "1.0"
        marker = "python_version < '3.11'"
        wheels = [{_entry(w["oldpy"])}]

        [[packages]]
        name = "clicky"
        version = "3.0"
        marker = "'cli' in extras"
        wheels = [{_entry(w["clicky"])}]
    """)


def _lock_project(tmp_path: Path, name: str, text: str, pyproject: str = "") -> Path:
    project = make_project(tmp_path / "proj", pyproject=pyproject, app="import alpha\n\ndef handler(e, c):\n    return 1\n")
    (project / "requirements.txt").unlink()
    (project / name).write_text(text)
    return project


def test_pylock_ships_the_locked_versions_for_each_target(tmp_path, wheels):
    project = _lock_project(tmp_path, "pylock.toml", _pylock(wheels))
    reporter = Lines()
    manifest = build(_settings(project, arch="arm64"), reporter=reporter)
    assert _layer(project, manifest) == {"alpha": "1.0", "natlib": "1.5", "armonly": "2.0"}
    assert "dependencies: pylock.toml (PEP 751 lock: versions as locked) (found in the project)" in reporter.lines
    with zipfile.ZipFile(project / manifest.layers[0].path) as archive:
        wheel = archive.read("python/natlib-1.5.dist-info/WHEEL").decode()
    assert "aarch64" in wheel
    manifest = build(_settings(project, arch="x86_64", extras=["cli"]), reporter=Lines())
    assert _layer(project, manifest) == {"alpha": "1.0", "natlib": "1.5", "clicky": "3.0"}
    # an edit to the lock rebuilds the layers; the same lock is up to date
    reporter = Lines()
    build(_settings(project, arch="x86_64", extras=["cli"]), reporter=reporter)
    assert any(line.startswith("up to date") for line in reporter.lines)
    (project / "pylock.toml").write_text(_pylock(wheels).replace('name = "oldpy"', 'name = "oldpy" '))
    reporter = Lines()
    build(_settings(project, arch="x86_64", extras=["cli"]), reporter=reporter)
    assert not any(line.startswith("up to date") for line in reporter.lines)


def test_pylock_wrong_hash_and_no_usable_wheel(tmp_path, wheels):
    project = _lock_project(tmp_path, "pylock.toml", _pylock(wheels, alpha_sha="0" * 64))
    with pytest.raises(ResolveError, match=r"alpha-1\.0-py3-none-any\.whl from .* does not match the sha256 in the lock"):
        build(_settings(project), reporter=Lines())
    (project / "pylock.toml").write_text(_pylock(wheels, natlib=("arm", "musl")))
    with pytest.raises(ResolveError) as raised:
        build(_settings(project), reporter=Lines())
    message = str(raised.value)
    assert message.splitlines()[0].startswith("natlib==1.5 cannot be installed for python3.12/x86_64")
    assert len(message.splitlines()[0]) < 160
    assert "cp312-cp312-musllinux_1_1_x86_64" in message and "manylinux_2_17_aarch64" in message


def test_pylock_named_by_the_setting(tmp_path, wheels):
    project = _lock_project(tmp_path, "pylock.prod.toml", _pylock(wheels))
    (project / "requirements.txt").write_text("something-else\n")  # the setting wins over the search
    manifest = build(_settings(project, requirements="pylock.prod.toml"), reporter=Lines())
    assert _layer(project, manifest) == {"alpha": "1.0", "natlib": "1.5"}


UV_PYPROJECT = """\
[project]
name = "app"
version = "0.1.0"
dependencies = ["alpha==1.0", "natlib", "armonly; platform_machine == 'aarch64'", "sdonly"]

[project.optional-dependencies]
cli = ["clicky"]

[dependency-groups]
dev = ["devtool"]
"""


def _uv_lock(w, sdist: Path) -> str:
    return textwrap.dedent(f"""\
        version = 1
        revision = 3
        requires-python = ">=3.10"

        [[package]]
        name = "app"
        version = "0.1.0"
        source = {{ editable = "." }}
        dependencies = [
            {{ name = "alpha" }},
            {{ name = "armonly", marker = "platform_machine == 'aarch64'" }},
            {{ name = "natlib" }},
            {{ name = "sdonly" }},
        ]

        [package.optional-dependencies]
        cli = [{{ name = "clicky" }}]

        [package.dev-dependencies]
        dev = [{{ name = "devtool" }}]

        [package.metadata]
        requires-dist = [
            {{ name = "alpha", specifier = "==1.0" }},
            {{ name = "armonly", marker = "platform_machine == 'aarch64'" }},
            {{ name = "clicky", marker = "extra == 'cli'" }},
            {{ name = "natlib" }},
            {{ name = "sdonly" }},
        ]
        provides-extras = ["cli"]

        [package.metadata.requires-dev]
        dev = [{{ name = "devtool" }}]

        [[package]]
        name = "alpha"
        version = "1.0"
        source = {{ registry = "https://x.invalid/simple" }}
        wheels = [{_entry(w["alpha1"], uv=True)}]

        [[package]]
        name = "natlib"
        version = "1.5"
        source = {{ registry = "https://x.invalid/simple" }}
        wheels = [{_entry(w["x86"], uv=True)}, {_entry(w["arm"], uv=True)}]

        [[package]]
        name = "armonly"
        version = "2.0"
        source = {{ registry = "https://x.invalid/simple" }}
        wheels = [{_entry(w["armonly"], uv=True)}]

        [[package]]
        name = "sdonly"
        version = "0.5"
        source = {{ registry = "https://x.invalid/simple" }}
        sdist = {_entry(sdist, uv=True)}

        [[package]]
        name = "clicky"
        version = "3.0"
        source = {{ registry = "https://x.invalid/simple" }}
        wheels = [{_entry(w["clicky"], uv=True)}]

        [[package]]
        name = "devtool"
        version = "1.0"
        source = {{ registry = "https://x.invalid/simple" }}
        wheels = [{_entry(w["devtool"], uv=True)}]
    """)


@pytest.mark.slow
def test_uv_lock_builds_as_locked_with_extras_groups_and_sdists(tmp_path, wheels, wheelhouse):
    sdist = make_sdist(wheelhouse / "sd", "sdonly", "0.5")
    project = _lock_project(tmp_path, "uv.lock", _uv_lock(wheels, sdist),
                            UV_PYPROJECT + offline_pyproject(wheelhouse))
    reporter = Lines()
    manifest = build(_settings(project, arch="arm64"), reporter=reporter)
    # the root project (editable ".") is the app, not a layer package; dev groups only when asked
    assert _layer(project, manifest) == {"alpha": "1.0", "natlib": "1.5", "armonly": "2.0", "sdonly": "0.5"}
    assert any("as locked in uv.lock" in line for line in reporter.lines)
    assert any("closure of uv.lock (pyproject.toml's requirements)" in line for line in reporter.lines)
    manifest = build(_settings(project, extras=["cli"], groups=["dev"]), reporter=Lines())
    assert _layer(project, manifest) == {"alpha": "1.0", "natlib": "1.5", "sdonly": "0.5", "clicky": "3.0",
                                         "devtool": "1.0"}


@pytest.mark.slow
def test_uv_lock_sdist_must_build_the_locked_version(tmp_path, wheels, wheelhouse):
    sdist = make_sdist(wheelhouse / "sd", "sdonly", "0.6")
    text = _uv_lock(wheels, sdist).replace('version = "0.5"', 'version = "0.5"', 1)
    project = _lock_project(tmp_path, "uv.lock", text, UV_PYPROJECT + offline_pyproject(wheelhouse))
    with pytest.raises(ResolveError, match=r"sdonly==0.5 .*its sdist builds version 0.6"):
        build(_settings(project), reporter=Lines())


@pytest.mark.slow
def test_uv_lock_missing_a_dependency_fails_the_closure_check(tmp_path, wheels, wheelhouse):
    sdist = make_sdist(wheelhouse / "sd", "sdonly", "0.5")
    needy = make_wheel(wheelhouse / "needy", "alpha", "1.0", requires=["helperdep"])  # the lock forgot helperdep
    text = _uv_lock(wheels, sdist).replace(_entry(wheels["alpha1"], uv=True), _entry(needy, uv=True))
    project = _lock_project(tmp_path, "uv.lock", text, UV_PYPROJECT + offline_pyproject(wheelhouse))
    with pytest.raises(LambdaTasksError, match="helperdep"):
        build(_settings(project), reporter=Lines())


def test_stale_uv_lock_names_uv_lock(tmp_path, wheels, wheelhouse):
    sdist = make_sdist(wheelhouse / "sd", "sdonly", "0.5")
    project = _lock_project(tmp_path, "uv.lock", _uv_lock(wheels, sdist),
                            UV_PYPROJECT.replace("alpha==1.0", "alpha>=2") + offline_pyproject(wheelhouse))
    with pytest.raises(ResolveError, match=r"uv.lock is out of date: .*\[project\] dependencies .*run `uv lock`"):
        build(_settings(project), reporter=Lines())


def test_pyproject_dependencies_resolve_like_requirements(tmp_path, wheels, wheelhouse):
    pyproject = textwrap.dedent("""\
        [project]
        name = "app"
        version = "0.1.0"
        dependencies = ["alpha<2", "armonly; platform_machine == 'aarch64'"]

        [project.optional-dependencies]
        cli = ["clicky"]

        [dependency-groups]
        dev = ["devtool"]
    """) + offline_pyproject(wheelhouse)
    project = make_project(tmp_path / "proj", pyproject=pyproject)
    (project / "requirements.txt").unlink()
    reporter = Lines()
    manifest = build(_settings(project, arch="arm64"), reporter=reporter)
    assert _layer(project, manifest) == {"alpha": "1.0", "armonly": "2.0"}
    assert "dependencies: pyproject.toml [project] dependencies (found in the project)" in reporter.lines
    assert any("closure of pyproject.toml" in line for line in reporter.lines)
    manifest = build(_settings(project, extras=["cli"], groups=["dev"]), reporter=Lines())
    assert _layer(project, manifest) == {"alpha": "1.0", "clicky": "3.0", "devtool": "1.0"}


@pytest.mark.slow
def test_uv_lock_path_dependency_is_built_and_the_root_is_not_shipped(tmp_path, wheels, wheelhouse):
    make_local_project(tmp_path / "libs" / "mylib", "mylib", "0.3")
    lock = textwrap.dedent(f"""\
        version = 1
        revision = 3
        requires-python = ">=3.10"

        [[package]]
        name = "app"
        version = "0.1.0"
        source = {{ virtual = "." }}
        dependencies = [{{ name = "alpha" }}, {{ name = "mylib" }}]

        [package.metadata]
        requires-dist = [{{ name = "alpha" }}, {{ name = "mylib", directory = "../libs/mylib" }}]

        [[package]]
        name = "alpha"
        version = "1.0"
        source = {{ registry = "https://x.invalid/simple" }}
        wheels = [{_entry(wheels["alpha1"], uv=True)}]

        [[package]]
        name = "mylib"
        version = "0.3"
        source = {{ directory = "../libs/mylib" }}
    """)
    pyproject = ('[project]\nname = "app"\nversion = "0.1.0"\n'
                 'dependencies = ["alpha", "mylib"]\n'
                 '[tool.uv.sources]\nmylib = { path = "../libs/mylib" }\n') + offline_pyproject(wheelhouse)
    project = _lock_project(tmp_path, "uv.lock", lock, pyproject)
    manifest = build(_settings(project), reporter=Lines())
    assert _layer(project, manifest) == {"alpha": "1.0", "mylib": "0.3"}
    # the directory is an input: an edit there rebuilds the layers
    reporter = Lines()
    build(_settings(project), reporter=reporter)
    assert any(line.startswith("up to date") for line in reporter.lines)
    (tmp_path / "libs" / "mylib" / "added.py").write_text("X = 1\n")
    reporter = Lines()
    build(_settings(project), reporter=reporter)
    assert not any(line.startswith("up to date") for line in reporter.lines)


@pytest.mark.pypi
def test_real_uv_lock_ships_the_locked_versions(tmp_path):
    import sys

    import tomllib

    uv = shutil.which("uv") or str(Path(__file__).resolve().parent.parent / ".venv" / "bin" / "uv")
    project = make_project(tmp_path / "proj", pyproject=textwrap.dedent("""\
        [project]
        name = "app"
        version = "0.1.0"
        requires-python = ">=3.10"
        dependencies = ["requests", "pydantic"]
    """))
    (project / "requirements.txt").unlink()
    subprocess.run([uv, "lock", "--quiet", "--python", sys.executable], cwd=project, check=True)
    locked = {p["name"]: p["version"] for p in tomllib.loads((project / "uv.lock").read_text())["package"]
              if p["name"] != "app"}
    manifest = build(_settings(project, arch="arm64"), reporter=Lines())
    assert {name.replace("_", "-").lower(): v for name, v in _layer(project, manifest).items()} == locked
