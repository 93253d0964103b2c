"""Project paths: only a regular file or directory inside the project, checked before anything reads it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lambda_tasks import project_paths
from lambda_tasks.assemble.app_code import app_files, check_imports
from lambda_tasks.errors import ProjectError, SettingsError, UnsafePathError
from lambda_tasks.sources.chalice_config import read_config


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    (project / "chalicelib").mkdir(parents=True)
    (project / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (project / "chalicelib" / "a.py").write_text("A = 1\n")
    return project.resolve()


def test_a_file_and_a_directory_inside(root):
    found = project_paths.file(root, "app.py", "app")
    assert found is not None and found.rel == "app.py" and not found.is_dir
    assert project_paths.directory(root, "chalicelib", "lib").is_dir  # type: ignore[union-attr]
    assert project_paths.find(root, "nothing", "x") is None


@pytest.mark.parametrize("rel", ["../x", "/etc/passwd", "a/../../b", ""])
def test_a_name_that_leaves_the_project_is_refused_before_the_file_system_is_asked(root, rel):
    with pytest.raises(UnsafePathError, match="not a path inside the project"):
        project_paths.find(root, rel, "x")


def test_a_root_entry_that_links_outside_is_refused(root, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (root / "vendor").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafePathError, match="vendor points outside the project"):
        project_paths.directory(root, "vendor", "vendor_dir")


def test_a_root_entry_that_links_inside_is_followed(root):
    (root / "src").mkdir()
    (root / "src" / "lib.py").write_text("")
    (root / "lib.py").symlink_to(root / "src" / "lib.py")
    found = project_paths.file(root, "lib.py", "x")
    assert found is not None and found.path == root / "src" / "lib.py" and found.rel == "lib.py"


@pytest.mark.parametrize("make, kind", [
    (lambda p: os.mkfifo(p), r"a FIFO \(named pipe\)"),
    (lambda p: p.mkdir(), "a directory"),
])
def test_the_wrong_kind_of_file_is_named(root, make, kind):
    make(root / "requirements.txt")
    with pytest.raises(ProjectError, match=f"is {kind}, not a regular file"):
        project_paths.file(root, "requirements.txt", "requirements")


def test_dangling_and_looping_roots(root):
    (root / "gone").symlink_to(root / "missing")
    (root / "a").symlink_to(root / "b")
    (root / "b").symlink_to(root / "a")
    with pytest.raises(UnsafePathError, match="dangling"):
        project_paths.find(root, "gone", "x")
    with pytest.raises(UnsafePathError, match="loop"):
        project_paths.find(root, "a", "x")


def test_reads_are_bounded_and_refuse_devices(root):
    (root / "big").write_bytes(b"x" * 2048)
    with pytest.raises(ProjectError, match="is over"):
        project_paths.read_bytes(root / "big", 1024, "big")
    assert project_paths.read_bytes(root / "big", 4096, "big") == b"x" * 2048
    with pytest.raises(ProjectError, match="character device"):
        project_paths.read_bytes(Path("/dev/zero"), 1024, "/dev/zero")
    os.mkfifo(root / "pipe")
    with pytest.raises(ProjectError, match="FIFO"):  # opened without blocking: no writer needed to get here
        project_paths.read_bytes(root / "pipe", 1024, "pipe")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-32"])
def test_text_with_a_byte_order_mark_is_read(root, encoding):
    (root / "t.txt").write_bytes("café\n".encode(encoding))
    assert project_paths.read_text(root / "t.txt", "t.txt") == "café\n"


def test_latin1_text_is_refused_naming_the_file(root):
    (root / "t.txt").write_bytes("café\n".encode("latin-1"))
    with pytest.raises(ProjectError, match=r"^t.txt is not UTF-8 text"):
        project_paths.read_text(root / "t.txt", "t.txt")


def test_deep_json_is_one_line(root):
    with pytest.raises(ProjectError, match="nested too deeply"):
        project_paths.parse_json("[" * 100_000 + "]" * 100_000, "event.json")


def test_a_deeply_nested_chalice_config_is_one_line(root):
    (root / ".chalice").mkdir()
    (root / ".chalice" / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SettingsError, match="nested too deeply"):
        read_config(root)
    (root / ".chalice" / "config.json").unlink()
    os.mkfifo(root / ".chalice" / "config.json")
    with pytest.raises(ProjectError, match="FIFO"):
        read_config(root)
    (root / ".chalice" / "config.json").unlink()
    (root / ".chalice" / "config.json").write_text(json.dumps({"version": "2.0", "app_name": "x"}))
    assert read_config(root) == {"version": "2.0", "app_name": "x"}


def test_app_files_take_app_paths_and_check_their_roots(root, tmp_path):
    (root / "todo").mkdir()
    (root / "todo" / "__init__.py").write_text("")
    (root / "settings.yaml").write_text("a: 1\n")
    files = dict(app_files(root, ["todo", "settings.yaml"]))
    assert set(files) == {"app.py", "chalicelib/a.py", "todo/__init__.py", "settings.yaml"}
    (tmp_path / "shared").mkdir()
    (root / "shared").symlink_to(tmp_path / "shared")
    with pytest.raises(UnsafePathError, match="points outside"):
        app_files(root, ["shared"])


def test_an_import_of_a_project_module_that_does_not_ship_is_an_error(root):
    (root / "todo").mkdir()
    (root / "todo" / "models.py").write_text("")  # a namespace package: no __init__.py
    (root / "app.py").write_text("def handler(e, c):\n    from todo import models\n    return 1\n")
    with pytest.raises(ProjectError, match=r"app\.py imports todo, a module of the project that does not ship"):
        check_imports(app_files(root), root)
    check_imports(app_files(root, ["todo"]), root)
    (root / "app.py").write_text("import json, boto3\nfrom . import x\n")  # not the project's: fine
    check_imports(app_files(root), root)
