"""The no-op decided by the last build's stamp (lambda_tasks/up_to_date.py), through ``lambda-tasks build`` and
``invoke build``: it takes the stamp only when nothing the build read changed, and every kind of change sends
the command back to the normal build (which decides by content)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import layered_project
from factory import make_wheel

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BIN = Path(sys.executable).parent
STAMP = Path("layers") / ".up-to-date.json"


def build(root: Path, *flags: str, program: str = "lambda-tasks", env: dict | None = None) -> tuple[bool, str]:
    """Run a build; (whether the stamp decided it: the settings were never imported, its stdout)."""
    result = subprocess.run([sys.executable, "-X", "importtime", BIN / program, "build", *flags], cwd=root,
                            capture_output=True, text=True, env=env or {**os.environ}, timeout=300)
    assert result.returncode == 0, result.stderr
    return "lambda_tasks.config" not in result.stderr, result.stdout


def without_time(out: str) -> str:
    return out.rsplit(" (", 1)[0]


@pytest.fixture
def project(tmp_path) -> Path:
    """A project with a dependency layer, vendor/ and a find-links wheelhouse, built, then stamped."""
    root = layered_project(tmp_path)
    (root / "tasks.py").write_text("from lambda_tasks.tasks import ns\n")
    time.sleep(0.05)  # the inputs are older than the build (a file written within a clock tick is not stamped)
    assert build(root)[0] is False
    # it made dist/ and layers/ in the project during the build: the project's listing changed after the build
    # started, so it wrote no stamp; the no-op after it (which decides by content) does
    assert not (root / STAMP).exists()
    assert build(root)[0] is False
    assert (root / STAMP).is_file()
    return root


def rewrite(path: Path, text: str, keep_mtime: bool = False) -> None:
    before = path.stat()
    path.write_text(text)
    if keep_mtime:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_the_no_op_after_a_build_is_decided_by_the_stamp_and_says_the_same(project):
    fast, out = build(project)
    assert fast
    project.joinpath(STAMP).unlink()
    slow, again = build(project)
    assert not slow and without_time(out) == without_time(again)  # the same lines, the time aside
    assert "up to date: dist/app.zip and 1 layer(s)" in out
    assert build(project)[0]  # the normal no-op wrote the stamp again


def test_invoke_build_takes_it_too(project):
    assert build(project, program="invoke")[0] is False  # the stamp was for `lambda-tasks build`
    fast, out = build(project, program="invoke")
    assert fast and "up to date" in out


CHANGES = {
    "app.py, new content": lambda root: rewrite(root / "app.py", "def handler(event, context):\n    return 2\n"),
    "app.py, same size, mtime put back": lambda root: rewrite(
        root / "app.py", (root / "app.py").read_text().replace("42", "43").replace("ok", "no"), keep_mtime=True),
    "chalicelib/, a new file": lambda root: (root / "chalicelib" / "new.py").write_text("Y = 1\n"),
    "chalicelib/, same size, mtime put back": lambda root: rewrite(root / "chalicelib" / "helper.py", "VALUE = 43\n",
                                                                   keep_mtime=True),
    "requirements.txt": lambda root: rewrite(root / "requirements.txt", "purelib\n\n"),
    "a file requirements.txt includes": lambda root: (
        (root / "more.txt").write_text(""), rewrite(root / "requirements.txt", "purelib\n-r more.txt\n"),
        time.sleep(0.05), build(root), (root / "more.txt").write_text("# a comment\n")),
    "pyproject.toml": lambda root: rewrite(root / "pyproject.toml",
                                          (root / "pyproject.toml").read_text() + 'include = ["x"]\n'),
    "vendor/": lambda root: rewrite(root / "vendor" / "vendored" / "__init__.py", "X = 2\n"),
    "a new wheel in the find-links directory": lambda root: make_wheel(root.parent / "wheels", "other"),
    "invoke.yaml": lambda root: (root / "invoke.yaml").write_text("lambda_tasks:\n  bytecode: false\n"),
    ".chalice/config.json": lambda root: ((root / ".chalice").mkdir(), (root / ".chalice" / "config.json")
                                          .write_text('{"app_name": "shop"}')),
    "a deleted artifact": lambda root: (root / "dist" / "app.zip").unlink(),
    "a changed artifact": lambda root: next((root / "layers").glob("*.zip")).write_bytes(b"not a zip"),
    "a deleted manifest": lambda root: (root / "layers" / "manifest.json").unlink(),
    "another lambda-tasks version": lambda root: (root / STAMP).write_text(
        (root / STAMP).read_text().replace('"version": "', '"version": "0.0.0-')),
    "an unreadable stamp": lambda root: (root / STAMP).write_text("{"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_each_change_defeats_the_stamp(project, change):
    assert build(project)[0]
    CHANGES[change](project)
    fast, out = build(project)
    assert not fast, out
    assert build(project)[0]  # and the build that followed stamped what it read


@pytest.mark.parametrize("flags, env", [
    (("--runtime", "python3.13"), {}),
    (("--runtime=python3.13",), {}),
    (("-q",), {}),
    (("--force",), {}),
    (("--json",), {}),
    ((), {"LAMBDA_TASKS_RUNTIME": "python3.13"}),
    ((), {"INVOKE_LAMBDA_TASKS_BYTECODE": "0"}),
    ((), {"PIP_INDEX_URL": "http://127.0.0.1:9/simple"}),
    ((), {"SOURCE_DATE_EPOCH": "1700000000"}),
])
def test_another_command_line_or_environment_defeats_the_stamp(project, flags, env):
    assert build(project)[0]
    assert not build(project, *flags, env={**os.environ, **env})[0]


def test_invoke_build_and_another_task_never_takes_the_stamp(project):
    """`invoke build clean`: a stamp must not skip the task after build."""
    build(project, "clean", program="invoke")
    assert not (project / "dist" / "app.zip").exists()
    assert not build(project, "clean", program="invoke")[0]


def test_force_json_and_report_never_take_the_stamp(project):
    for flags in (("--force",), ("--json",), ("--report",)):
        assert not build(project, *flags)[0]
        assert not build(project, *flags)[0]


def test_quiet_no_op_prints_nothing_and_the_stamp_replays_exactly_that(project):
    build(project, "-q")
    fast, out = build(project, "-q")
    assert fast and out == ""


def test_a_library_call_writes_no_stamp(project):
    (project / STAMP).unlink()
    code = ("from pathlib import Path\nfrom lambda_tasks.commands import build\n"
            "from lambda_tasks.framework import project_settings\n"
            "build(project_settings(Path.cwd(), {}, {}))\n")
    subprocess.run([sys.executable, "-c", code], cwd=project, check=True, capture_output=True, timeout=300)
    assert not (project / STAMP).exists()


def test_the_stamp_records_what_was_read(project):
    recorded = json.loads((project / STAMP).read_text())
    stats = recorded["stats"]
    for name in ("app.py", "chalicelib/helper.py", "requirements.txt", "pyproject.toml", "vendor/vendored/__init__.py",
                 "dist/app.zip", "layers/manifest.json"):
        assert str(project / name) in stats, name
    assert str(project.parent / "wheels") in stats
    assert recorded["invocation"][1] == ["build"]


def test_the_stamp_holds_no_environment_value(project):
    env = {**os.environ, "PIP_INDEX_URL": "https://user:s3cr3t-value@127.0.0.1:9/simple",
           "AWS_SECRET_ACCESS_KEY": "another-s3cr3t"}
    build(project, env=env)
    assert build(project, env=env)[0]
    assert "s3cr3t" not in (project / STAMP).read_text()
    assert build(project, env={**env, "AWS_SECRET_ACCESS_KEY": "rotated"})[0]  # credentials are not inputs


def test_clean_removes_the_stamp_with_the_artifacts(project):
    subprocess.run([BIN / "lambda-tasks", "clean"], cwd=project, check=True, capture_output=True, timeout=300)
    assert not (project / STAMP).exists()
    assert not build(project)[0]


def test_a_link_to_a_directory_is_not_stamped(project):
    (project / "shared").mkdir()
    (project / "shared" / "util.py").write_text("Z = 1\n")
    (project / "chalicelib" / "linked").symlink_to(project / "shared", target_is_directory=True)
    build(project)
    assert not build(project)[0]


# ---------------------------------------------------------------- the replay: an app-only edit skips Invoke


def invoke_loaded(root: Path, *flags: str, env: dict | None = None, code: int = 0) -> tuple[bool, str, str]:
    """Run ``lambda-tasks build``; (whether Invoke was imported, stdout, stderr)."""
    result = subprocess.run([sys.executable, "-X", "importtime", BIN / "lambda-tasks", "build", *flags], cwd=root,
                            capture_output=True, text=True, env=env or {**os.environ}, timeout=300)
    assert result.returncode == code, result.stderr
    imported = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    errors = "\n".join(line for line in result.stderr.splitlines() if not line.startswith("import time:"))
    return "invoke" in imported, result.stdout, errors


def test_an_app_edit_replays_the_recorded_command_without_invoke(project):
    assert json.loads((project / STAMP).read_text())["command"][0] == "build"
    rewrite(project / "app.py", "def handler(event, context):\n    return 2\n")
    loaded, out, _ = invoke_loaded(project)
    assert not loaded and "built in" in out and "lambda-tasks: up to date" not in out
    replayed = (project / "dist" / "app.zip").read_bytes()
    assert build(project)[0]  # the replayed build stamped what it read
    (project / STAMP).unlink()
    rewrite(project / "app.py", "def handler(event, context):\n    return 3\n")
    build(project)  # no stamp: Invoke parses the command line
    rewrite(project / "app.py", "def handler(event, context):\n    return 2\n")
    assert invoke_loaded(project)[0] is False
    build(project, "--force")  # through Invoke (--force is never replayed)
    assert (project / "dist" / "app.zip").read_bytes() == replayed


def test_the_replay_keeps_the_flags(project):
    build(project, "--runtime", "python3.13")
    build(project, "--runtime", "python3.13")
    rewrite(project / "app.py", "def handler(event, context):\n    return 2\n")
    loaded, _, _ = invoke_loaded(project, "--runtime", "python3.13")
    assert not loaded and "python3.13" in json.loads((project / "layers" / "manifest.json").read_text())["runtime"]


def test_a_failing_replay_says_so_as_the_task_does(project):
    (project / "chalicelib" / "hosts.py").symlink_to("/etc/hosts")  # a link out of the project
    loaded, _, replayed = invoke_loaded(project, code=1)
    assert not loaded and replayed.startswith("error: ")
    (project / STAMP).write_text("{")  # no replay: Invoke runs the task
    loaded, _, through_invoke = invoke_loaded(project, code=1)
    assert loaded and through_invoke == replayed


@pytest.mark.parametrize("change", ["a new user Invoke config", "another environment", "a tampered command"])
def test_what_invoke_would_parse_differently_is_never_replayed(project, tmp_path, change):
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    build(project, env=env)
    build(project, env=env)
    rewrite(project / "app.py", "def handler(event, context):\n    return 2\n")
    if change == "a new user Invoke config":
        (tmp_path / "home" / ".invoke.yaml").write_text("lambda_tasks:\n  app_zip: dist/other.zip\n")
    elif change == "another environment":
        env["INVOKE_LAMBDA_TASKS_APP_ZIP"] = "dist/other.zip"
    else:
        stamp = json.loads((project / STAMP).read_text())
        stamp["command"] = ["build", "not a mapping", {}]
        (project / STAMP).write_text(json.dumps(stamp))
    loaded, _, _ = invoke_loaded(project, env=env)
    assert loaded
    if change != "a tampered command":
        assert (project / "dist" / "other.zip").is_file()  # Invoke's config was read again, and taken


def test_a_command_whose_invoke_config_sets_something_is_not_recorded(project):
    env = {**os.environ, "INVOKE_LAMBDA_TASKS_CACHE_PREFIX": "team-s3cr3t"}  # any value Invoke's config sets
    build(project, env=env)
    build(project, env=env)
    stamp = (project / STAMP).read_text()
    assert "s3cr3t" not in stamp and "command" not in json.loads(stamp)
    rewrite(project / "app.py", "def handler(event, context):\n    return 2\n")
    assert invoke_loaded(project, env=env)[0]  # the edit is built, through Invoke
