"""Walking chalicelib/ and vendor/: symlinks inside the project are followed, anything else is refused."""

import os
from pathlib import Path

import pytest

from lambda_tasks.assemble.tree import walk_files
from lambda_tasks.errors import ProjectError, UnsafePathError
from lambda_tasks.project_paths import directory


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "proj" / "chalicelib"
    (root / "sub").mkdir(parents=True)
    (root / "a.py").write_text("A = 1\n")
    (root / "sub" / "b.py").write_text("B = 2\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "a.cpython-312.pyc").write_bytes(b"x")
    return root


def top(root: Path):
    return directory(root.parent.resolve(), root.name, "tree")


def names(root: Path) -> list[str]:
    return [rel for rel, _ in walk_files(top(root))]


def test_files_in_order_junk_left_out(tree):
    assert names(tree) == ["a.py", "sub/b.py"]


def test_a_link_inside_the_project_is_stored_as_its_file(tree):
    (tree.parent / "shared.py").write_text("S = 3\n")
    (tree / "s.py").symlink_to(tree.parent / "shared.py")
    (tree / "alias").symlink_to(tree / "sub", target_is_directory=True)
    found = dict(walk_files(top(tree)))
    assert found["s.py"].path.read_text() == "S = 3\n" and "alias/b.py" in found
    assert found["s.py"].rel == "chalicelib/s.py"


@pytest.mark.parametrize("make, why", [
    (lambda root: (root / "passwd").symlink_to("/etc/passwd"), "points outside the project"),
    (lambda root: (root / "gone").symlink_to(root / "missing"), "is dangling"),
    (lambda root: ((root / "x").symlink_to(root / "y"), (root / "y").symlink_to(root / "x")), "is a loop"),
    (lambda root: (root / "sub" / "up").symlink_to(root, target_is_directory=True), "is a loop"),
])
def test_bad_links_are_errors_naming_link_and_target(tree, make, why):
    make(tree)
    with pytest.raises(UnsafePathError) as caught:
        names(tree)
    first, detail = str(caught.value).splitlines()[:2]
    assert first.startswith("symbolic link ") and why in first
    assert detail.startswith("  it points to ")


def test_a_name_that_is_not_utf8_is_an_error(tree):
    (tree / os.fsdecode(b"caf\xe9.py")).write_text("")
    with pytest.raises(UnsafePathError, match="not valid UTF-8"):
        names(tree)


def test_a_fifo_or_a_link_to_one_is_refused_before_any_read(tree):
    os.mkfifo(tree.parent / "pipe")
    (tree / "pipe").symlink_to(tree.parent / "pipe")
    with pytest.raises(ProjectError, match="is a FIFO"):
        names(tree)
    (tree / "pipe").unlink()
    os.mkfifo(tree / "direct")
    with pytest.raises(ProjectError, match="is a FIFO"):
        names(tree)


def test_a_loop_through_two_directories_is_refused(tree):
    (tree / "other").mkdir()
    (tree / "sub" / "to_other").symlink_to(tree / "other", target_is_directory=True)
    (tree / "other" / "to_sub").symlink_to(tree / "sub", target_is_directory=True)
    with pytest.raises(UnsafePathError, match="is a loop"):
        names(tree)
