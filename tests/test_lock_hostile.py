"""Lock files as the real tools write them, against what the target needs: each case here was a build that
exited 0 with a wrong layer (or refused a right one) before its fix. The locks are shaped from the tools' own
output (uv 0.13.10, pipenv 2026.11.0, run on an x86_64 host with Python 3.11), on the test's own wheels."""

import hashlib
import json
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import tomllib
from factory import build, make_project, make_wheel
from test_locks import Lines, _layer

from lambda_tasks.config import load_settings
from lambda_tasks.errors import LambdaTasksError
from lambda_tasks.sources.pipfile import pipfile_hash
from lambda_tasks.sources.uv_staleness import uv_lock_staleness

BIN = Path(sys.executable).parent
OFFLINE = '[tool.lambda-tasks]\npip_args = ["--no-index", "--find-links", "wheels"]\nruntime = "python3.12"\n'


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _uv_wheels(where: Path) -> Path:
    make_wheel(where, "alpha", "1.0", requires=["beta"])
    make_wheel(where, "beta", "1.5")
    make_wheel(where, "devtool", "1.0")
    make_wheel(where, "loc", "1.0")
    return where


def _uv_wheel(path: Path) -> str:
    return f'{{ url = "{path.as_uri()}", hash = "sha256:{_sha(path)}", size = {path.stat().st_size} }}'


# -------------------------------------------------------------------------------------- uv.lock staleness

#: pyproject.toml as `uv lock` (0.13.10) locked it: [tool.uv] tables and the legacy dev-dependencies
UV_PYPROJECT = textwrap.dedent("""\
    [project]
    name = "app"
    version = "0"
    requires-python = ">=3.11"
    dependencies = ["alpha", "loc"]

    [dependency-groups]
    a = ["gamma"]
    b = [{include-group = "a"}, "delta"]

    [tool.uv]
    dev-dependencies = ["devtool"]
    constraint-dependencies = ["beta<2"]

    [tool.uv.sources]
    alpha = { index = "mirror" }
    loc = { path = "libs/loc" }

    [[tool.uv.index]]
    name = "mirror"
    url = "https://mirror.invalid/simple/"
    explicit = true
""")


def _uv_lock(wheels: Path) -> str:
    """uv.lock for UV_PYPROJECT, as uv writes it (the root's metadata is what uv's own --check compares)."""
    return textwrap.dedent(f"""\
        version = 1
        revision = 5
        requires-python = ">=3.11"

        [manifest]
        constraints = [{{ name = "beta", specifier = "<2" }}]

        [[package]]
        name = "alpha"
        version = "1.0"
        source = {{ registry = "https://mirror.invalid/simple/" }}
        dependencies = [{{ name = "beta" }}]
        wheels = [{_uv_wheel(wheels / "alpha-1.0-py3-none-any.whl")}]

        [[package]]
        name = "beta"
        version = "1.5"
        source = {{ registry = "https://pypi.org/simple" }}
        wheels = [{_uv_wheel(wheels / "beta-1.5-py3-none-any.whl")}]

        [[package]]
        name = "app"
        version = "0"
        source = {{ virtual = "." }}
        dependencies = [{{ name = "alpha" }}, {{ name = "loc" }}]

        [package.dev-dependencies]
        a = [{{ name = "gamma" }}]
        b = [{{ name = "delta" }}, {{ name = "gamma" }}]
        dev = [{{ name = "devtool" }}]

        [package.metadata]
        requires-dist = [
            {{ name = "alpha", index = "https://mirror.invalid/simple/" }},
            {{ name = "loc", directory = "libs/loc" }},
        ]

        [package.metadata.requires-dev]
        a = [{{ name = "gamma" }}]
        b = [
            {{ name = "delta" }},
            {{ name = "gamma" }},
        ]
        dev = [{{ name = "devtool" }}]

        [[package]]
        name = "devtool"
        version = "1.0"
        source = {{ registry = "https://pypi.org/simple" }}
        wheels = [{_uv_wheel(wheels / "devtool-1.0-py3-none-any.whl")}]

        [[package]]
        name = "loc"
        version = "1.0"
        source = {{ directory = "libs/loc" }}
    """)


def test_uv_lock_as_uv_wrote_it_is_not_stale(tmp_path):
    """include-group expanded, the legacy dev-dependencies as the dev group, sources by index and path: all as uv
    records them (these read as stale before: a build refused for nothing)."""
    (tmp_path / "pyproject.toml").write_text(UV_PYPROJECT)
    (tmp_path / "uv.lock").write_text(_uv_lock(_uv_wheels(tmp_path / "wheels")))
    assert uv_lock_staleness(tmp_path / "uv.lock", tmp_path / "pyproject.toml") is None


@pytest.mark.parametrize(("change", "table"), [
    (('constraint-dependencies = ["beta<2"]', 'constraint-dependencies = ["beta<1.5"]'),
     "[tool.uv] constraint-dependencies"),
    (('constraint-dependencies = ["beta<2"]', 'constraint-dependencies = ["beta<2"]\noverride-dependencies = '
                                             '["beta==1.0"]'), "[tool.uv] override-dependencies"),
    (('alpha = { index = "mirror" }', 'alpha = { url = "https://x.invalid/alpha-2.0-py3-none-any.whl" }'),
     "[project] dependencies ([tool.uv.sources])"),
    (('alpha = { index = "mirror" }\n', ""), "[project] dependencies ([tool.uv.sources])"),
    (('dev-dependencies = ["devtool"]', 'dev-dependencies = ["devtool", "more"]'), "[dependency-groups] dev"),
])
def test_uv_lock_stale_against_tool_uv_is_refused(tmp_path, change, table):
    """What `uv lock --check` calls stale (constraints, overrides, sources changed) was built from the old lock:
    versions and files pyproject.toml no longer asks for."""
    (tmp_path / "pyproject.toml").write_text(UV_PYPROJECT.replace(*change))
    (tmp_path / "uv.lock").write_text(_uv_lock(_uv_wheels(tmp_path / "wheels")))
    assert uv_lock_staleness(tmp_path / "uv.lock", tmp_path / "pyproject.toml") == table


@pytest.mark.parametrize(("declared", "stale"), [
    ('dependencies = ["gitlib"]\n[tool.uv.sources]\ngitlib = { git = "https://github.com/o/gitlib", rev = "v1" }',
     None),
    ('dependencies = ["gitlib @ git+https://github.com/o/gitlib.git@v1"]', None),
    ('dependencies = ["gitlib"]\n[tool.uv.sources]\ngitlib = { git = "https://github.com/fork/gitlib" }',
     "[project] dependencies ([tool.uv.sources])"),
    ('dependencies = ["gitlib"]', "[project] dependencies ([tool.uv.sources])"),
])
def test_uv_lock_git_source_compared_by_repository(tmp_path, declared, stale):
    """A git source as uv records it (``?rev=v1``) against the table or the PEP 508 URL (``@v1``): the same
    repository is no change; another repository, or none, is."""
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "app"\nversion = "0"\n{declared}\n')
    (tmp_path / "uv.lock").write_text(textwrap.dedent("""\
        version = 1
        revision = 5

        [[package]]
        name = "app"
        version = "0"
        source = { virtual = "." }
        dependencies = [{ name = "gitlib" }]

        [package.metadata]
        requires-dist = [{ name = "gitlib", git = "https://github.com/o/gitlib?rev=v1" }]
    """))
    assert uv_lock_staleness(tmp_path / "uv.lock", tmp_path / "pyproject.toml") == stale


@pytest.fixture
def uv_project(tmp_path):
    root = make_project(tmp_path / "proj", pyproject=UV_PYPROJECT + "\n" + OFFLINE)
    (root / "requirements.txt").unlink()
    _uv_wheels(root / "wheels")  # loc as a wheel here: the directory is not what this tests
    (root / "uv.lock").write_text(_uv_lock(root / "wheels").replace(
        'source = { directory = "libs/loc" }',
        f'source = {{ registry = "https://pypi.org/simple" }}\nwheels = [{_uv_wheel(root / "wheels/loc-1.0-py3-none-any.whl")}]'))
    return root


@pytest.mark.e2e
@pytest.mark.slow
def test_build_refuses_a_uv_lock_older_than_its_constraints(uv_project):
    """The command line: the lock as uv wrote it builds; the same lock once [tool.uv] constraint-dependencies
    changed exits 1 naming the table, and writes no layer."""
    def run():
        return subprocess.run([BIN / "lambda-tasks", "build", "--json"], cwd=uv_project, capture_output=True,
                              text=True, timeout=120)
    done = run()
    assert done.returncode == 0, done.stderr
    assert _dists(uv_project) == {"alpha-1.0", "beta-1.5", "loc-1.0"}
    pyproject = uv_project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('["beta<2"]', '["beta<1.5"]'))
    done = run()
    assert done.returncode == 1
    assert "uv.lock is out of date: pyproject.toml's [tool.uv] constraint-dependencies changed" in done.stderr
    assert "Traceback" not in done.stderr


def _dists(project: Path) -> set[str]:
    """name-version of each .dist-info in the project's layer zips."""
    found = set()
    for layer in (project / "layers").glob("*.zip"):
        with zipfile.ZipFile(layer) as archive:
            found |= {n.split("/")[1].removesuffix(".dist-info") for n in archive.namelist() if ".dist-info/" in n}
    return found


def test_uv_lock_dev_group_from_legacy_dev_dependencies_ships_with_groups(uv_project):
    manifest = build(load_settings(uv_project, {}, {"groups": ["dev"]}), reporter=Lines())
    assert _layer(uv_project, manifest)["devtool"] == "1.0"


def test_uv_lock_for_a_newer_python_is_refused_before_fetching(uv_project):
    """uv drops what a marker needs outside requires-python (tomli; python_version < "3.11"): the lock cannot
    serve an older target."""
    with pytest.raises(LambdaTasksError, match=r"uv.lock requires Python >=3.11; the target has 3.10.0"):
        build(load_settings(uv_project, {}, {"runtime": "python3.10"}), reporter=Lines())


def test_uv_lock_for_other_environments_is_refused(uv_project):
    """[tool.uv] environments = ["sys_platform == 'darwin'"]: uv resolves for macOS only and drops the markers
    that hold there (appnope; sys_platform == 'darwin' becomes unconditional), so the lock says nothing true for
    Linux."""
    path = uv_project / "uv.lock"
    path.write_text(path.read_text().replace('requires-python = ">=3.11"\n',
                                             'requires-python = ">=3.11"\nsupported-markers = '
                                             '["sys_platform == \'darwin\'"]\n', 1))
    with pytest.raises(LambdaTasksError, match=r"uv.lock is not locked for this target: none of its supported-"):
        build(load_settings(uv_project, {}, {}), reporter=Lines())
    path.write_text(path.read_text().replace("sys_platform == 'darwin'", "platform_machine == 'x86_64'"))
    assert _layer(uv_project, build(load_settings(uv_project, {}, {}), reporter=Lines()))["alpha"] == "1.0"
    with pytest.raises(LambdaTasksError, match=r"it is for: platform_machine == 'x86_64'"):
        build(load_settings(uv_project, {}, {"arch": "arm64"}), reporter=Lines())


# ------------------------------------------------------------------------------------------ Pipfile.lock

#: pipenv 2026.11.0's Pipfile: a package for Windows by the sys_platform key, one for arm64 by markers
PIPFILE = textwrap.dedent("""\
    [[source]]
    url = "https://pypi.org/simple"
    verify_ssl = true
    name = "pypi"

    [packages]
    alpha = "*"
    winonly = {version = "*", sys_platform = "== 'win32'"}
    armonly = {version = "*", markers = "platform_machine == 'aarch64'"}

    [requires]
    python_version = "3.11"
""")


@pytest.fixture
def pipenv_project(tmp_path):
    root = make_project(tmp_path / "proj", pyproject=OFFLINE)
    (root / "requirements.txt").unlink()
    alpha = make_wheel(root / "wheels", "alpha", "1.0")
    (root / "Pipfile").write_text(PIPFILE)
    # as `pipenv lock` wrote it on x86_64: the two packages whose markers did not hold there are left unlocked
    # ("*", no hashes), and winonly's sys_platform key is dropped
    lock = {
        "_meta": {"hash": {"sha256": pipfile_hash(tomllib.loads(PIPFILE))}, "pipfile-spec": 6,
                  "requires": {"python_version": "3.11"},
                  "sources": [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True}]},
        "default": {
            "alpha": {"hashes": [f"sha256:{_sha(alpha)}"], "index": "pypi", "markers": "python_version >= '3.9'",
                      "version": "==1.0"},
            "armonly": {"markers": "platform_machine == 'aarch64'", "version": "*"},
            "winonly": {"version": "*"},
        },
        "develop": {},
    }
    (root / "Pipfile.lock").write_text(json.dumps(lock, indent=4))
    return root


def test_pipfile_lock_entry_pipenv_left_unlocked_follows_the_pipfiles_markers(pipenv_project):
    """winonly (the Pipfile says win32) is not for the target: the build ships alpha, where it used to refuse
    winonly as "no wheel in the lock fits"."""
    manifest = build(load_settings(pipenv_project, {}, {}), reporter=Lines())
    assert _layer(pipenv_project, manifest) == {"alpha": "1.0"}


def test_pipfile_lock_entry_the_target_needs_but_pipenv_did_not_lock_is_refused(pipenv_project):
    with pytest.raises(LambdaTasksError, match=r"Pipfile.lock does not lock armonly, which the target needs"):
        build(load_settings(pipenv_project, {}, {"arch": "arm64"}), reporter=Lines())


def test_pipfile_lock_entry_without_hashes_is_refused_by_name(pipenv_project):
    path = pipenv_project / "Pipfile.lock"
    data = json.loads(path.read_text())
    data["default"]["alpha"]["hashes"] = []
    path.write_text(json.dumps(data))
    with pytest.raises(LambdaTasksError, match=r"Pipfile.lock records no sha256 for alpha 1.0"):
        build(load_settings(pipenv_project, {}, {}), reporter=Lines())


# -------------------------------------------------------------------------------------------- poetry.lock

#: Poetry 1.8.5's lock of one dependency with a constraint per Python: two entries, no package markers
POETRY1_PYPROJECT = textwrap.dedent("""\
    [tool.poetry]
    name = "pm"
    version = "0"
    description = ""
    authors = ["x <x@x.x>"]
    package-mode = false

    [tool.poetry.dependencies]
    python = "^3.10"
    networkx = [{version="3.4.2", python="<3.11"}, {version=">=3.5", python=">=3.11"}]
""")


def test_poetry1_lock_with_a_version_per_python_ships_the_targets(tmp_path):
    """Poetry 1 writes no markers on the two networkx entries: the project's constraint for the target picks
    (3.6 on python3.12, where the first entry, 3.4.2, shipped before)."""
    from lambda_tasks.sources.poetry_lock import content_hash, read_poetry_lock
    from lambda_tasks.targets import Target

    (tmp_path / "pyproject.toml").write_text(POETRY1_PYPROJECT)
    entries = "".join(textwrap.dedent(f"""\
        [[package]]
        name = "networkx"
        version = "{version}"
        description = "Python package for creating and manipulating graphs and networks"
        optional = false
        python-versions = "{python}"
        files = [
            {{file = "networkx-{version}-py3-none-any.whl", hash = "sha256:{'a' * 64}"}},
        ]

        """) for version, python in (("3.4.2", ">=3.10"), ("3.6", ">=3.11")))
    digest = content_hash(tomllib.loads(POETRY1_PYPROJECT))
    (tmp_path / "poetry.lock").write_text(entries + textwrap.dedent(f"""\
        [metadata]
        lock-version = "2.0"
        python-versions = "^3.10"
        content-hash = "{digest}"
    """))
    for runtime, version in (("python3.10", "3.4.2"), ("python3.12", "3.6"), ("python3.13", "3.6")):
        environment = Target(runtime, "arm64").marker_environment()
        assert [(p.name, p.version) for p in read_poetry_lock(tmp_path / "poetry.lock", environment)] == [
            ("networkx", version)]


# -------------------------------------------------------------------------------------------- pylock.toml


@pytest.mark.e2e
@pytest.mark.slow
def test_pylock_with_overlapping_markers_is_refused_in_one_line(tmp_path):
    """`uv export --format pylock.toml` of a fork writes one entry per Python; edited so that two hold on the
    target, the build stopped with a traceback (ValueError from the target lock)."""
    project = make_project(tmp_path / "proj", pyproject=OFFLINE)
    (project / "requirements.txt").unlink()
    entries = []
    for version, marker in (("3.6.1", "python_full_version >= '3.11'"), ("3.7", "python_full_version >= '3.12'")):
        wheel = make_wheel(project / "wheels", "networkx", version)
        entries.append(textwrap.dedent(f"""\
            [[packages]]
            name = "networkx"
            version = "{version}"
            marker = "{marker}"
            index = "https://pypi.org/simple"
            wheels = [{{ url = "{wheel.as_uri()}", size = {wheel.stat().st_size}, hashes = {{ sha256 = "{_sha(wheel)}" }} }}]
            """))
    (project / "pylock.toml").write_text('lock-version = "1.0"\ncreated-by = "uv"\nrequires-python = ">=3.10"\n\n'
                                         + "\n".join(entries))
    done = subprocess.run([BIN / "lambda-tasks", "build"], cwd=project, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.startswith("error: pylock.toml gives the target networkx twice (3.6.1, 3.7)"), done.stderr
    assert "Traceback" not in done.stderr
    assert _layer(project, build(load_settings(project, {}, {"runtime": "python3.11"}), reporter=Lines())) == {
        "networkx": "3.6.1"}


# ------------------------------------------------------------------------------------- a local flat index

#: `uv lock` (0.13.10) with a flat index of wheels in the project: the files are relative to the index, no hash
FLAT_PYPROJECT = textwrap.dedent("""\
    [project]
    name = "flat"
    version = "0"
    requires-python = ">=3.11"
    dependencies = ["six"]

    [[tool.uv.index]]
    name = "local"
    url = "./wheels"
    format = "flat"

    [tool.uv.sources]
    six = { index = "local" }
""")
FLAT_LOCK = textwrap.dedent("""\
    version = 1
    revision = 5
    requires-python = ">=3.11"

    [[package]]
    name = "flat"
    version = "0"
    source = { virtual = "." }
    dependencies = [
        { name = "six" },
    ]

    [package.metadata]
    requires-dist = [{ name = "six", index = "file:///elsewhere/flat/wheels" }]

    [[package]]
    name = "six"
    version = "1.17.0"
    source = { registry = "wheels" }
    wheels = [
        { path = "six-1.17.0-py2.py3-none-any.whl" },
    ]
""")


def test_uv_lock_from_a_flat_local_index_builds_and_its_unhashed_wheel_is_an_input(tmp_path):
    """The wheel's path is relative to the index (it was looked for beside the lock: refused), the index's
    file: URL is not a change of source (refused as stale), and the wheel, which the lock names without a hash,
    is an input: replaced, the layer is made again (it stayed "up to date" with the old wheel)."""
    project = make_project(tmp_path / "proj", pyproject=FLAT_PYPROJECT + OFFLINE)
    (project / "requirements.txt").unlink()
    (project / "uv.lock").write_text(FLAT_LOCK)
    make_wheel(project / "wheels", "six", "1.17.0", tag="py2.py3-none-any", files={"six.py": "OLD = 1\n"})
    settings = load_settings(project, {}, {})
    assert _layer(project, build(settings, reporter=Lines())) == {"six": "1.17.0"}
    make_wheel(project / "wheels", "six", "1.17.0", tag="py2.py3-none-any", files={"six.py": "NEW = 1\n"})
    reporter = Lines()
    manifest = build(load_settings(project, {}, {}), reporter=reporter)
    assert not any(line.startswith("up to date") for line in reporter.lines)
    with zipfile.ZipFile(project / manifest.layers[0].path) as archive:
        assert archive.read("python/six.py") == b"NEW = 1\n"


def test_a_pdm_lock_beside_the_resolved_pyproject_is_said_not_read(tmp_path):
    """pdm.lock is no format lambda-tasks reads: pyproject.toml is resolved anew, and the build says so with the
    way to build as locked (was silent: other versions than the lock's shipped with no word)."""
    project = make_project(tmp_path / "proj", pyproject='[project]\nname = "x"\nversion = "0"\n'
                                                        'dependencies = ["alpha"]\n' + OFFLINE)
    (project / "requirements.txt").unlink()
    make_wheel(project / "wheels", "alpha", "1.0")
    (project / "pdm.lock").write_text('[metadata]\nlock_version = "4.5.0"\n')
    warnings = []
    reporter = Lines()
    reporter.warn = warnings.append
    build(load_settings(project, {}, {}), reporter=reporter)
    assert warnings == ["dependencies: pdm.lock is not read: pyproject.toml is resolved anew, so versions may differ "
                        "from pdm.lock's\n    to build as locked: pdm export -f pylock -o pylock.toml"]


def _pdm_pylock(wheels: Path) -> str:
    """pylock.toml as `pdm export -f pylock` writes it (pdm's formats/pylock.py): every package marked by the
    groups and extras that need it, the main ones by the synthetic default group."""
    def package(name: str, marker: str) -> str:
        wheel = next(wheels.glob(f"{name}-*.whl"))
        return textwrap.dedent(f"""\
            [[packages]]
            name = "{name}"
            version = "1.0"
            marker = "{marker}"
            wheels = [{{ url = "{wheel.as_uri()}", hashes = {{ sha256 = "{_sha(wheel)}" }} }}]
            """)
    head = textwrap.dedent("""\
        lock-version = "1.0"
        requires-python = ">=3.10"
        environments = []
        extras = ["fast"]
        dependency-groups = ["default", "dev"]
        default-groups = ["default"]
        created-by = "pdm"

        """)
    return head + "\n".join([package("alpha", "'default' in dependency_groups"),
                             package("armonly", "'default' in dependency_groups and platform_machine == 'aarch64'"),
                             package("speedy", "'fast' in extras"),
                             package("devtool", "'dev' in dependency_groups")])


@pytest.mark.parametrize("with_pyproject", [False, True])
def test_pdm_pylock_ships_its_default_group(tmp_path, with_pyproject):
    """pdm marks the main packages "'default' in dependency_groups" with default-groups = ["default"]: they
    ship (the layer was empty, exit 0, without a pyproject.toml beside; refused as missing with one)."""
    project = make_project(tmp_path / "proj", pyproject=(
        '[project]\nname = "x"\nversion = "0"\ndependencies = ["alpha", "armonly; platform_machine == \'aarch64\'"]\n'
        '[project.optional-dependencies]\nfast = ["speedy"]\n[dependency-groups]\ndev = ["devtool"]\n'
        if with_pyproject else "") + OFFLINE)
    (project / "requirements.txt").unlink()
    for name in ("alpha", "armonly", "speedy", "devtool"):
        make_wheel(project / "wheels", name, "1.0")
    (project / "pylock.toml").write_text(_pdm_pylock(project / "wheels"))
    assert _layer(project, build(load_settings(project, {}, {}), reporter=Lines())) == {"alpha": "1.0"}
    assert _layer(project, build(load_settings(project, {}, {"arch": "arm64", "extras": ["fast"], "groups": ["dev"]}),
                                 reporter=Lines())) == {"alpha": "1.0", "armonly": "1.0", "speedy": "1.0",
                                                        "devtool": "1.0"}


def test_a_lock_that_gives_the_target_nothing_is_still_held_to_the_declaration(tmp_path):
    """A pylock.toml all of whose packages are for another platform, beside a pyproject.toml that needs alpha:
    refused as missing alpha (it built with no layer at all: the closure check was skipped for no wheels)."""
    project = make_project(tmp_path / "proj", pyproject='[project]\nname = "x"\nversion = "0"\n'
                                                        'dependencies = ["alpha"]\n' + OFFLINE)
    (project / "requirements.txt").unlink()
    wheel = make_wheel(project / "wheels", "alpha", "1.0")
    (project / "pylock.toml").write_text(textwrap.dedent(f"""\
        lock-version = "1.0"
        created-by = "tests"

        [[packages]]
        name = "alpha"
        version = "1.0"
        marker = "sys_platform == 'win32'"
        wheels = [{{ url = "{wheel.as_uri()}", hashes = {{ sha256 = "{_sha(wheel)}" }} }}]
        """))
    with pytest.raises(LambdaTasksError, match=r"1 distribution missing for python3.12/x86_64: alpha"):
        build(load_settings(project, {}, {}), reporter=Lines())


# ------------------------------------------------------------------------------- against the real uv

REAL_PYPROJECT = textwrap.dedent("""\
    [project]
    name = "app"
    version = "0"
    requires-python = ">=3.11"
    dependencies = ["six"]

    [dependency-groups]
    a = ["six"]
    b = [{include-group = "a"}]

    [tool.uv]
    dev-dependencies = ["six"]
""")


@pytest.mark.pypi
@pytest.mark.parametrize("change", [
    None,
    ('dev-dependencies = ["six"]', 'dev-dependencies = ["six"]\nconstraint-dependencies = ["six<1.17"]'),
    ('dev-dependencies = ["six"]', 'dev-dependencies = ["six"]\noverride-dependencies = ["six==1.16.0"]'),
    ('dev-dependencies = ["six"]', 'dev-dependencies = ["six"]\n[tool.uv.sources]\nsix = { index = "mirror" }\n'
                                   '[[tool.uv.index]]\nname = "mirror"\nurl = "https://pypi.org/simple/"\n'
                                   'explicit = true'),
    ('b = [{include-group = "a"}]', 'b = [{include-group = "a"}, "idna"]'),
])
def test_staleness_agrees_with_uv_lock_check(tmp_path, change):
    """The real uv locks; pyproject.toml is changed (or not); lambda-tasks calls the lock stale exactly when
    `uv lock --check` does."""
    uv = shutil.which("uv") or str(BIN / "uv")
    (tmp_path / "pyproject.toml").write_text(REAL_PYPROJECT)
    subprocess.run([uv, "lock", "--quiet", "--python", sys.executable], cwd=tmp_path, check=True, timeout=60)
    if change is not None:
        (tmp_path / "pyproject.toml").write_text(REAL_PYPROJECT.replace(*change))
    check = subprocess.run([uv, "lock", "--check", "--python", sys.executable], cwd=tmp_path, capture_output=True,
                           timeout=60)
    assert (uv_lock_staleness(tmp_path / "uv.lock", tmp_path / "pyproject.toml") is not None) == (
        check.returncode != 0), check.stderr


def test_a_workspace_lock_read_from_a_member_is_refused(tmp_path):
    """uv 0.13.10's lock of a workspace (root wsroot needs idna, member app needs six), named from the member
    with requirements = "../../uv.lock": the root's idna shipped and six did not (exit 0)."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "wsroot"\nversion = "0"\nrequires-python = ">=3.11"\n'
                                         'dependencies = ["idna"]\n[tool.uv.workspace]\nmembers = ["packages/*"]\n')
    (root / "uv.lock").write_text(textwrap.dedent("""\
        version = 1
        revision = 5
        requires-python = ">=3.11"

        [manifest]
        members = ["app", "wsroot"]

        [[package]]
        name = "app"
        version = "0"
        source = { virtual = "packages/app" }
        dependencies = [{ name = "six" }]

        [package.metadata]
        requires-dist = [{ name = "six" }]

        [[package]]
        name = "wsroot"
        version = "0"
        source = { virtual = "." }
        dependencies = [{ name = "idna" }]

        [package.metadata]
        requires-dist = [{ name = "idna" }]
    """))
    project = make_project(root / "packages" / "app", pyproject='[project]\nname = "app"\nversion = "0"\n'
                           'requires-python = ">=3.11"\ndependencies = ["six"]\n' + OFFLINE)
    (project / "requirements.txt").unlink()
    with pytest.raises(LambdaTasksError, match=r"uv.lock is a uv workspace's lock and this project its member app"):
        build(load_settings(project, {}, {"requirements": "../../uv.lock"}), reporter=Lines())


#: serverless-python-requirements' tests/pipenv/Pipfile (boto3 left out), and the hash pipenv 2026.11.0 locked
#: it with: pipenv now hashes the package names PEP 503-canonical (Flask as flask), plette did not
SPR_PIPFILE = textwrap.dedent("""\
    [[source]]
    url = "https://pypi.org/simple"
    verify_ssl = true
    name = "pypi"

    [packages]
    Flask = "==2.0.3"
    bottle = "*"

    [dev-packages]
    pytest = "*"
""")
SPR_LOCK_HASH = "203dff8cf2d033d01d85c33aa7fbde0dc66a6feb608a9df59c5f3f64551bb8ca"


def test_pipfile_lock_by_pipenv_2026_is_not_stale_for_a_capitalised_name(tmp_path):
    """Flask in the Pipfile: pipenv 2026's hash differs from plette's, and a fresh lock read as stale."""
    from lambda_tasks.sources.pipfile import pipfile_staleness

    (tmp_path / "Pipfile").write_text(SPR_PIPFILE)
    (tmp_path / "Pipfile.lock").write_text(json.dumps({"_meta": {"hash": {"sha256": SPR_LOCK_HASH}}, "default": {}}))
    assert pipfile_hash(tomllib.loads(SPR_PIPFILE), canonical=True) == SPR_LOCK_HASH
    assert not pipfile_staleness(tmp_path / "Pipfile.lock", tmp_path / "Pipfile")
    (tmp_path / "Pipfile").write_text(SPR_PIPFILE.replace('bottle = "*"', 'bottle = "==0.12.25"'))
    assert pipfile_staleness(tmp_path / "Pipfile.lock", tmp_path / "Pipfile")


def test_a_lock_the_search_order_puts_after_requirements_txt_is_said_not_read(tmp_path):
    """uv.lock beside requirements.txt: requirements.txt comes first and is resolved; the build says the lock is
    not read and how to build from it (was silent)."""
    project = make_project(tmp_path / "proj", requirements="alpha\n", pyproject=OFFLINE)
    make_wheel(project / "wheels", "alpha", "1.0")
    (project / "uv.lock").write_text("version = 1\n")
    warnings = []
    reporter = Lines()
    reporter.warn = warnings.append
    build(load_settings(project, {}, {}), reporter=reporter)
    assert warnings == ["dependencies: uv.lock is not read: requirements.txt comes first and is resolved anew, so "
                        "versions may differ from uv.lock's\n    to build as locked: requirements = \"uv.lock\""]
    warnings.clear()
    build(load_settings(project, {}, {"requirements": "requirements.txt"}), force=True, reporter=reporter)
    assert warnings == []  # named by the setting: the user chose it
