"""The catalogue of bad inputs and faults (issues 10 and 11), each through the real `lambda-tasks` command.

For each: exit code 1 (130 for Ctrl-C), no traceback, the error's first line (under 160 characters), the
artifacts of the last good build byte-identical, and no temp file left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import offline_pyproject
from factory import COMPILED, make_project, make_sdist, make_wheel
from factory_sdists import make_local_project
from test_integrity import bad_crc_wheel, truncated_wheel

from lambda_tasks.assemble.output_lock import build_lock

BIN = Path(sys.executable).parent
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@dataclass
class Case:
    """A bad input: ``change`` spoils a project that built fine (when ``baseline``), then ``args`` must fail."""

    id: str
    change: Callable[[Path, Path], None]
    first_line: str  # a substring of the error's first line
    args: list[str] = field(default_factory=lambda: ["build"])
    baseline: bool = True
    code: int = 1
    rebuilds: bool = False  # the command rebuilds the changed sources first (verify), then fails


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def _setting(text: str) -> Callable[[Path, Path], None]:
    return lambda root, wheelhouse: _append(root / "pyproject.toml", text)


def _requirements(text: str) -> Callable[[Path, Path], None]:
    return lambda root, wheelhouse: (root / "requirements.txt").write_text(text)


def _write(rel: str, data: bytes | str) -> Callable[[Path, Path], None]:
    def change(root: Path, wheelhouse: Path) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())

    return change


def _vendor_wheel(**kwargs: object) -> Callable[[Path, Path], None]:
    return lambda root, wheelhouse: make_wheel(root / "vendor", **kwargs)  # type: ignore[arg-type]


def _both(*changes: Callable[[Path, Path], None]) -> Callable[[Path, Path], None]:
    def change(root: Path, wheelhouse: Path) -> None:
        for one in changes:
            one(root, wheelhouse)

    return change


def _no_app(root: Path, wheelhouse: Path) -> None:
    (root / "app.py").unlink()


def _dist_is_a_file(root: Path, wheelhouse: Path) -> None:
    import shutil

    shutil.rmtree(root / "dist")
    (root / "dist").write_text("not a directory\n")


def _sdist(name: str, fail: str = "", tag: str = "py3-none-any", compiled: bool = False) -> Callable[[Path, Path], None]:
    def change(root: Path, wheelhouse: Path) -> None:
        make_sdist(wheelhouse, name, fail=fail, tag=tag,
                   extra_files={f"{name}/_native.so": COMPILED} if compiled else None)
        _append(root / "requirements.txt", f"{name}\n")

    return change


def _noise(size: int) -> str:
    import random

    rng = random.Random(size)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(size))


CASES = [
    # -- settings
    Case("unknown-setting", _setting('runtme = "python3.12"\n'), "unknown setting 'runtme'", baseline=False),
    Case("bad-runtime", _setting('runtime = "python3.9"\n'), "runtime 'python3.9' is not a supported", baseline=False),
    Case("bad-arch", _setting('arch = "amd64"\n'), "arch 'amd64' is not a Lambda architecture", baseline=False),
    Case("bad-toml", _setting("[tool.lambda-tasks\n"), "is not valid TOML", baseline=False),
    Case("bad-bool", _setting("slim = 3\n"), "setting 'slim'", baseline=False),
    Case("max-layers", _setting("max_layers = 7\n"), "setting 'max_layers'", baseline=False),
    Case("extra-layers", _setting('extra_layers = ["a", "b", "c", "d", "e"]\n'), "setting 'extra_layers'",
         baseline=False),
    Case("layer-groups", _setting("layer_groups = { purelib = 0 }\n"), "setting 'layer_groups'", baseline=False),
    Case("installer", _setting('installer = "poetry"\n'), "setting 'installer'", baseline=False),
    Case("functions-no-name", _setting('functions = [{ handler = "app.handler" }]\n'), "each function needs",
         baseline=False),
    Case("project-dir-missing", lambda r, w: None, "does not exist; check --project-dir",
         args=["build", "--project-dir", "nowhere"], baseline=False),
    # -- the project
    Case("no-app", _no_app, "no app.py in"),
    Case("secret-env", _write("chalicelib/.env", "TOKEN=abc\n"), "secret"),
    Case("zip-slip", _vendor_wheel(name="evil", files={"evil/__init__.py": "", "../../evil.py": "x = 1\n"}),
         "refusing 1 unsafe path in the layers"),
    Case("vendor-wrong-tag", _vendor_wheel(name="native", tag="cp39-cp39-win_amd64"), "is not built for"),
    Case("vendor-collision", _write("vendor/purelib/__init__.py", "X = 1\n"), "collides with"),
    Case("non-utf8-name", lambda root, w: (root / "chalicelib").joinpath(os.fsdecode(b"caf\xe9.py")).write_text(""),
         "not valid UTF-8"),
    Case("dist-is-a-file", _dist_is_a_file, "Not a directory"),
    # -- requirements
    Case("unknown-package", _requirements("purelib\nno-such-package-xyz\n"), "no-such-package-xyz"),
    Case("invalid-line", _requirements("purelib\nthis is not a requirement!\n"), "invalid requirement"),
    Case("empty-pin", _requirements("purelib==\n"), "invalid requirement 'purelib=='"),
    Case("conflict", _requirements("purelib==1.0\npurelib==2.0\n"), "purelib"),
    Case("sdist-fails", _sdist("brokenpkg", fail="boom"), "brokenpkg"),
    Case("sdist-compiled", _sdist("nativepkg", tag="cp311-cp311-linux_x86_64", compiled=True), "nativepkg"),
    # -- limits
    Case("over-budget", _both(_write("chalicelib/big.txt", _noise(40_000)), _setting("unzipped_limit = 30000\n")),
         "over Lambda's"),
    Case("layers-over-budget", _both(_requirements("purelib\n"), _setting("unzipped_limit = 400\n")),
         "layers over the unzipped size limit"),
    Case("layer-groups-pin", _setting("layer_groups = { purelib = 5 }\nmax_layers = 2\n"), "layer_groups pins"),
    # -- verify
    Case("event-missing", lambda r, w: None, "event file", args=["verify", "--event", "nope.json"]),
    Case("event-not-json", _write("event.json", "{not json"), "is not JSON", args=["verify", "--event", "event.json"]),
    Case("handler-not-module-function", _setting('handler = "nodot"\n'), "is not module.function",
         args=["verify"]),
    Case("handler-missing", _setting('handler = "app.nothere"\n'), "defines no nothere", args=["verify"]),
    Case("import-missing", _write("app.py", "import not_installed_anywhere\n\ndef handler(e, c):\n    return 1\n"),
         "not_installed_anywhere", args=["verify"], rebuilds=True),
    # -- links and damaged files
    Case("link-outside", lambda root, w: (root / "chalicelib" / "passwd").symlink_to("/etc/passwd"),
         "points outside the project"),
    Case("link-loop", lambda root, w: ((root / "chalicelib" / "a").symlink_to(root / "chalicelib" / "b"),
                                        (root / "chalicelib" / "b").symlink_to(root / "chalicelib" / "a")),
         "is a loop"),
    Case("link-dangling", lambda root, w: (root / "chalicelib" / "gone.py").symlink_to(root / "nowhere.py"),
         "is dangling"),
    Case("vendor-link-outside", lambda root, w: ((root / "vendor").mkdir(), (root / "vendor" / "x").symlink_to("/etc")),
         "points outside the project"),
    Case("vendor-bad-crc", lambda root, w: bad_crc_wheel(root / "vendor", zipfile.ZIP_DEFLATED), "vendor/privatepkg"),
    Case("vendor-truncated", lambda root, w: truncated_wheel(root / "vendor"), "vendor/privatepkg"),
    Case("vendor-bad-name", _write("vendor/notawheel.whl", b"PK\x05\x06" + b"\0" * 18), "not a valid wheel file name"),
    Case("requirements-missing", _setting('requirements = "reqs/prod.txt"\n'), "reqs/prod.txt"),
    Case("local-compiled", lambda root, w: (make_local_project(root / "libs" / "fast", "fast", ext="required"),
                                            _append(root / "requirements.txt", "./libs/fast\n")), "fast"),
    Case("local-missing", _requirements("purelib\n./libs/nothere\n"), "libs/nothere"),
    Case("index-credentials", _requirements("--index-url https://user:s3cr3t@127.0.0.1:9/simple\nsix\n"), "six"),
    # -- deploy (refused before any AWS call)
    Case("deploy-no-function", lambda r, w: None, "no function to deploy", args=["deploy", "--plan"]),
    Case("deploy-memory-0", lambda r, w: None, "AWS would refuse: memory",
         args=["deploy", "--function-name", "f", "--memory", "0"]),
    Case("deploy-timeout-plan", lambda r, w: None, "AWS would refuse: timeout",
         args=["deploy", "--plan", "--function-name", "f", "--timeout", "99999"]),
    Case("deploy-env-name", _setting('environment = { "1BAD" = "x" }\n'), "AWS would refuse: environment",
         args=["deploy", "--plan", "--function-name", "f"]),
    Case("deploy-env-reserved", _setting('environment = { AWS_REGION = "x" }\n'), "AWS would refuse: environment",
         args=["deploy", "--plan", "--function-name", "f"]),
    Case("deploy-env-too-big", _setting(f'environment = {{ BIG = "{"x" * 5000}" }}\n'), "AWS would refuse",
         args=["deploy", "--plan", "--function-name", "f"]),
    Case("deploy-function-name", lambda r, w: None, "AWS would refuse: function",
         args=["deploy", "--plan", "--function-name", "x" * 65]),
    Case("deploy-alias-digits", lambda r, w: None, "AWS would refuse: alias",
         args=["deploy", "--plan", "--function-name", "f", "--alias", "123"]),
    Case("deploy-role", lambda r, w: None, "AWS would refuse: role",
         args=["deploy", "--plan", "--function-name", "f", "--role", "not-an-arn"]),
    Case("deploy-region", lambda r, w: None, "AWS would refuse: region",
         args=["deploy", "--plan", "--function-name", "f", "--region", "mars-1"]),
    Case("deploy-handler-module", _setting('handler = "nowhere.handler"\n'), "handler",
         args=["deploy", "--plan", "--function-name", "f"]),
]


@pytest.fixture
def project(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "purelib", "1.0")
    app = "import purelib\n\ndef handler(event, context):\n    return purelib.NAME\n"
    root = make_project(tmp_path / "proj", "purelib\n", app=app,
                        pyproject=offline_pyproject(wheelhouse))
    (root / "chalicelib").mkdir(exist_ok=True)
    (root / "chalicelib" / "__init__.py").write_text("")
    return root


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "lambda-tasks"), *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}, timeout=300)


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for d in ("dist", "layers") if (root / d).is_dir() for p in sorted((root / d).rglob("*"))
            if p.is_file() and p.name != ".lambda-tasks.lock"}


def assert_failed_cleanly(result: subprocess.CompletedProcess[str], code: int, first_line: str) -> str:
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    first = (result.stderr.strip().splitlines() or [""])[0]
    assert first.startswith(("error: ", "interrupted")), result.stderr
    assert len(first) < 160, first
    return first


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case: Case, project: Path, wheelhouse: Path):
    if case.baseline:
        good = run(["build"], project)
        assert good.returncode == 0, good.stderr
    before = snapshot(project)
    case.change(project, wheelhouse)
    result = run(case.args, project)
    first = assert_failed_cleanly(result, case.code, case.first_line)
    assert case.first_line in result.stderr, first
    assert "s3cr3t" not in result.stdout + result.stderr
    if case.id != "dist-is-a-file" and not case.rebuilds:
        after = snapshot(project)
        assert after == before
    assert not [p for p in project.rglob("*.tmp")]


def test_ctrl_c_while_waiting_exits_130(project):
    with build_lock(project / "layers"):
        process = subprocess.Popen([str(BIN / "lambda-tasks"), "build"], cwd=project, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (project / "layers").exists():
            time.sleep(0.1)
        time.sleep(2)  # in the wait loop by now
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert "Traceback" not in err and err.strip().splitlines()[0].startswith("interrupted")


def test_catalogue_is_large_enough():
    assert len(CASES) + 1 >= 40  # issue 11 asks for at least 40, the cases of issue 10 included
