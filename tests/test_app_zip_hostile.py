"""What goes into dist/app.zip, against projects shaped to make ``lambda-tasks build`` exit 0 with a wrong or leaking
zip: each test builds a real project with the real command line and reads the zip it wrote (or the one-line error).
Chalice's own ``chalice package`` is the reference for what a Chalice user expects to ship."""

from __future__ import annotations

import hashlib
import os
import py_compile
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import offline_pyproject
from factory import make_project, make_wheel
from fake_chalice import make_chalice
from test_bytecode import interpreter_or_skip

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BIN = Path(sys.executable).parent / "lambda-tasks"
HOST_VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"


def project(tmp: Path, extra: str = "", requirements: str = "", app: str | None = None) -> Path:
    make_wheel(tmp / "wheels", "purelib")
    return make_project(tmp / "app", requirements, app=app, pyproject=offline_pyproject(tmp / "wheels", extra))


def build(root: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BIN, "build", *flags], cwd=root, capture_output=True, text=True, timeout=300,
                          env={**os.environ})


def built(root: Path, *flags: str) -> tuple[list[str], str]:
    """A build that must succeed: the function zip's file names, and what it said."""
    result = build(root, *flags)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(root / "dist" / "app.zip") as archive:
        return [name for name in archive.namelist() if not name.endswith("/")], result.stdout + result.stderr


def refused(root: Path, *flags: str) -> str:
    """A build that must stop: its error's first line (one line, no traceback)."""
    result = build(root, *flags)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return next(line for line in result.stderr.splitlines() if line.startswith("error: "))


# ---------------------------------------------------------------- names Python resolves otherwise than the files say


def test_a_package_beside_the_module_of_its_name_is_refused(tmp_path):
    """app.py and an app/ package in app_paths: Python imports the package, so app.handler is never app.py's."""
    root = project(tmp_path, 'app_paths = ["app"]\n')
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("")
    first = refused(root)
    assert "app.py" in first and "app/" in first


def test_a_package_beside_a_module_inside_chalicelib_is_refused(tmp_path):
    root = project(tmp_path)
    (root / "chalicelib" / "helper").mkdir()
    (root / "chalicelib" / "helper" / "__init__.py").write_text("VALUE = 1\n")
    assert "chalicelib/helper.py" in refused(root)


def test_a_directory_without_init_beside_a_module_ships(tmp_path):
    """A directory of data (no __init__.py) does not hide the module of its name: Python imports the module."""
    root = project(tmp_path)
    (root / "chalicelib" / "helper").mkdir()
    (root / "chalicelib" / "helper" / "data.json").write_text("{}")
    names, _ = built(root)
    assert {"chalicelib/helper.py", "chalicelib/helper/data.json"} <= set(names)


# ---------------------------------------------------------------- the build's own outputs inside what ships


@pytest.mark.parametrize("extra, where", [
    ('app_zip = "chalicelib/out.zip"\n', "app_zip"),
    ('layers_dir = "chalicelib/layers"\n', "layers_dir"),
    ('app_paths = ["dist"]\n', "app_zip"),
    ('layers_dir = "vendor/layers"\n', "layers_dir"),
    ('package_type = "image"\nimage_dir = "chalicelib/image"\n', "image_dir"),
    ('app_zip = "app.py"\n', "app_zip"),  # would write over the handler's module
])
def test_an_output_inside_a_shipped_directory_is_refused(tmp_path, extra, where):
    """Else each build ships the last one's zip (or manifest, or stamp) in the new one."""
    root = project(tmp_path, extra)
    (root / "dist").mkdir()
    (root / "vendor" / "v").mkdir(parents=True)
    (root / "vendor" / "v" / "__init__.py").write_text("")
    first = refused(root)
    assert where in first and "ships" in first


# ---------------------------------------------------------------- files left out, and files that must not ship


def test_a_sourceless_module_is_named_when_it_is_left_out(tmp_path):
    """A .pyc without its .py is importable (Chalice ships it); lambda-tasks ships sources only and says so."""
    root = project(tmp_path)
    (root / "chalicelib" / "fast.py").write_text("X = 1\n")
    py_compile.compile(str(root / "chalicelib" / "fast.py"), cfile=str(root / "chalicelib" / "fast.pyc"))
    (root / "chalicelib" / "fast.py").unlink()
    (root / "chalicelib" / "helper.pyc").write_bytes(b"stale")  # beside its source: a leftover, said nothing of
    names, said = built(root)
    assert "chalicelib/fast.pyc" not in names
    assert "chalicelib/fast.pyc" in said and "helper.pyc" not in said


def test_a_file_app_paths_names_is_shipped_or_refused_never_dropped(tmp_path):
    root = project(tmp_path, 'app_paths = ["settings.yaml", "compiled.pyc"]\n')
    (root / "settings.yaml").write_text("a: 1\n")
    (root / "compiled.pyc").write_bytes(b"\0" * 16)
    assert "compiled.pyc" in refused(root)
    (root / ".venv" / "lib").mkdir(parents=True)
    (root / ".venv" / "lib" / "x.py").write_text("")
    (root / "pyproject.toml").write_text(offline_pyproject(tmp_path / "wheels", 'app_paths = [".venv/lib"]\n'))
    assert ".venv/lib" in refused(root)  # a directory that would ship nothing, or a tool's
    (root / "pyproject.toml").write_text(offline_pyproject(tmp_path / "wheels", 'app_paths = ["settings.yaml"]\n'))
    assert "settings.yaml" in built(root)[0]


def test_a_sub_projects_environments_do_not_ship(tmp_path):
    """app_paths names a sub-project that has its own .venv and .tox: tools' directories, as SAM leaves them out."""
    root = project(tmp_path, 'app_paths = ["todo"]\n')
    (root / "todo").mkdir()
    (root / "todo" / "__init__.py").write_text("")
    for tool in (".venv", ".tox/py312"):
        (root / "todo" / tool / "bin").mkdir(parents=True)
        (root / "todo" / tool / "bin" / "python").symlink_to(sys.executable)
        (root / "todo" / tool / "pyvenv.cfg").write_text(f"home = {Path(sys.executable).parent}\n")
    names, _ = built(root)
    assert [name for name in names if name.startswith("todo/")] == ["todo/__init__.py"]


def test_a_shipped_module_that_does_not_parse_is_said(tmp_path):
    """Without bytecode nothing compiles the app: a leftover in Python 2 or a broken file is said, by name."""
    root = project(tmp_path)
    (root / "chalicelib" / "legacy.py").write_text("print 'hello'\n")
    _, said = built(root)
    assert "warning: chalicelib/legacy.py does not parse with Python" in said


# ---------------------------------------------------------------- secrets under another name


def test_a_link_does_not_rename_a_secret_past_the_check(tmp_path):
    """A link inside the project ships the file it points to under the link's name: the target's name counts too."""
    root = project(tmp_path)
    (root / ".env").write_text("DB_PASSWORD=hunter2\n")
    (root / "chalicelib" / "settings.txt").symlink_to("../.env")
    (root / ".ssh").mkdir()
    (root / ".ssh" / "deploy").write_text("an OpenSSH key, by where it lives\n")
    (root / "chalicelib" / "keys").symlink_to("../.ssh")
    first = refused(root)
    assert "chalicelib/keys/deploy" in first and "chalicelib/settings.txt" in first


# ---------------------------------------------------------------- the same project, two clones


def clone(tmp: Path, name: str, umask: int, mtime: int) -> Path:
    """The same files as another checkout makes them: another path, umask and clock."""
    old = os.umask(umask)
    try:
        root = project(tmp / name, f'runtime = "python{HOST_VERSION}"\nbytecode = true\napp_paths = ["todo"]\n')
        (root / "chalicelib" / "run.sh").write_text("#!/bin/sh\n")
        (root / "chalicelib" / "run.sh").chmod(0o777 & ~umask | 0o100)
        (root / "todo").mkdir()
        (root / "todo" / "__init__.py").write_text("ITEMS = []\n")
    finally:
        os.umask(old)
    for path in root.rglob("*"):
        os.utime(path, (mtime, mtime))
    return root


def test_two_clones_give_the_same_bytes(tmp_path):
    interpreter_or_skip(HOST_VERSION)  # the bytecode is compiled by the runtime's version
    zips = []
    for name, umask, mtime in (("one", 0o022, 1_000_000_000), ("two", 0o077, 1_700_000_000)):
        root = clone(tmp_path, name, umask, mtime)
        built(root)
        zips.append((root / "dist" / "app.zip").read_bytes())
        with zipfile.ZipFile(root / "dist" / "app.zip") as archive:
            modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        assert modes["chalicelib/run.sh"] == 0o100755 and modes["app.py"] == 0o100644  # world-readable
    assert zips[0] == zips[1]


# ---------------------------------------------------------------- the app hiding a dependency


def test_an_app_module_with_a_dependencys_name_is_said(tmp_path):
    """/var/task comes before /opt/python: the app's purelib.py hides the purelib the layers ship."""
    root = project(tmp_path, 'app_paths = ["purelib.py"]\n', requirements="purelib\n")
    (root / "purelib.py").write_text("X = 1\n")
    names, said = built(root)
    assert "purelib.py" in names
    assert "warning: the app's purelib.py has the name of purelib's module purelib" in said
    (root / "purelib.py").write_text("X = 2\n")  # the app alone changes: the layer is kept, and read
    assert "has the name of the layer app-deps-1's module purelib" in built(root)[1]
    (root / "purelib.py").rename(root / "own.py")
    (root / "pyproject.toml").write_text(offline_pyproject(tmp_path / "wheels", 'app_paths = ["own.py"]\n'))
    assert "has the name of" not in built(root, "--force")[1]


@pytest.mark.tool("docker-registry", "skopeo")
def test_in_an_image_an_app_module_with_a_dependencys_name_is_said(tmp_path, base_image):
    """An image puts the app and the dependencies in one /var/task: the app's purelib/ merges with the
    dependency's (its files overwrite); the build says so."""
    root = project(tmp_path, f'package_type = "image"\nimage_base = "{base_image}"\napp_paths = ["purelib"]\n',
                   requirements="purelib\n")
    (root / "purelib").mkdir()
    (root / "purelib" / "__init__.py").write_text("MINE = 1\n")
    result = build(root)
    assert result.returncode == 0, result.stderr
    assert "warning: the app's purelib/ has the name of purelib's module purelib: they share /var/task" in \
        result.stdout + result.stderr


# ---------------------------------------------------------------- Chalice's runtime: shipped, and which release


CHALICE_APP = "from chalice import Chalice\napp = Chalice(app_name='shop')\n"


def test_a_chalice_app_made_in_chalicelib_gets_the_runtime(tmp_path):
    """app.py calls a factory in chalicelib/ that imports chalice: Chalice ships its runtime for any app."""
    make_chalice(tmp_path / "wheels", requires=())
    root = project(tmp_path, app="from chalicelib.core import make\n\napp = make()\n")
    (root / "chalicelib" / "core.py").write_text("from chalice import Chalice\n\ndef make():\n"
                                                 "    return Chalice(app_name='shop')\n")
    names, said = built(root)
    assert {"chalice/__init__.py", "chalice/app.py"} <= set(names), said


def test_an_app_module_named_chalice_is_refused_beside_the_runtime(tmp_path):
    """The runtime's chalice/ package would hide the app's chalice.py."""
    make_chalice(tmp_path / "wheels", requires=())
    root = project(tmp_path, 'app_paths = ["chalice.py"]\n', app=CHALICE_APP)
    (root / "chalice.py").write_text("X = 1\n")
    assert "chalice.py" in refused(root)


@pytest.mark.parametrize("requirements, constraints", [
    ("-c constraints.txt\nchalice\n", "chalice==1.30.0\n"),
    ("-c constraints.txt\nchalice>=1.0\n", "chalice<1.31\n"),
])
def test_a_constraints_file_pins_the_chalice_runtime(tmp_path, requirements, constraints):
    """pip installs the constrained chalice into the project's venv; Chalice packages that one's runtime."""
    make_chalice(tmp_path / "wheels", version="1.30.0")
    make_chalice(tmp_path / "wheels", version="1.34.0")
    root = project(tmp_path, requirements=requirements, app=CHALICE_APP)
    (root / "constraints.txt").write_text(constraints)
    _, said = built(root)
    assert "from chalice 1.30.0" in said and "the newest release was taken" not in said
    with zipfile.ZipFile(root / "dist" / "app.zip") as archive:
        assert b"__version__ = '1.30.0'" in archive.read("chalice/__init__.py")


def test_a_chalice_named_by_url_is_the_runtime(tmp_path):
    """chalice @ <a wheel of a fork>: pip installs that one; its runtime ships, not the index's newest."""
    fork = make_chalice(tmp_path / "fork", version="1.30.0", requires=())
    make_chalice(tmp_path / "wheels", version="1.34.0", requires=())
    root = project(tmp_path, requirements=f"chalice @ {fork.as_uri()}\n", app=CHALICE_APP)
    _, said = built(root)
    assert "from chalice 1.30.0" in said and "the newest release was taken" not in said


def test_a_lock_pins_the_chalice_runtime(tmp_path):
    """pylock.toml holds chalice 1.30.0 (and a newer one sits in the index): the runtime is the locked one's."""
    old = make_chalice(tmp_path / "wheels", version="1.30.0", requires=())
    make_chalice(tmp_path / "wheels", version="1.34.0", requires=())
    digest = hashlib.sha256(old.read_bytes()).hexdigest()
    root = project(tmp_path, app=CHALICE_APP)
    (root / "requirements.txt").unlink()
    (root / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "tests"\n[[packages]]\nname = "chalice"\nversion = "1.30.0"\n'
        f'wheels = [{{ name = "{old.name}", url = "{old.as_uri()}", size = {old.stat().st_size}, '
        f'hashes = {{ sha256 = "{digest}" }} }}]\n')
    _, said = built(root)
    assert "from chalice 1.30.0" in said


def test_a_lock_pins_the_chalice_runtime_from_a_dev_group(tmp_path):
    """chalice in the lock's dev group (a deploy tool, not shipped): the lock still says which runtime."""
    make_chalice(tmp_path / "wheels", version="1.30.0", requires=())
    make_chalice(tmp_path / "wheels", version="1.34.0", requires=())
    root = project(tmp_path, app=CHALICE_APP)
    (root / "requirements.txt").unlink()
    (root / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "tests"\ndependency-groups = ["dev"]\n[[packages]]\nname = "chalice"\n'
        'version = "1.30.0"\nmarker = "\'dev\' in dependency_groups"\n'
        'wheels = [{ name = "chalice-1.30.0-py3-none-any.whl", url = "https://example.invalid/c.whl", '
        f'hashes = {{ sha256 = "{"0" * 64}" }} }}]\n')
    _, said = built(root)
    assert "from chalice 1.30.0" in said
