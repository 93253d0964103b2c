"""Where the dependencies come from: the search order, pyproject.toml's dependencies (extras, groups), and the
lock files read as data (markers for the target, extras, groups, staleness)."""

import textwrap
from pathlib import Path

import pytest

from lambda_tasks.errors import ResolveError, SettingsError
from lambda_tasks.sources.locks import read_pylock, read_uv_lock
from lambda_tasks.sources.project import find_source, project_requirements
from lambda_tasks.sources.uv_staleness import uv_lock_staleness
from lambda_tasks.targets import Target

PYPROJECT = textwrap.dedent("""\
    [project]
    name = "app"
    version = "0.1.0"
    dependencies = ["alpha==1.0", "armonly; platform_machine == 'aarch64'", "app[cli]"]

    [project.optional-dependencies]
    cli = ["clicky>=2"]
    extra-two = ["two"]

    [dependency-groups]
    test = ["pytest"]
    dev = ["ruff", {include-group = "test"}]

    [tool.lambda-tasks]
    runtime = "python3.12"
""")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_search_order_and_the_named_source(tmp_path):
    assert find_source(tmp_path, None) is None
    _write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n[tool.lambda-tasks]\nslim = true\n")
    assert find_source(tmp_path, None) is None  # no [project] dependencies: no source
    _write(tmp_path / "pyproject.toml", PYPROJECT)
    assert find_source(tmp_path, None).kind == "pyproject"
    _write(tmp_path / "uv.lock", "version = 1\n")
    assert find_source(tmp_path, None).kind == "uv.lock"
    _write(tmp_path / "pylock.toml", "lock-version = '1.0'\n")
    assert find_source(tmp_path, None).kind == "pylock"
    _write(tmp_path / "requirements.txt", "alpha\n")
    found = find_source(tmp_path, None)
    assert (found.kind, found.path.name, found.searched) == ("requirements", "requirements.txt", True)
    assert "requirements.txt (found in the project)" in found.describe(tmp_path)
    named = find_source(tmp_path, "uv.lock")
    assert (named.kind, named.searched) == ("uv.lock", False)
    _write(tmp_path / "pylock.prod.toml", "lock-version = '1.0'\n")
    assert find_source(tmp_path, "pylock.prod.toml").kind == "pylock"
    with pytest.raises(ResolveError, match="does not exist; check the requirements setting"):
        find_source(tmp_path, "nope.txt")


def test_pyproject_dependencies_extras_and_groups(tmp_path):
    path = _write(tmp_path / "pyproject.toml", PYPROJECT)
    # the self-reference app[cli] adds the cli extra; [tool.lambda-tasks] is never a dependency
    assert project_requirements(path) == ["alpha==1.0", "armonly; platform_machine == 'aarch64'", "clicky>=2"]
    assert {"two", "clicky>=2"} <= set(project_requirements(path, extras=["Extra_Two"]))
    assert project_requirements(path, groups=["dev"])[-2:] == ["ruff", "pytest"]
    with pytest.raises(SettingsError, match=r"extra 'nope' is not in .*\n    it has: cli, extra-two"):
        project_requirements(path, extras=["nope"])
    with pytest.raises(SettingsError, match=r"dependency group 'lint' is not in"):
        project_requirements(path, groups=["lint"])
    dynamic = _write(tmp_path / "d" / "pyproject.toml", "[project]\nname = 'd'\ndynamic = ['dependencies']\n")
    with pytest.raises(SettingsError, match="dynamic"):
        project_requirements(dynamic)


PYLOCK = """\
    lock-version = "1.0"
    created-by = "tests"
    extras = ["cli"]
    dependency-groups = ["dev"]
    default-groups = ["dev"]

    [[packages]]
    name = "alpha"
    version = "1.0"
    wheels = [{ name = "alpha-1.0-py3-none-any.whl", path = "w/alpha-1.0-py3-none-any.whl", hashes = { sha256 = "aa" } }]

    [[packages]]
    name = "armonly"
    version = "2.0"
    marker = "platform_machine == 'aarch64'"
    wheels = [{ url = "https://x.invalid/armonly-2.0-py3-none-any.whl", hashes = { sha256 = "bb" } }]

    [[packages]]
    name = "oldpy"
    version = "1.0"
    marker = "python_version < '3.11'"
    wheels = [{ url = "https://x.invalid/oldpy-1.0-py3-none-any.whl", hashes = { sha256 = "cc" } }]

    [[packages]]
    name = "clicky"
    version = "3.0"
    marker = "'cli' in extras"
    wheels = [{ url = "https://x.invalid/clicky-3.0-py3-none-any.whl", hashes = { sha256 = "dd" } }]

    [[packages]]
    name = "devtool"
    version = "1.0"
    marker = "'dev' in dependency_groups"
    wheels = [{ url = "https://x.invalid/devtool-1.0-py3-none-any.whl", hashes = { sha256 = "ee" } }]
"""


def _names(packages):
    return [(p.name, p.version) for p in packages]


def test_pylock_markers_per_target_extras_and_groups(tmp_path):
    path = _write(tmp_path / "pylock.toml", PYLOCK)
    x86 = Target("python3.12", "x86_64").marker_environment()
    arm10 = Target("python3.10", "arm64").marker_environment()
    assert _names(read_pylock(path, x86)) == [("alpha", "1.0")]
    assert _names(read_pylock(path, arm10)) == [("alpha", "1.0"), ("armonly", "2.0"), ("oldpy", "1.0")]
    assert _names(read_pylock(path, x86, extras=["cli"], groups=["dev"])) == [
        ("alpha", "1.0"), ("clicky", "3.0"), ("devtool", "1.0")]
    alpha = read_pylock(path, x86)[0]
    assert alpha.wheels[0].location == str((tmp_path / "w" / "alpha-1.0-py3-none-any.whl").resolve())
    assert alpha.wheels[0].sha256 == "aa"
    with pytest.raises(SettingsError, match="does not lock the extras nope"):
        read_pylock(path, x86, extras=["nope"])
    bad = _write(tmp_path / "bad" / "pylock.toml", "created-by = 'x'\n[[packages]]\nname = 'a'\n")
    with pytest.raises(SettingsError, match=r"not a valid pylock\.toml"):
        read_pylock(bad, x86)


UV_LOCK = """\
    version = 1
    revision = 3
    requires-python = ">=3.10"

    [[package]]
    name = "app"
    version = "0.1.0"
    source = { virtual = "." }
    dependencies = [
        { name = "alpha" },
        { name = "armonly", marker = "platform_machine == 'aarch64'" },
        { name = "oldpy", marker = "python_full_version < '3.11'" },
    ]

    [package.optional-dependencies]
    cli = [{ name = "clicky" }]

    [package.dev-dependencies]
    dev = [{ name = "devtool" }]

    [package.metadata]
    requires-dist = [
        { name = "alpha", specifier = "==1.0" },
        { name = "armonly", marker = "platform_machine == 'aarch64'" },
        { name = "clicky", marker = "extra == 'cli'" },
        { name = "oldpy", marker = "python_full_version < '3.11'" },
    ]
    provides-extras = ["cli"]

    [package.metadata.requires-dev]
    dev = [{ name = "devtool" }]

    [[package]]
    name = "alpha"
    version = "1.0"
    source = { registry = "https://x.invalid/simple" }
    dependencies = [{ name = "beta", extra = ["fast"] }]
    wheels = [{ url = "https://x.invalid/alpha-1.0-py3-none-any.whl", hash = "sha256:aa", size = 10 }]

    [[package]]
    name = "beta"
    version = "1.0"
    source = { registry = "https://x.invalid/simple" }
    sdist = { url = "https://x.invalid/beta-1.0.tar.gz", hash = "sha256:bb", size = 5 }

    [package.optional-dependencies]
    fast = [{ name = "gamma" }]

    [[package]]
    name = "gamma"
    version = "1.0"
    source = { registry = "https://x.invalid/simple" }
    wheels = [{ url = "https://x.invalid/gamma-1.0-py3-none-any.whl", hash = "sha256:cc" }]

    [[package]]
    name = "armonly"
    version = "2.0"
    source = { registry = "https://x.invalid/simple" }
    wheels = [{ url = "https://x.invalid/armonly-2.0-py3-none-any.whl", hash = "sha256:dd" }]

    [[package]]
    name = "oldpy"
    version = "1.0"
    source = { registry = "https://x.invalid/simple" }
    wheels = [{ url = "https://x.invalid/oldpy-1.0-py3-none-any.whl", hash = "sha256:ee" }]

    [[package]]
    name = "clicky"
    version = "3.0"
    source = { registry = "https://x.invalid/simple" }
    wheels = [{ url = "https://x.invalid/clicky-3.0-py3-none-any.whl", hash = "sha256:ff" }]

    [[package]]
    name = "devtool"
    version = "1.0"
    source = { registry = "https://x.invalid/simple" }
    wheels = [{ url = "https://x.invalid/devtool-1.0-py3-none-any.whl", hash = "sha256:11" }]
"""

UV_PYPROJECT = """\
    [project]
    name = "app"
    version = "0.1.0"
    dependencies = ["alpha==1.0", "armonly; platform_machine == 'aarch64'", "oldpy; python_full_version < '3.11'"]

    [project.optional-dependencies]
    cli = ["clicky"]

    [dependency-groups]
    dev = ["devtool"]
"""


def test_uv_lock_walks_from_the_root_for_the_target(tmp_path):
    path = _write(tmp_path / "uv.lock", UV_LOCK)
    x86 = Target("python3.12", "x86_64").marker_environment()
    arm10 = Target("python3.10", "arm64").marker_environment()
    # the root (virtual ".") is the app: never listed; beta[fast] brings gamma
    assert _names(read_uv_lock(path, x86)) == [("alpha", "1.0"), ("beta", "1.0"), ("gamma", "1.0")]
    assert [n for n, _ in _names(read_uv_lock(path, arm10))] == ["alpha", "armonly", "beta", "gamma", "oldpy"]
    assert [n for n, _ in _names(read_uv_lock(path, x86, ["cli"], ["dev"]))] == [
        "alpha", "beta", "clicky", "devtool", "gamma"]
    beta = next(p for p in read_uv_lock(path, x86) if p.name == "beta")
    assert beta.wheels == () and beta.sdist.sha256 == "bb"
    with pytest.raises(SettingsError, match="locks no dependency group 'lint'"):
        read_uv_lock(path, x86, groups=["lint"])


def test_uv_lock_staleness(tmp_path):
    lock = _write(tmp_path / "uv.lock", UV_LOCK)
    pyproject = _write(tmp_path / "pyproject.toml", UV_PYPROJECT)
    assert uv_lock_staleness(lock, pyproject) is None
    pyproject.write_text(textwrap.dedent(UV_PYPROJECT).replace("alpha==1.0", "alpha==2.0"))
    assert uv_lock_staleness(lock, pyproject) == "[project] dependencies"
    pyproject.write_text(textwrap.dedent(UV_PYPROJECT).replace('cli = ["clicky"]', 'cli = ["clicky", "more"]'))
    assert uv_lock_staleness(lock, pyproject) == "[project] dependencies"
    pyproject.write_text(textwrap.dedent(UV_PYPROJECT).replace('dev = ["devtool"]', 'dev = ["devtool", "x"]'))
    assert uv_lock_staleness(lock, pyproject) == "[dependency-groups] dev"
