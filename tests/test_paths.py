"""Zip-slip and friends: a path that would escape its archive is refused before anything is written."""

import zipfile

import pytest
from conftest import offline_pyproject
from factory import build, make_project, make_wheel

from lambda_tasks.checks.paths import check_paths, problem
from lambda_tasks.config import load_settings
from lambda_tasks.entries import FILE_MODE, BytesSource, Entry
from lambda_tasks.errors import UnsafePathError
from lambda_tasks.report import Reporter


@pytest.mark.parametrize("name", ["../../evil.py", "python/../../evil.py", "/etc/passwd", "C:/evil.py",
                                  "python\\evil.py", "python//evil.py", "python/./evil.py", ""])
def test_unsafe_names(name):
    assert problem(name) is not None


@pytest.mark.parametrize("name", ["python/pkg/__init__.py", "app.py", "python/pkg/", "python/..hidden/x.py"])
def test_safe_names(name):
    assert problem(name) is None


def test_duplicates_are_refused():
    entry = Entry("python/a.py", "a", 1, FILE_MODE, BytesSource(b"x"))
    with pytest.raises(UnsafePathError, match=r"'python/a\.py' appears 2 times"):
        check_paths([entry, entry], "the layers")


def test_a_vendored_wheel_with_a_zip_slip_member_fails_the_build(tmp_path, wheelhouse):
    root = make_project(tmp_path / "proj", "", pyproject=offline_pyproject(wheelhouse))
    wheel = make_wheel(root / "vendor", "evil", files={"evil/__init__.py": "", "../../evil.py": "print('owned')\n"})
    assert wheel.is_file() and "../../evil.py" in zipfile.ZipFile(wheel).namelist()
    with pytest.raises(UnsafePathError) as caught:
        build(load_settings(root, {}, {"runtime": "python3.12"}), reporter=Reporter(quiet=True))
    lines = str(caught.value).splitlines()
    assert lines[0] == "refusing 1 unsafe path in the layers"
    assert "'python/../../evil.py' holds an empty, '.' or '..' part, from evil-1.0-py3-none-any.whl" in lines[1]
    assert not list((root / "layers").glob("*.zip")) if (root / "layers").exists() else True
