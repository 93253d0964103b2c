"""The no-op stamp (lambda_tasks/up_to_date.py) against inputs it once missed: each test builds a real project,
lets the stamp be written, changes one input the way a user (or a tool) would, and checks that ``lambda-tasks
build`` does not say "up to date" when the build by content would make something else."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import offline_pyproject
from factory import make_project, make_wheel
from test_up_to_date import BIN, STAMP, build, invoke_loaded

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def stamped(root: Path, *flags: str, program: str = "lambda-tasks", env: dict | None = None) -> None:
    """Build until the stamp decides the no-op (the first build writes none: it made dist/ and layers/)."""
    time.sleep(0.05)  # the inputs are older than the build (a file written within a clock tick is not stamped)
    for _ in range(3):
        if build(root, *flags, program=program, env=env)[0]:
            return
        time.sleep(0.05)
    raise AssertionError("the stamp never decided the no-op")


def project(tmp: Path, requirements: str = "purelib\n", extra: str = "") -> Path:
    make_wheel(tmp / "wheels", "purelib")
    make_wheel(tmp / "wheels", "other")
    return make_project(tmp / "app", requirements, pyproject=offline_pyproject(tmp / "wheels", extra))


def console(root: Path, code: str, *args: object) -> None:
    """Run ``code`` (which ends by calling ``cli.main()``: the console script with something done in the middle) as
    the console script runs: with its directory first on sys.path, which the stamp records."""
    subprocess.run([sys.executable, "-c", f"import sys\nsys.path[0] = {str(BIN)!r}\n{code}", *args], cwd=root,
                   check=True, capture_output=True, timeout=300)


def manifest(root: Path) -> str:
    return (root / "layers" / "manifest.json").read_text()


# ---------------------------------------------------------------- what the dependency source reads, outside the project


@pytest.mark.parametrize("line, name", [
    ("-r ../shared/base.pip", "base.pip"),  # any suffix: pip reads it
    ("-r../shared/base.txt", "base.txt"),  # no space: pip's syntax too
    ("-r ${SHARED}/base.txt", "base.txt"),  # a variable pip expands
])
def test_an_included_file_outside_the_project_is_watched(tmp_path, line, name):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / name).write_text("purelib\n")
    root = project(tmp_path, f"{line}\n")
    env = {**os.environ, "SHARED": str(tmp_path / "shared")}
    stamped(root, env=env)
    before = manifest(root)
    (tmp_path / "shared" / name).write_text("purelib\nother\n")
    assert not build(root, env=env)[0]
    assert manifest(root) != before  # the layer was made again, with both


def test_a_find_links_directory_that_appears_is_watched(tmp_path):
    root = project(tmp_path, "purelib\n--find-links ../later\n")
    stamped(root)
    before = manifest(root)
    make_wheel(tmp_path / "later", "purelib", version="2.0")
    assert not build(root)[0]
    assert manifest(root) != before  # purelib 2.0 from there


def test_the_declaration_beside_a_lock_outside_the_project_is_watched(tmp_path):
    """A uv workspace: uv.lock and the pyproject.toml whose [project] dependencies it locks are in the parent."""
    make_wheel(tmp_path / "wheels", "purelib")
    make_wheel(tmp_path / "wheels", "other")
    mono = tmp_path / "mono"
    mono.mkdir()
    declared = '[project]\nname = "mono"\nversion = "1"\nrequires-python = ">=3.10"\ndependencies = [{}]\n'
    (mono / "pyproject.toml").write_text(declared.format('"purelib"'))
    subprocess.run([BIN / "uv", "lock", "--offline", "--no-index", "--find-links", tmp_path / "wheels"], cwd=mono,
                   check=True, capture_output=True, timeout=120)
    root = make_project(mono / "app", pyproject=offline_pyproject(tmp_path / "wheels", 'requirements = "../uv.lock"\n'))
    (root / "requirements.txt").unlink()
    stamped(root)
    (mono / "pyproject.toml").write_text(declared.format('"purelib", "other"'))  # not locked again
    result = subprocess.run([BIN / "lambda-tasks", "build"], cwd=root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "uv.lock is out of date" in result.stderr, result.stdout


def test_a_lock_building_a_directory_outside_the_project_is_not_stamped(tmp_path):
    """uv.lock's path dependency on ../libs/mylib: its files are inputs of the layers, outside every watched tree."""
    from factory_sdists import make_local_project

    make_wheel(tmp_path / "wheels", "purelib")
    make_local_project(tmp_path / "libs" / "mylib", "mylib", "0.3")
    root = make_project(tmp_path / "app", pyproject=(
        '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.10"\ndependencies = ["purelib", "mylib"]\n'
        '[tool.uv.sources]\nmylib = { path = "../libs/mylib" }\n' + offline_pyproject(tmp_path / "wheels")))
    (root / "requirements.txt").unlink()
    subprocess.run([BIN / "uv", "lock", "--offline", "--no-index", "--find-links", tmp_path / "wheels"], cwd=root,
                   check=True, capture_output=True, timeout=120)
    assert "../libs/mylib" in (root / "uv.lock").read_text()
    for _ in range(3):
        assert not build(root)[0]
    (tmp_path / "libs" / "mylib" / "added.py").write_text("X = 1\n")
    fast, out = build(root)
    assert not fast and "built in" in out


# ---------------------------------------------------------------- what ships whole


@pytest.mark.parametrize("where", ["chalicelib/static/node_modules/lib.js", "chalicelib/venv/util.py",
                                   "vendor/.tox/data.txt"])
def test_a_file_the_app_ships_below_a_tool_directory_name_is_watched(tmp_path, where):
    """The walk that decides the stamp skips node_modules/, venv/, .tox/ anywhere, but the app's and vendor/'s walk
    ships them below their roots."""
    root = project(tmp_path)
    (root / where).parent.mkdir(parents=True)
    (root / where).write_text("1\n")
    stamped(root)
    (root / where).write_text("2\n")
    assert not build(root)[0]


def test_what_the_stamp_skips_below_the_app_the_build_skips_too():
    from lambda_tasks import up_to_date
    from lambda_tasks.assemble.tree import JUNK_DIRS

    assert up_to_date.JUNK <= JUNK_DIRS


# ---------------------------------------------------------------- an input changed while the build ran

#: ``lambda-tasks build`` with app.py edited once the command has built (before the stamp is written)
EDIT_DURING_BUILD = """import pathlib, sys
from lambda_tasks import cli, frontend
built = frontend.run_command
def run_command(*args, **kwargs):
    outcome = built(*args, **kwargs)
    app = pathlib.Path("app.py")
    app.write_text(app.read_text() + "# edited while the build ran\\n")
    return outcome
frontend.run_command = run_command
sys.argv = ["lambda-tasks", "build"]
cli.main()
"""


@pytest.mark.parametrize("app_zip", ["dist/app.zip", "app.zip"])
def test_an_input_edited_while_the_build_ran_is_not_stamped(tmp_path, app_zip):
    """The zip written beside the inputs (app_zip = "app.zip"): the project's directory is not an output."""
    root = project(tmp_path, extra=f'app_zip = "{app_zip}"\n')
    stamped(root)
    (root / "app.py").write_text("def handler(event, context):\n    return 2\n")
    console(root, EDIT_DURING_BUILD)
    fast, out = build(root)
    assert not fast and "built in" in out  # the edit is built


#: ``lambda-tasks build`` with app.py replaced once the command has built by a copy keeping the old file's times
COPY_DURING_BUILD = """import os, pathlib, shutil, sys
from lambda_tasks import cli, frontend
built = frontend.run_command
def run_command(*args, **kwargs):
    outcome = built(*args, **kwargs)
    pathlib.Path("../edited.py").write_text("def handler(event, context):\\n    return 3\\n")
    os.utime("../edited.py", ns=(os.stat("app.py").st_atime_ns, os.stat("app.py").st_mtime_ns))
    shutil.copy2("../edited.py", "app.py")  # as cp -p: the content, and the old mtime
    return outcome
frontend.run_command = run_command
sys.argv = ["lambda-tasks", "build"]
cli.main()
"""


def test_an_input_replaced_while_the_build_ran_by_a_copy_with_old_times_is_not_stamped(tmp_path):
    root = project(tmp_path)
    stamped(root)
    (root / "app.py").write_text("def handler(event, context):\n    return 2\n")
    console(root, COPY_DURING_BUILD)
    assert "return 3" in (root / "app.py").read_text()
    fast, out = build(root)
    assert not fast and "built in" in out  # the copy is built


#: ``lambda-tasks build`` with pyproject.toml edited once the settings were read, well before the build proper
EDIT_AFTER_THE_SETTINGS = """import pathlib, sys, time
from lambda_tasks import cli, framework
loaded = framework.project_settings
def project_settings(*args, **kwargs):
    settings = loaded(*args, **kwargs)
    pyproject = pathlib.Path("pyproject.toml")
    pyproject.write_text(pyproject.read_text() + 'app_paths = ["extra"]\\n')
    time.sleep(0.2)
    return settings
framework.project_settings = project_settings
sys.argv = ["lambda-tasks", "build"]
cli.main()
"""


def test_a_setting_edited_after_the_settings_were_read_is_not_stamped(tmp_path):
    """The settings are read before the build starts: an edit between the two is as racy as one during it."""
    root = project(tmp_path)
    (root / "extra").mkdir()
    (root / "extra" / "data.py").write_text("D = 1\n")
    stamped(root)
    (root / "app.py").write_text("def handler(event, context):\n    return 2\n")
    console(root, EDIT_AFTER_THE_SETTINGS)
    fast, out = build(root)
    assert not fast and "built in" in out  # app_paths taken: extra/ ships now


# ---------------------------------------------------------------- `invoke build`: the project's tasks.py

WRAPPER = """from invoke import Collection, task
from lambda_tasks.tasks import build as ours

@task
def build(c):
    ours(c)
    open("../copied", "w").write("done")

ns = Collection(build)
"""
CONFIGURED = """import os
from lambda_tasks.tasks import ns

ns.configure({"lambda_tasks": {"app_zip": os.environ.get("MY_ZIP", "dist/app.zip")}})
"""


def test_a_tasks_py_of_its_own_never_takes_the_stamp(tmp_path):
    """A build task of the project's that wraps ours (its own step after it), or our tasks configured from what
    the stamp does not watch: a no-op exiting before tasks.py has run would skip them."""
    root = project(tmp_path)
    (root / "tasks.py").write_text(WRAPPER)
    for _ in range(3):
        assert not build(root, program="invoke")[0]
    (tmp_path / "copied").unlink()
    build(root, program="invoke")
    assert (tmp_path / "copied").is_file()  # its own step ran
    (root / "tasks.py").write_text(CONFIGURED)
    for _ in range(3):
        assert not build(root, program="invoke")[0]
    build(root, program="invoke", env={**os.environ, "MY_ZIP": "dist/other.zip"})
    assert (root / "dist" / "other.zip").is_file()


def test_the_one_line_tasks_py_takes_it(tmp_path):
    root = project(tmp_path)
    (root / "tasks.py").write_text('"""Our tasks."""\n# the one line\nfrom lambda_tasks.tasks import ns  # noqa\n')
    stamped(root, program="invoke")


# ---------------------------------------------------------------- the project elsewhere


def two_releases(tmp: Path) -> tuple[Path, Path]:
    """An output directory building ../current, a link to one of two releases of the app."""
    make_wheel(tmp / "wheels", "purelib")
    for release in ("v1", "v2"):
        make_project(tmp / release, "purelib\n", app=f"def handler(event, context):\n    return '{release}'\n")
    out = tmp / "out"
    out.mkdir()
    (out / "pyproject.toml").write_text(offline_pyproject(tmp / "wheels"))
    (tmp / "current").symlink_to(tmp / "v1")
    return out, tmp / "current"


def test_a_project_dir_reached_through_a_link_pointed_elsewhere_is_built(tmp_path):
    out, current = two_releases(tmp_path)
    stamped(out, "--project-dir", "../current")
    current.unlink()
    current.symlink_to(tmp_path / "v2")
    fast, said = build(out, "--project-dir", "../current")
    assert not fast and "v2-deps" in said


def test_a_project_dir_from_a_setting_is_not_stamped(tmp_path):
    """The setting's value is not on the command line: where it leads cannot be checked before the settings load."""
    out, _ = two_releases(tmp_path)
    (out / "pyproject.toml").write_text(offline_pyproject(tmp_path / "wheels", 'project_dir = "../current"\n'))
    for _ in range(3):
        assert not build(out)[0]


# ---------------------------------------------------------------- the replay


def test_no_replay_when_lambda_tasks_own_code_changed(tmp_path):
    """An editable install edited (a flag's default, a new flag) keeps its version: the recorded command is what
    the old code parsed, so Invoke parses the command line again."""
    root = project(tmp_path)
    stamped(root)
    stamp = json.loads((root / STAMP).read_text())
    flags_py = next(path for path in stamp["stats"] if path.endswith(os.path.join("lambda_tasks", "flags.py")))
    stamp["stats"][flags_py][1] -= 1  # as if flags.py had been edited since (its mtime)
    (root / STAMP).write_text(json.dumps(stamp))
    (root / "app.py").write_text("def handler(event, context):\n    return 2\n")
    loaded, out, _ = invoke_loaded(root)
    assert loaded and "built in" in out


# ---------------------------------------------------------------- two builds at once

#: ``lambda-tasks build`` with another build (``--runtime python3.13``) run in the moment between this one
#: leaving the output directory and writing its stamp
ANOTHER_BUILD_IN_BETWEEN = """import subprocess, sys
from lambda_tasks import cli, frontend
built, program = frontend.run, sys.argv[1]
def run(*args, **kwargs):
    outcome = built(*args, **kwargs)
    subprocess.run([program, "build", "--runtime", "python3.13"], check=True, capture_output=True)
    return outcome
frontend.run = run
sys.argv = ["lambda-tasks", "build"]
cli.main()
"""


def test_a_build_that_ran_in_between_is_not_stamped_as_this_one(tmp_path):
    root = project(tmp_path)
    stamped(root)
    (root / "app.py").write_text("def handler(event, context):\n    return 2\n")
    console(root, ANOTHER_BUILD_IN_BETWEEN, BIN / "lambda-tasks")
    assert '"python3.13"' in manifest(root)  # on disk: the other build's
    fast, _ = build(root)
    assert not fast and '"python3.13"' not in manifest(root)


# ---------------------------------------------------------------- clocks


def test_an_input_stamped_in_whole_seconds_just_before_the_build_is_not_stamped(tmp_path):
    """A file system keeping whole seconds (FAT, HFS+, ext4 with small inodes) gives an edit made within the same
    second as the build's stat the same mtime and ctime: such a file, written within 2 s of the build's start, is
    not stamped (the next build decides by content). Its mtime is put on a whole second here; the ctime this file
    system keeps in nanoseconds cannot be."""
    root = project(tmp_path)
    stamped(root)
    (root / "app.py").write_text("def handler(event, context):\n    return 2\n")
    time.sleep(1 - time.time() % 1)  # at the start of a second: the build starts well within 2 s of it
    second = time.time_ns() // 1_000_000_000 * 1_000_000_000
    os.utime(root / "app.py", ns=(second, second))
    assert not build(root)[0]
    assert not (root / STAMP).exists()  # the app build wrote none
    time.sleep(2)
    assert not build(root)[0] and build(root)[0]  # the next one, 2 s on, did


# ---------------------------------------------------------------- secrets


def test_the_stamp_holds_no_function_of_a_credential(tmp_path):
    """Its environment hash leaves out a URL's password and the variables named as credentials: a hash over them
    (and over values an attacker can guess, PATH, HOME) would let one test guesses of the password offline."""
    root = project(tmp_path)
    url = "https://ci:{}@127.0.0.1:9/simple"
    env = {**os.environ, "PIP_EXTRA_INDEX_URL": url.format("hunter2"), "UV_INDEX_PRIVATE_PASSWORD": "hunter2"}
    stamped(root, env=env)
    recorded = json.loads((root / STAMP).read_text())["env"]
    rotated = {**env, "PIP_EXTRA_INDEX_URL": url.format("rotated"), "UV_INDEX_PRIVATE_PASSWORD": "rotated"}
    assert build(root, env=rotated)[0]
    assert json.loads((root / STAMP).read_text())["env"] == recorded
    assert not build(root, env={**env, "PIP_EXTRA_INDEX_URL": "https://ci:hunter2@127.0.0.2:9/simple"})[0]


def test_the_stamp_is_not_written_through_a_link_planted_at_its_temporary_name(tmp_path):
    """A shared project directory: whoever may write layers/ plants a link where the stamp's temporary file goes
    (its name was the pid's, which the lock file shows) once the build has started; the stamp must not be
    written through it into the victim's file."""
    root = project(tmp_path)
    build(root)
    victim = tmp_path / "victim"
    victim.write_text("mine\n")
    planted = ("import os, sys\nfrom lambda_tasks import cli, frontend\nbuilt = frontend.run_command\n"
               "def run_command(*args, **kwargs):\n    outcome = built(*args, **kwargs)\n"
               f"    os.symlink({str(victim)!r}, f'layers/.up-to-date.json.{{os.getpid()}}.tmp')\n"
               "    return outcome\nfrontend.run_command = run_command\n"
               "sys.argv = ['lambda-tasks', 'build']\ncli.main()\n")
    time.sleep(0.05)
    console(root, planted)
    assert victim.read_text() == "mine\n"
    assert not (root / STAMP).is_symlink()


# ---------------------------------------------------------------- the interpreter


def test_a_pth_file_edited_in_place_is_seen(tmp_path):
    """A .pth file edited in place (a tool's editable install moved) changes sys.path, and so which pip the
    layers' fingerprint names, without changing its directory: the stamp compares sys.path itself."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    site = next((venv / "lib").glob("python*/site-packages"))
    ours = next(entry for entry in sys.path if entry.endswith("site-packages") and Path(entry, "invoke").is_dir())
    (site / "z-ours.pth").write_text(f"import site; site.addsitedir({ours!r})\n")  # this venv's packages after
    newer = tmp_path / "newer"
    (newer / "pip-99.0.dist-info").mkdir(parents=True)
    (site / "a-tools.pth").write_text(f"{tmp_path / 'nothing'}\n")  # processed first: before our pip
    root = project(tmp_path)
    command = [venv / "bin" / "python", "-c", "from lambda_tasks.cli import main; main()", "build"]

    def run() -> str:
        result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return result.stdout

    time.sleep(0.05)
    for _ in range(3):
        run()
    assert run().endswith("s)\n") and "built in" not in run()  # the stamp decides
    size = (site / "a-tools.pth").stat().st_size
    (site / "a-tools.pth").write_text(f"{newer}\n"[:size].ljust(size))  # in place, the same size
    assert "built in" in run()  # pip 99.0 now: the layers are made again
