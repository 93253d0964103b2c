"""Requirements named by location (./pkg, -e, file://, name @ file://, git+...) are built, shipped and resolved."""

import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import offline_pyproject
from factory import make_project, make_wheel, resolve_project
from factory_sdists import make_git_repo, make_local_project

from lambda_tasks.assemble import build
from lambda_tasks.config import load_settings
from lambda_tasks.errors import ResolveError
from lambda_tasks.report import Reporter
from lambda_tasks.resolve import local as local_module

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "helperdep")
    make_wheel(wheelhouse, "otherdep")
    make_local_project(tmp_path / "proj" / "pkgs" / "localpkg", "localpkg", "1.2", requires=["helperdep"],
                       source="def hello():\n    return 'local'\n")
    return make_project(tmp_path / "proj", "", pyproject=offline_pyproject(wheelhouse))


def resolved(project: Path, requirements: str, capsys=None, **flags) -> list[str]:
    (project / "requirements.txt").write_text(requirements)
    settings = load_settings(project, {}, {"runtime": "python3.12", **flags})
    return sorted(path.name for path in resolve_project(settings, Reporter()))


def test_a_local_directory_is_built_shipped_and_its_dependencies_resolved(project):
    (project / "requirements.txt").write_text("./pkgs/localpkg\notherdep\n")
    manifest = build(load_settings(project, {}, {"runtime": "python3.12"}))
    with zipfile.ZipFile(project / manifest.layers[0].path) as archive:
        names = archive.namelist()
        assert archive.read("python/localpkg/__init__.py") == b"def hello():\n    return 'local'\n"
    assert "python/helperdep/__init__.py" in names and "python/otherdep/__init__.py" in names
    assert "localpkg" in manifest.layers[0].distributions


@pytest.mark.parametrize("line", [
    "pkgs/localpkg",
    "./pkgs/localpkg/",
    "{abs}",
    "file://{abs}",
    "localpkg @ file://{abs}",
    "./pkgs/localpkg[extra] ; python_version >= '3.11'",
])
def test_every_spelling_of_a_local_directory(project, line):
    directory = (project / "pkgs" / "localpkg").resolve()
    names = resolved(project, line.format(abs=directory) + "\n")
    assert names == ["helperdep-1.0-py3-none-any.whl", "localpkg-1.2-py3-none-any.whl"]


def test_editable_ships_a_normal_install_with_a_note(project, capsys):
    assert "localpkg-1.2-py3-none-any.whl" in resolved(project, "-e ./pkgs/localpkg\n")
    out = capsys.readouterr().out
    assert "-e ./pkgs/localpkg (requirements.txt line 1) ships as a normal install" in out


def test_a_marker_that_leaves_it_out_for_the_target(project):
    assert resolved(project, "./pkgs/localpkg ; python_version < '3.12'\notherdep\n") == [
        "otherdep-1.0-py3-none-any.whl"]


def test_paths_count_from_the_file_that_names_them(project):
    (project / "requirements").mkdir()
    (project / "requirements" / "local.txt").write_text("../pkgs/localpkg\n")
    assert "localpkg-1.2-py3-none-any.whl" in resolved(project, "-r requirements/local.txt\n")


def test_a_missing_directory_is_an_error_naming_it(project):
    with pytest.raises(ResolveError) as error:
        resolved(project, "./pkgs/nothere\notherdep\n")
    first = str(error.value).splitlines()[0]
    assert first.startswith("./pkgs/nothere cannot be installed for python3.12/x86_64") and len(first) < 160
    assert "pkgs/nothere does not exist" in first


def test_a_local_package_with_a_c_extension_needs_a_compiler(project, tmp_path):
    make_local_project(project / "pkgs" / "native", "nativelocal", ext="required")
    with pytest.raises(ResolveError) as error:
        resolved(project, "./pkgs/native\n./pkgs/localpkg\n")
    message = str(error.value)
    first = message.splitlines()[0]
    assert first == "./pkgs/native cannot be installed for python3.12/x86_64: needs a C compiler (a compiled " \
                    "extension); lambda-tasks builds without one"
    assert "lambda-tasks-no-compiler" in message and "prebuilt wheel" in message and "vendor/" in message


def test_a_local_package_with_optional_speedups_builds_pure(project):
    make_local_project(project / "pkgs" / "speedy", "speedy", ext="optional")
    assert resolved(project, "./pkgs/speedy\n") == ["speedy-1.0-py3-none-any.whl"]


def test_resolving_again_picks_up_a_changed_local_package(project):
    directory = project / "pkgs" / "localpkg"
    first = resolved(project, "./pkgs/localpkg\n")
    make_local_project(directory, "localpkg", "1.3", requires=["otherdep"])
    again = resolved(project, "./pkgs/localpkg\n")  # same requirements.txt: the resolution is not reused
    assert first != again and "localpkg-1.3-py3-none-any.whl" in again and "otherdep-1.0-py3-none-any.whl" in again


@pytest.mark.skipif(not shutil.which("git"), reason="git is not installed")
def test_a_git_requirement_is_built(project, tmp_path):
    repo = make_git_repo(tmp_path / "repo", "gitpkg", "0.3", requires=["helperdep"])
    names = resolved(project, f"git+{repo.as_uri()}@main#egg=gitpkg\n")
    assert names == ["gitpkg-0.3-py3-none-any.whl", "helperdep-1.0-py3-none-any.whl"]


@pytest.mark.skipif(not shutil.which("git"), reason="git is not installed")
def test_a_git_requirement_that_cannot_be_fetched_is_named_with_the_cause(project, tmp_path):
    with pytest.raises(ResolveError) as error:
        resolved(project, f"git+{(tmp_path / 'no-such-repo').as_uri()}#egg=gone\notherdep\n")
    first = str(error.value).splitlines()[0]
    assert first.startswith("git+file://") and "cannot be fetched: not found" in first


def test_a_git_requirement_without_git_says_so(project, monkeypatch):
    monkeypatch.setattr(local_module.shutil, "which", lambda *args, **kwargs: None)
    with pytest.raises(ResolveError, match="cannot be fetched: git is not installed here"):
        resolved(project, "git+https://example.invalid/x.git#egg=x\n")


def test_uv_hands_local_requirements_to_pip(project, capsys):
    names = resolved(project, "./pkgs/localpkg\n", installer="uv")
    assert "localpkg-1.2-py3-none-any.whl" in names
    assert "resolving with pip, which builds them" in capsys.readouterr().out


def test_an_edit_in_a_local_requirement_makes_the_layers_stale(tmp_path, wheelhouse):
    from factory import layers_key as layers_fingerprint

    from lambda_tasks.config import load_settings

    root = make_project(tmp_path / "proj", "./libs/mylib\n", pyproject=offline_pyproject(wheelhouse))
    lib = root / "libs" / "mylib"
    (lib / "mylib").mkdir(parents=True)
    (lib / "mylib" / "__init__.py").write_text("X = 1\n")
    (lib / "pyproject.toml").write_text('[project]\nname = "mylib"\nversion = "1.0"\n')
    settings = load_settings(root, {}, {"runtime": "python3.12"})
    before = layers_fingerprint(settings)
    (lib / "build").mkdir()
    (lib / "build" / "junk.txt").write_text("written by a build")
    assert layers_fingerprint(settings) == before  # what building writes is not an input
    (lib / "mylib" / "__init__.py").write_text("X = 2\n")
    assert layers_fingerprint(settings) != before
