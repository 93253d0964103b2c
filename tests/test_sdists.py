"""Source distributions are built with the compiler disabled; every unusable requirement is named, once; the
index options of requirements files reach every step; credentials never show."""

import zipfile
from pathlib import Path

import pytest
from conftest import offline_pyproject
from factory import make_project, make_sdist, make_wheel, resolve_project
from factory_sdists import make_ext_sdist

from lambda_tasks.assemble import build
from lambda_tasks.config import load_settings
from lambda_tasks.errors import ResolveError
from lambda_tasks.report import Reporter
from lambda_tasks.resolve.failures import Failure, failures_error, last_lines
from lambda_tasks.resolve.process import redact
from lambda_tasks.resolve.sdists import NO_COMPILER, build_pip_args, classify
from lambda_tasks.targets import Target


@pytest.fixture
def project(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "purelib", requires=["helperdep"])
    make_wheel(wheelhouse, "helperdep")
    make_wheel(wheelhouse, "top", requires=["missingdep>=1"])
    make_wheel(wheelhouse, "fastlib", version="2.0", tag="cp312-cp312-manylinux_2_35_x86_64")
    make_wheel(wheelhouse, "fastlib", version="2.0", tag="cp312-cp312-musllinux_1_2_x86_64")
    return make_project(tmp_path / "proj", "", pyproject=offline_pyproject(wheelhouse))


def resolve_names(project: Path, requirements: str) -> list[str]:
    (project / "requirements.txt").write_text(requirements)
    settings = load_settings(project, {}, {"runtime": "python3.12"})
    return sorted(path.name for path in resolve_project(settings, Reporter()))


@pytest.mark.slow
def test_optional_speedups_build_pure_with_the_compiler_disabled(project, wheelhouse):
    make_ext_sdist(wheelhouse, "speedups", ext="optional")
    (project / "requirements.txt").write_text("speedups==1.0\npurelib\n")
    manifest = build(load_settings(project, {}, {"runtime": "python3.12"}))
    with zipfile.ZipFile(project / manifest.layers[0].path) as archive:
        assert "python/speedups/__init__.py" in archive.namelist()
        assert all(".so" not in name for name in archive.namelist())


@pytest.mark.slow
def test_a_required_extension_fails_fast_saying_it_needs_a_compiler(project, wheelhouse):
    make_ext_sdist(wheelhouse, "needsc", ext="required")
    with pytest.raises(ResolveError) as error:
        resolve_names(project, "needsc\npurelib\n")
    first, *rest = str(error.value).splitlines()
    assert first == ("needsc (requirements.txt line 1) cannot be installed for python3.12/x86_64: needs a C compiler "
                     "(a compiled extension); lambda-tasks builds without one")
    assert any(NO_COMPILER in line for line in rest)  # the build's own last lines
    assert rest[-1].startswith("  the way out: use a prebuilt wheel for python3.12/x86_64") and "vendor/" in rest[-1]


@pytest.mark.slow
def test_every_unusable_requirement_is_named(project, wheelhouse):
    make_ext_sdist(wheelhouse, "needsc", ext="required")
    with pytest.raises(ResolveError) as error:
        resolve_names(project, "needsc\nfastlib==2.0\npurelib\ntop\n")
    message = str(error.value)
    first = message.splitlines()[0]
    assert first == "3 requirements cannot be installed for python3.12/x86_64: needsc, fastlib, missingdep"
    assert "  needsc (requirements.txt line 1): needs a C compiler" in message
    assert "  fastlib==2.0 (requirements.txt line 2): no distribution fits" in message
    assert "its wheels are only for cp312-manylinux_2_35_x86_64, cp312-musllinux_1_2_x86_64" in message
    assert "python3.12/x86_64 takes cp312, abi3 or pure (py3-none-any) wheels for manylinux up to glibc 2.34" in message
    assert "  missingdep>=1 (from top, requirements.txt line 4): not found" in message
    assert all(line.startswith("  ") for line in message.splitlines()[1:])


@pytest.mark.slow
def test_index_options_in_requirements_files_reach_the_sdist_build(project, tmp_path):
    private = project / "private"
    make_sdist(private, "privsdist")  # only here: pyproject's pip_args know just the wheelhouse
    (project / "requirements").mkdir()
    (project / "requirements" / "base.txt").write_text("--find-links ../private\nprivsdist==1.0\n")
    assert resolve_names(project, "-r requirements/base.txt\npurelib\n") == [
        "helperdep-1.0-py3-none-any.whl", "privsdist-1.0-py3-none-any.whl", "purelib-1.0-py3-none-any.whl"]


@pytest.mark.slow
def test_credentials_in_an_index_url_never_show(tmp_path, capsys):
    project = make_project(tmp_path / "proj", "--index-url http://alice:s3cret-token@127.0.0.1:9/simple\npurelib\n",
                           pyproject='[tool.lambda-tasks]\npip_args = ["--retries", "1", "--timeout", "2"]\n')
    with pytest.raises(ResolveError) as error:
        resolve_project(load_settings(project, {}, {"runtime": "python3.12"}), Reporter())
    captured = capsys.readouterr()
    assert "could not reach the package index" in str(error.value)
    for text in (str(error.value), captured.out, captured.err):
        assert "s3cret" not in text and "alice" not in text


def test_redact_masks_user_and_password():
    assert redact("Looking in indexes: https://alice:****@example.com/simple") == \
        "Looking in indexes: https://***@example.com/simple"
    assert redact("git+https://ghp_token@github.com/org/repo.git and mail@example.com") == \
        "git+https://***@github.com/org/repo.git and mail@example.com"


def test_the_first_line_stays_short_with_many_failures():
    failures = [Failure(f"package-with-a-long-name-{n}==1.0", "failed to build", ("error: x",), "build")
                for n in range(12)]
    lines = str(failures_error(failures, Target("python3.12", "x86_64"))).splitlines()
    assert len(lines[0]) < 160 and lines[0].startswith("12 requirements cannot be installed for python3.12/x86_64")
    assert lines[1:3] == ["  package-with-a-long-name-0==1.0: failed to build", "    error: x"]


def test_how_a_build_failure_is_told():
    compiler = f"  error: command '{NO_COMPILER}' failed: Not a directory\n"
    assert classify("a", compiler).advice == "compiled"
    assert classify("a", "ERROR: No matching distribution found for a\n").summary == "no source distribution"
    assert classify("g", "ERROR: Cannot find command 'git' - do you have 'git' installed?\n", remote=True).summary \
        == "cannot be fetched: git is not installed here"
    fetch = "  fatal: unable to access 'https://h/x/': Could not resolve host: h\n"
    assert classify("g", fetch, remote=True).summary == "cannot be fetched: no network (the host did not answer)"
    broken = "  [3 lines of output]\n  running build\n  error: pg_config executable not found\n  [end of output]\n"
    assert classify("p", broken).summary == "failed to build"
    assert last_lines(broken) == ("running build", "error: pg_config executable not found")
    assert build_pip_args(["--no-index", "--platform", "x", "--only-binary=:all:", "-f", "w"]) == [
        "--no-index", "-f", "w"]


@pytest.mark.pypi
@pytest.mark.slow
def test_markupsafe_1_1_1_builds_pure_for_python311(tmp_path, monkeypatch):
    project = make_project(tmp_path / "proj", "MarkupSafe==1.1.1\n")
    wheels = resolve_project(load_settings(project, {}, {"runtime": "python3.11"}), Reporter())
    assert [wheel.name for wheel in wheels] == ["markupsafe-1.1.1-py3-none-any.whl"]
