"""installer = "uv": uv resolves for the target, the same wheels land in the layer as with pip."""

from __future__ import annotations

import hashlib
import shutil
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import lambda_layout, offline_pyproject, run_handler
from factory import make_project, make_sdist, make_wheel, resolve_project

from lambda_tasks.assemble import build
from lambda_tasks.config import load_settings
from lambda_tasks.errors import ResolveError
from lambda_tasks.report import Reporter
from lambda_tasks.resolve import uv as uv_module
from lambda_tasks.targets import Target

HAS_UV = bool(shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent)))
needs_uv = pytest.mark.skipif(not HAS_UV, reason="uv is not installed (pip install uv, or the test extra)")


def listening() -> tuple[Reporter, list[str]]:
    """A quiet reporter whose info lines are kept, to assert on."""
    lines: list[str] = []
    reporter = Reporter(quiet=True)
    reporter.info = lines.append  # type: ignore[method-assign]
    return reporter, lines


@pytest.fixture
def wheels(wheelhouse: Path) -> Path:
    make_wheel(wheelhouse, "purelib", requires=["helperdep"])
    make_wheel(wheelhouse, "helperdep")
    for tag, arch in [("cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64", "x86_64"),
                      ("cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64", "aarch64"),
                      ("cp312-abi3-manylinux_2_17_x86_64", "abi3"), ("py3-none-any", "pure")]:
        make_wheel(wheelhouse, "fastlib", tag=tag, files={"fastlib/__init__.py": f"ARCH = {arch!r}\n"})
    make_wheel(wheelhouse, "fastlib", version="2.0", tag="cp312-cp312-manylinux_2_35_x86_64",  # too new for AL2023
               files={"fastlib/__init__.py": "ARCH = 'too new'\n"})
    return wheelhouse


def _project(root: Path, wheelhouse: Path, installer: str, requirements: str = "purelib\nfastlib\n") -> Path:
    app = "import purelib, fastlib\n\ndef handler(event, context):\n    return [purelib.NAME, fastlib.ARCH]\n"
    extra = f'installer = "{installer}"\nlayer_name = "deps"\n'
    return make_project(root, requirements, app=app, pyproject=offline_pyproject(wheelhouse, extra))


@needs_uv
@pytest.mark.slow
@pytest.mark.parametrize("arch, expected", [("x86_64", "x86_64"), ("arm64", "aarch64")])
def test_uv_builds_the_same_layer_as_pip(wheels, tmp_path, monkeypatch, arch, expected):
    digests = {}
    for installer in ("uv", "pip"):
        monkeypatch.setenv("LAMBDA_TASKS_CACHE", str(tmp_path / f"cache-{installer}"))
        project = _project(tmp_path / installer, wheels, installer)
        manifest = build(load_settings(project, {}, {"runtime": "python3.12", "arch": arch}))
        layer = project / manifest.layers[0].path
        digests[installer] = hashlib.sha256(layer.read_bytes()).hexdigest()
        with zipfile.ZipFile(layer) as archive:
            assert archive.read("python/fastlib/__init__.py") == f"ARCH = {expected!r}\n".encode()
    assert digests["uv"] == digests["pip"]


@needs_uv
def test_uv_leaves_one_wheel_per_distribution_and_the_app_imports(wheels, tmp_path):
    project = _project(tmp_path / "proj", wheels, "uv")
    settings = load_settings(project, {}, {"runtime": "python3.12"})
    found = resolve_project(settings, Reporter(quiet=True))
    assert sorted(path.name.split("-")[0] for path in found) == ["fastlib", "helperdep", "purelib"]
    assert next(p for p in found if p.name.startswith("fastlib")).name == \
        "fastlib-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    manifest = build(settings)
    task, opt = lambda_layout(tmp_path / "lambda", project / manifest.app.path,
                              [project / layer.path for layer in manifest.layers])
    result = run_handler(task, opt, "import app; print(app.handler({}, None))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['purelib', 'x86_64']"


@needs_uv
def test_uv_reuses_cached_wheels_on_a_forced_resolve(wheels, tmp_path):
    project = _project(tmp_path / "proj", wheels, "uv")
    settings = load_settings(project, {}, {"runtime": "python3.12"})
    first = resolve_project(settings, Reporter(quiet=True))
    inode = {path.name: path.stat().st_ino for path in first}
    again = resolve_project(settings, Reporter(quiet=True), refresh=True)
    assert {path.name: path.stat().st_ino for path in again} == inode


@needs_uv
def test_uv_unknown_package_is_one_line_naming_it(wheels, tmp_path):
    project = _project(tmp_path / "proj", wheels, "uv", requirements="no-such-package-xyz\n")
    with pytest.raises(ResolveError) as error:
        build(load_settings(project, {}, {"runtime": "python3.12"}), reporter=Reporter(quiet=True))
    message = str(error.value)
    assert "no-such-package-xyz" in message and "\n" not in message


@needs_uv
@pytest.mark.slow
def test_uv_falls_back_to_pip_for_a_pure_sdist(wheels, tmp_path):
    make_sdist(wheels, "onlysdist")
    project = _project(tmp_path / "proj", wheels, "uv", requirements="onlysdist\npurelib\n")
    manifest = build(load_settings(project, {}, {"runtime": "python3.12"}), reporter=Reporter(quiet=True))
    with zipfile.ZipFile(project / manifest.layers[0].path) as archive:
        assert any(name.startswith("python/onlysdist") for name in archive.namelist())


def test_missing_uv_says_what_to_do(wheels, tmp_path, monkeypatch):
    monkeypatch.setattr(uv_module.shutil, "which", lambda *args, **kwargs: None)
    project = _project(tmp_path / "proj", wheels, "uv")
    with pytest.raises(ResolveError, match=r'install uv .* or set installer = "pip"'):
        build(load_settings(project, {}, {"runtime": "python3.12"}), reporter=Reporter(quiet=True))


def test_uv_platform_is_the_newest_the_runtime_has():
    assert uv_module.uv_platform(Target("python3.11", "x86_64")) == "x86_64-manylinux_2_17"
    assert uv_module.uv_platform(Target("python3.12", "arm64")) == "aarch64-manylinux_2_34"


def test_uv_resolves_for_the_platform_that_covers_the_runtime():
    assert uv_module.covering_platform(Target("python3.11", "x86_64")) == "x86_64-manylinux_2_28"
    assert uv_module.covering_platform(Target("python3.12", "arm64")) == "aarch64-manylinux_2_34"


def test_uv_is_given_pips_options_and_when_standing_in_for_pip_none_of_its_own(monkeypatch):
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/more")
    monkeypatch.setenv("PIP_CERT", "/ca.pem")
    monkeypatch.setenv("UV_INDEX_URL", "https://uvs-own/simple")
    args, env = uv_module.uv_settings(["--index-url", "https://a/simple", "--extra-index-url=https://b/simple",
                                       "--no-index"], isolated=True)
    assert args == ["--find-links", "/opt/more", "--index-url", "https://a/simple", "--extra-index-url",
                    "https://b/simple", "--no-index", "--index-strategy", "unsafe-best-match", "--no-config"]
    assert env["SSL_CERT_FILE"] == "/ca.pem" and "UV_INDEX_URL" not in env
    args, env = uv_module.uv_settings([], isolated=False)
    assert "--no-config" not in args and env["UV_INDEX_URL"] == "https://uvs-own/simple"


@needs_uv
@pytest.mark.parametrize("installer", ["auto", "uv"])
def test_a_release_the_runtime_cannot_load_sends_the_resolution_to_pip(wheelhouse, tmp_path, installer):
    """python3.11 (glibc 2.26): uv resolves as manylinux_2_28 and picks fastlib 2.0, whose only wheel needs
    glibc 2.28; pip, told every tag the runtime accepts, takes 1.0. Never 2.0, never an error."""
    make_wheel(wheelhouse, "fastlib", tag="cp311-cp311-manylinux_2_17_x86_64",
               files={"fastlib/__init__.py": "ARCH = 'x86_64'\n"})
    make_wheel(wheelhouse, "fastlib", version="2.0", tag="cp311-cp311-manylinux_2_28_x86_64",
               files={"fastlib/__init__.py": "ARCH = 'glibc 2.28'\n"})
    make_wheel(wheelhouse, "purelib")
    project = _project(tmp_path / "p", wheelhouse, installer)
    reporter, lines = listening()
    manifest = build(load_settings(project, {}, {"runtime": "python3.11"}), reporter=reporter)
    with zipfile.ZipFile(project / manifest.layers[0].path) as archive:
        assert archive.read("python/fastlib/__init__.py") == b"ARCH = 'x86_64'\n"
    assert any("uv chose fastlib 2.0" in line and "resolving with pip" in line for line in lines), lines


@needs_uv
def test_auto_gives_uv_the_indexes_of_pips_configuration_file(wheels, tmp_path, monkeypatch):
    """No pip_args: the wheelhouse is named only in a pip.conf; uv, standing in for pip, must use it."""
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nno-index = true\nfind-links = {wheels.as_posix()}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    app = "import purelib, fastlib\n\ndef handler(event, context):\n    return [purelib.NAME, fastlib.ARCH]\n"
    project = make_project(tmp_path / "p", "purelib\nfastlib\n", app=app,
                           pyproject='[tool.lambda-tasks]\nlayer_name = "deps"\n')
    reporter, lines = listening()
    manifest = build(load_settings(project, {}, {"runtime": "python3.12"}), reporter=reporter)
    with zipfile.ZipFile(project / manifest.layers[0].path) as archive:
        assert archive.read("python/fastlib/__init__.py") == b"ARCH = 'x86_64'\n"
    assert not any("with pip" in line for line in lines), lines


def test_auto_says_why_pip_resolves(wheels, tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_KEYRING_PROVIDER", "disabled")
    project = _project(tmp_path / "p", wheels, "auto")
    reporter, lines = listening()
    build(load_settings(project, {}, {"runtime": "python3.12"}), reporter=reporter)
    assert "resolve: with pip (pip option(s) keyring-provider with no uv equivalent)" in lines, lines
