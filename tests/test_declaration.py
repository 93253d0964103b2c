"""The dependency source is read once per build into one value (sources/declaration.py) that every stage takes:
its lines with where each comes from, constraints, index options, find-links, --hash pins, roots, and the
digest of every local input. No stage reads the source again (tests/test_locks_sources_only.py checks the code)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from factory import declared, make_project, make_wheel

from lambda_tasks.config import load_settings
from lambda_tasks.errors import ResolveError, SettingsError


def _settings(root: Path, **flags: object):
    return load_settings(root, {}, {"runtime": "python3.12", **flags})


def test_a_requirements_file_with_its_includes_read_once(tmp_path):
    root = make_project(tmp_path / "p", "-r base.txt\n-c constraints.txt\n--find-links wheels\n"
                                       "--index-url https://user:${TOKEN}@example.invalid/simple\nalpha[x]>=1 ; "
                                       "python_version >= '3.8' --hash=sha256:AA\n./libs/own\n")
    (root / "base.txt").write_text("beta==2\n")
    (root / "constraints.txt").write_text("gamma<3 --hash=sha256:bb\n")
    make_wheel(root / "wheels", "beta", "2")
    (root / "libs" / "own").mkdir(parents=True)
    (root / "libs" / "own" / "setup.py").write_text("from setuptools import setup\nsetup(name='own')\n")
    declaration = declared(_settings(root))
    assert [line.where for line in declaration.lines] == [
        "base.txt line 1", "requirements.txt line 2", "requirements.txt line 3", "requirements.txt line 4",
        "requirements.txt line 5", "requirements.txt line 6"]
    assert declaration.index_options == [f"--find-links {(root / 'wheels').resolve()}",
                                         "--index-url https://user:${TOKEN}@example.invalid/simple"]
    assert declaration.find_links == ((root / "wheels").resolve(),)
    assert declaration.pins == {"alpha": {"sha256": {"aa"}}, "gamma": {"sha256": {"bb"}}}
    assert declaration.roots is not None and declaration.roots.lines == (
        "beta==2", "alpha[x]>=1 ; python_version >= '3.8'") and declaration.roots.unnamed == 1
    assert [Path(ref.location).name for ref in declaration.references] == ["own"]
    assert declaration.shown == "requirements.txt" and declaration.has_requirements


def test_the_digests_follow_the_bytes_of_the_includes_and_the_local_inputs(tmp_path):
    root = make_project(tmp_path / "p", "-r base.txt\n--find-links wheels\nbeta\n")
    (root / "base.txt").write_text("alpha\n")
    make_wheel(root / "wheels", "beta", "1.0")
    first = declared(_settings(root))
    (root / "base.txt").write_text("alpha==1\n")
    second = declared(_settings(root))
    assert second.digest != first.digest and second.local_inputs == first.local_inputs
    make_wheel(root / "wheels", "beta", "1.0", files={"beta/__init__.py": "OTHER = 1\n"})  # same name, other bytes
    third = declared(_settings(root))
    assert third.digest == second.digest and third.local_inputs != second.local_inputs
    assert "beta-1.0-py3-none-any.whl" in third.local_inputs and str(tmp_path) not in third.local_inputs


def test_a_pyproject_declaration_is_lines_named_by_their_table_not_a_generated_file(tmp_path):
    root = make_project(tmp_path / "p", pyproject='[project]\nname = "app"\nversion = "1"\n'
                                                  'dependencies = ["alpha>=1", "beta"]\n')
    (root / "requirements.txt").unlink(missing_ok=True)
    declaration = declared(_settings(root))
    assert declaration.source is not None and declaration.source.kind == "pyproject"
    assert declaration.texts == ["alpha>=1", "beta"]
    assert [line.where for line in declaration.lines] == ["pyproject.toml [project]"] * 2
    settings = _settings(root)
    assert settings.requirements is None  # nothing swapped into the settings
    cache = Path(os.environ["LAMBDA_TASKS_CACHE"])
    assert not (cache / "sources").exists()  # no requirements file written anywhere


def test_a_lock_is_parsed_when_a_stage_first_asks(tmp_path):
    root = make_project(tmp_path / "p", pyproject='[project]\nname = "app"\nversion = "1"\ndependencies = []\n')
    (root / "requirements.txt").unlink(missing_ok=True)
    (root / "pylock.toml").write_text('lock-version = "1.0"\ncreated-by = "x"\nrequires-python = "<3"\npackages = []\n')
    declaration = declared(_settings(root))  # what a no-op build reads: the digest, not the packages
    assert declaration.is_lock and declaration.digest
    with pytest.raises(SettingsError, match=r"pylock\.toml requires Python <3; the target has 3\.12\.0"):
        _ = declaration.locked


def test_an_invalid_requirement_is_named_by_its_line_before_pip_runs(tmp_path):
    from factory import resolve_project

    from lambda_tasks.report import Reporter

    root = make_project(tmp_path / "p", "alpha\nrequests==\n")
    with pytest.raises(ResolveError, match=r"^invalid requirement 'requests==' \(requirements.txt line 2\)"):
        resolve_project(_settings(root), Reporter(quiet=True))


def test_the_installer_reads_a_file_of_ours_not_the_projects_constraints(tmp_path):
    from lambda_tasks.resolve.local import installer_lines

    root = make_project(tmp_path / "p", "-c constraints.txt\n-c more.txt\nalpha\n")
    (root / "constraints.txt").write_text("beta<2\n")
    (root / "more.txt").write_text("gamma==1\n")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    lines = installer_lines(declared(_settings(root)), scratch)
    assert [line.text for line in lines] == [f"-c {scratch / 'constraints.txt'}", "alpha"]
    assert (scratch / "constraints.txt").read_text() == "beta<2\ngamma==1\n"
