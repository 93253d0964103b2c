"""Environment markers are evaluated for the target, not this host: real pip, run through fastpip."""

import os
import subprocess
import sys

import pytest
from factory import make_wheel

from lambda_tasks.checks.closure import check_closure, read_metadata
from lambda_tasks.resolve.fastpip import MARKER_ERROR, MARKER_EXIT_CODE, MARKERS_VARIABLE, marker_env_variable
from lambda_tasks.targets import Target

HOST = sys.version_info[:2]


def download(tmp_path, target, requirements, index=None, markers=True, extra_env=None):
    """``fastpip download`` of ``requirements`` (-r file lines) for ``target``: the names of the wheels it fetched."""
    dest = tmp_path / f"dest-{target.runtime}-{target.arch}-{markers}"
    requirements_file = tmp_path / "requirements.txt"
    requirements_file.write_text("\n".join(requirements) + "\n")
    source = ["--no-index", "--find-links", str(index)] if index else []
    command = [sys.executable, "-W", "ignore", "-m", "lambda_tasks.resolve.fastpip", "download", "--no-input",
               "--disable-pip-version-check", "-d", str(dest), "-r", str(requirements_file), *source,
               *target.pip_target_args()]
    env = {**os.environ, **(marker_env_variable(target) if markers else {}), **(extra_env or {})}
    if not markers:
        env.pop(MARKERS_VARIABLE, None)
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return sorted(path.name.split("-")[0] for path in dest.iterdir()), dest


@pytest.fixture
def index(wheelhouse):
    make_wheel(wheelhouse, "app", requires=['backport; python_version < "3.11"',
                                            'x86only; platform_machine == "x86_64"',
                                            'armonly; platform_machine == "aarch64"',
                                            'fast; extra == "speed" and python_version >= "3.12"',
                                            "dev; extra == 'dev'\nProvides-Extra: speed"])  # a header of its own
    for name in ("backport", "x86only", "armonly", "fast"):
        make_wheel(wheelhouse, name)
    for version in ("1.0", "2.0"):
        make_wheel(wheelhouse, "lib", version=version)
    return wheelhouse


def test_marker_environment():
    env = Target("python3.10", "arm64").marker_environment()
    assert env == {
        "implementation_name": "cpython", "implementation_version": "3.10.0", "os_name": "posix",
        "platform_machine": "aarch64", "platform_python_implementation": "CPython", "platform_release": "",
        "platform_system": "Linux", "platform_version": "", "python_full_version": "3.10.0",
        "python_version": "3.10", "sys_platform": "linux",
    }
    from packaging.markers import Marker, default_environment

    assert set(env) == set(default_environment())
    assert Marker('python_full_version >= "3.12" and platform_machine == "x86_64"').evaluate(
        Target("python3.12", "x86_64").marker_environment())


@pytest.mark.slow
def test_dependency_markers_follow_the_target_python(tmp_path, index):
    for_310, dest = download(tmp_path, Target("python3.10", "x86_64"), ["app"], index)
    assert for_310 == ["app", "backport", "x86only"]
    for_312, _ = download(tmp_path, Target("python3.12", "x86_64"), ["app"], index)
    assert for_312 == ["app", "x86only"]
    if HOST >= (3, 11):  # the bug: plain pip asks this host's python_version
        plain, _ = download(tmp_path, Target("python3.10", "x86_64"), ["app"], index, markers=False)
        assert plain == ["app", "x86only"]
    env = Target("python3.10", "x86_64").marker_environment()  # and the closure check agrees with pip
    assert check_closure(["app"], env, [read_metadata(path) for path in dest.iterdir()]).ok


@pytest.mark.slow
def test_requirement_lines_follow_the_target_python(tmp_path, index):
    lines = ['lib==1.0; python_version == "3.11"', 'lib==2.0; python_version == "3.12"']
    assert download(tmp_path, Target("python3.12", "arm64"), lines, index)[1].joinpath("lib-2.0-py3-none-any.whl") \
        .is_file()
    assert download(tmp_path, Target("python3.11", "arm64"), lines, index)[1].joinpath("lib-1.0-py3-none-any.whl") \
        .is_file()


@pytest.mark.slow
def test_platform_machine_follows_the_target_arch(tmp_path, index):
    assert download(tmp_path, Target("python3.12", "arm64"), ["app"], index)[0] == ["app", "armonly"]
    assert download(tmp_path, Target("python3.12", "x86_64"), ["app"], index)[0] == ["app", "x86only"]


@pytest.mark.slow
def test_extras_markers_follow_the_target(tmp_path, index):
    assert download(tmp_path, Target("python3.12", "arm64"), ["app[speed]"], index)[0] == ["app", "armonly", "fast"]
    assert download(tmp_path, Target("python3.10", "arm64"), ["app[speed]"], index)[0] == [
        "app", "armonly", "backport"]


def test_pkg_resources_backend_too(tmp_path, index):
    backend = {"_PIP_USE_IMPORTLIB_METADATA": "0"}  # what pip uses on a python3.10 host
    assert download(tmp_path, Target("python3.10", "arm64"), ["app"], index, extra_env=backend)[0] == [
        "app", "armonly", "backport"]


def run_fastpip(env_value, prelude=""):
    code = prelude + "import sys; sys.argv[1:] = ['download', '--no-index', 'nothing']\n" \
                     "from lambda_tasks.resolve.fastpip import main; main()\n"
    env = {**os.environ, MARKERS_VARIABLE: env_value}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


@pytest.mark.slow
def test_a_bad_environment_stops_pip():
    result = run_fastpip('{"python_version": 3}')
    assert result.returncode == MARKER_EXIT_CODE and result.stderr.startswith(MARKER_ERROR)
    assert "not an object of strings" in result.stderr and result.stdout == ""
    assert "lacks" in run_fastpip('{"python_version": "3.12"}').stderr


@pytest.mark.slow
def test_a_changed_pip_stops_instead_of_resolving_for_the_host():
    value = marker_env_variable(Target("python3.12", "arm64"))[MARKERS_VARIABLE]
    changed = ("from pip._vendor.packaging import markers\n"
               "markers.Marker.evaluate = lambda self, environment=None: True\n")
    result = run_fastpip(value, changed)
    assert result.returncode == MARKER_EXIT_CODE
    assert result.stderr.startswith(f"{MARKER_ERROR} with this pip (version ")
    assert "no longer evaluates through default_environment()" in result.stderr
    grown = ("from pip._vendor.packaging import markers\nplain = markers.default_environment\n"
             "markers.default_environment = lambda: {**plain(), 'platform_libc': 'glibc'}\n")
    result = run_fastpip(value, grown)  # a marker name the target does not give would be evaluated for the host
    assert result.returncode == MARKER_EXIT_CODE and "platform_libc" in result.stderr


@pytest.mark.pypi
def test_anyio_for_python310_has_its_backports(tmp_path):
    names, dest = download(tmp_path, Target("python3.10", "x86_64"), ["anyio==4.6.2"])
    assert {"anyio", "exceptiongroup", "typing_extensions", "idna", "sniffio"} <= set(names)
    env = Target("python3.10", "x86_64").marker_environment()
    assert check_closure(["anyio==4.6.2"], env, [read_metadata(path) for path in dest.iterdir()]).ok
