"""The catalogue of bad inputs and faults (issues 10 and 11), each through the real `lambda-tasks` command.

For each: exit code 1 (130 for Ctrl-C), no traceback, the error's first line (under 160 characters), the
artifacts of the last good build byte-identical, and no temp file left behind.
"""

from __future__ import annotations

import os
import select
import signal
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import interruptible, offline_pyproject
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
    env: dict[str, str] = field(default_factory=dict)  # added to the command's environment
    recovers: Callable[[Path, Path], None] | None = None  # puts the input right: a build must then succeed


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


# -- issue 23: nothing crosses the boundary unchecked ------------------------------------------------------------

OUTSIDE = Path(tempfile.gettempdir()) / "lambda-tasks-outside"


def _outside(kind: str) -> Path:
    """A file or directory outside every project, made once."""
    (OUTSIDE / "lib").mkdir(parents=True, exist_ok=True)
    (OUTSIDE / "lib" / "stolen.py").write_text("SECRET = 1\n")
    (OUTSIDE / "app.py").write_text("def handler(event, context):\n    return 1\n")
    return OUTSIDE / kind


def _replace_with_link(rel: str, target: Callable[[Path], Path]) -> Callable[[Path, Path], None]:
    def change(root: Path, wheelhouse: Path) -> None:
        import shutil

        path = root / rel
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif os.path.lexists(path):
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target(root))

    return change


def _fifo(rel: str) -> Callable[[Path, Path], None]:
    def change(root: Path, wheelhouse: Path) -> None:
        path = root / rel
        if os.path.lexists(path):
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)

    return change


def _remove(rel: str) -> Callable[[Path, Path], None]:
    def change(root: Path, wheelhouse: Path) -> None:
        import shutil

        path = root / rel
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif os.path.lexists(path):
            path.unlink()

    return change


def _restore_app(root: Path, wheelhouse: Path) -> None:
    _remove("app.py")(root, wheelhouse)
    (root / "app.py").write_text("import purelib\n\ndef handler(event, context):\n    return purelib.NAME\n")


def _unset_last_setting(root: Path, wheelhouse: Path) -> None:
    lines = (root / "pyproject.toml").read_text().splitlines(keepends=True)
    (root / "pyproject.toml").write_text("".join(lines[:-1]))


_GOOD_APP = "import purelib\n\ndef handler(event, context):\n    return purelib.NAME\n"
_DEEP = "[" * 100_000 + "]" * 100_000
_ARN = "arn:aws:lambda:eu-west-1:123456789012"
_CHALICE_APP = "from chalice import Chalice\n\napp = Chalice(app_name='x')\n"


def _deep(root: Path) -> None:
    (root / "layers" / "manifest.json").write_text(_DEEP)

BOUNDARY_CASES = [
    # -- roots: app.py, chalicelib and vendor themselves are checked, not only what is inside them
    Case("app-link-outside", _replace_with_link("app.py", lambda r: _outside("app.py")), "points outside the project",
         recovers=_restore_app),
    Case("chalicelib-link-outside", _replace_with_link("chalicelib", lambda r: _outside("lib")),
         "points outside the project", recovers=_remove("chalicelib")),
    Case("vendor-link-outside-root", _replace_with_link("vendor", lambda r: _outside("lib")),
         "points outside the project", recovers=_remove("vendor")),
    Case("chalicelib-is-a-file", _both(_remove("chalicelib"), _write("chalicelib", "x\n")), "not a directory",
         recovers=_remove("chalicelib")),
    Case("app-py-is-a-directory", _both(_remove("app.py"), lambda r, w: (r / "app.py").mkdir()), "not a regular file",
         recovers=_restore_app),
    # -- special files: refused before any read (a FIFO blocks forever, /dev/zero never ends)
    Case("chalicelib-fifo", _fifo("chalicelib/pipe"), "is a FIFO", recovers=_remove("chalicelib/pipe")),
    Case("chalicelib-link-to-fifo", _both(_fifo("data/pipe"), _replace_with_link("chalicelib/p", lambda r: r / "data" /
                                                                                    "pipe")),
         "is a FIFO", recovers=_remove("chalicelib/p")),
    Case("chalicelib-link-to-dev-zero", _replace_with_link("chalicelib/zero", lambda r: Path("/dev/zero")),
         "points outside the project", recovers=_remove("chalicelib/zero")),
    Case("vendor-fifo", _fifo("vendor/pipe"), "is a FIFO", recovers=_remove("vendor")),
    Case("app-py-fifo", _fifo("app.py"), "is a FIFO", recovers=_restore_app),
    Case("requirements-is-a-directory", _both(_remove("requirements.txt"), lambda r, w: (r / "requirements.txt").mkdir()),
         "is a directory, not a regular file",
         recovers=_both(_remove("requirements.txt"), _requirements("purelib\n"))),
    Case("requirements-fifo", _fifo("requirements.txt"), "FIFO", recovers=_both(_remove("requirements.txt"),
                                                                                 _requirements("purelib\n"))),
    Case("event-dev-zero", lambda r, w: None, "character device", args=["verify", "--event", "/dev/zero"]),
    Case("event-fifo", _fifo("event.json"), "FIFO", args=["verify", "--event", "event.json"]),
    Case("event-too-big", _write("event.json", '"' + "x" * (7 * 1024 * 1024) + '"'), "over 6 MB",
         args=["verify", "--event", "event.json"]),
    Case("chalicelib-char-device", lambda r, w: os.mknod(r / "chalicelib" / "zero", stat.S_IFCHR | 0o600,
                                                          os.makedev(1, 5)),
         "is a character device", recovers=_remove("chalicelib/zero")),
    Case("chalice-config-fifo", _both(_write("app.py", _CHALICE_APP), _fifo(".chalice/config.json")), "FIFO",
         recovers=_both(_restore_app, _remove(".chalice/config.json"))),
    # -- bounded parsing: one line, never a RecursionError
    Case("chalice-config-deeply-nested", _both(_write("app.py", _CHALICE_APP), _write(".chalice/config.json", _DEEP)),
         "config.json is nested too deeply", recovers=_both(_restore_app, _remove(".chalice/config.json"))),
    Case("manifest-deeply-nested-report", lambda r, w: _deep(r), "manifest.json cannot be used: nested too deeply",
         args=["report"], rebuilds=True),
    Case("event-deeply-nested", _write("event.json", _DEEP), "nested too deeply",
         args=["verify", "--event", "event.json"]),
    Case("app-py-deeply-nested", _write("app.py", "x = " + _DEEP + "\n"), "app.py", recovers=_restore_app),
    Case("app-py-deep-unary", _write("app.py", "x = " + "-" * 100_000 + "1\n"), "nested too deeply",
         recovers=_restore_app),
    Case("epoch-text", lambda r, w: None, "SOURCE_DATE_EPOCH must be", env={"SOURCE_DATE_EPOCH": "yesterday"}),
    Case("epoch-negative", lambda r, w: None, "SOURCE_DATE_EPOCH must be", env={"SOURCE_DATE_EPOCH": "-5"}),
    Case("epoch-huge", lambda r, w: None, "SOURCE_DATE_EPOCH must be", env={"SOURCE_DATE_EPOCH": "9" * 30}),
    Case("requirements-latin-1", _write("requirements.txt", "# caf\xe9\npurelib\n".encode("latin-1")),
         "requirements.txt is not UTF-8", recovers=_requirements("purelib\n")),
    # -- names and places checked when the settings are loaded
    Case("layer-name-dotdot", _setting('layer_name = "../../*"\n'), "AWS would refuse: layer_name",
         recovers=_unset_last_setting),
    Case("layer-name-slash", _setting('layer_name = "a/b"\n'), "AWS would refuse: layer_name",
         recovers=_unset_last_setting),
    Case("extra-layer-other-region", _setting(f'regions = ["us-east-1"]\nextra_layers = ["{_ARN}:layer:x:1"]\n'),
         "AWS would refuse: extra_layers"),
    Case("function-arn-other-region", _setting('regions = ["us-east-1"]\n'), "AWS would refuse: function_name",
         args=["deploy", "--plan", "--function-name", f"{_ARN}:function:f"]),
    Case("role-other-partition", _setting('regions = ["us-east-1"]\nrole = "arn:aws-cn:iam::123456789012:role/r"\n'),
         "AWS would refuse: role"),
    Case("function-layer-other-region", _setting(f'regions = ["us-east-1"]\n[[tool.lambda-tasks.functions]]\n'
                                                 f'name = "f"\nlayers = ["{_ARN}:layer:x:1"]\n'),
         "AWS would refuse: functions"),
    Case("vendor-dir-outside", _setting('vendor_dir = "../elsewhere"\n'), "must be a path inside"),
    Case("app-zip-outside", _setting('app_zip = "../out/app.zip"\n'), "must be a path inside"),
    Case("layers-dir-absolute", _setting('layers_dir = "/tmp/layers"\n'), "must be a path inside"),
    Case("app-paths-outside", _setting('app_paths = ["../shared"]\n'), "must be a path inside"),
    # -- app code (issue 27): what app.py imports from the project ships, or the build says so
    Case("app-paths-missing", _setting('app_paths = ["todo"]\n'), "app_paths names todo",
         recovers=_unset_last_setting),
    Case("import-not-shipped", _both(_write("todo/__init__.py", "X = 1\n"), _write("app.py", "import todo\n" + _GOOD_APP)),
         "imports todo, a module of the project that does not ship", recovers=_setting('app_paths = ["todo"]\n')),
    Case("import-module-not-shipped", _both(_write("helpers.py", "X = 1\n"),
                                            _write("chalicelib/x.py", "from helpers import X\n")),
         "imports helpers", recovers=_remove("helpers.py")),
]
CASES += BOUNDARY_CASES


@pytest.fixture
def project(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "purelib", "1.0")
    app = "import purelib\n\ndef handler(event, context):\n    return purelib.NAME\n"
    root = make_project(tmp_path / "proj", "purelib\n", app=app,
                        pyproject=offline_pyproject(wheelhouse))
    (root / "chalicelib").mkdir(exist_ok=True)
    (root / "chalicelib" / "__init__.py").write_text("")
    return root


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "lambda-tasks"), *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1", **(env or {})}, timeout=300)


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for d in ("dist", "layers") if (root / d).is_dir() for p in sorted((root / d).rglob("*"))
            if p.is_file() and p.name not in {".lambda-tasks.lock", ".up-to-date.json"}}  # bookkeeping, not shipped


def assert_failed_cleanly(result: subprocess.CompletedProcess[str], code: int, first_line: str) -> str:
    assert result.returncode == code, result.stdout + result.stderr
    # no traceback of ours; the function's own log, which verify echoes as Lambda logs it ("  | "), may hold one
    ours = [line for line in (result.stderr + result.stdout).splitlines() if not line.startswith("  | ")]
    assert not any("Traceback" in line for line in ours), result.stdout + result.stderr
    # warnings may come before the error (verify's static check); the error's own first line is what counts
    first = next((line for line in result.stderr.strip().splitlines() if not line.startswith("warning: ")), "")
    assert first.startswith(("error: ", "interrupted")), result.stderr
    assert len(first) < 160, first
    return first


#: Cases that fail for a known reason outside this catalogue, each with it (strict: fixed, they must be moved back).
KNOWN: dict[str, str] = {}  # cases that fail for a known reason, marked xfail(strict=True)


@pytest.mark.parametrize("case", [pytest.param(case, marks=pytest.mark.xfail(strict=True, reason=KNOWN[case.id]))
                                  if case.id in KNOWN else case for case in CASES], ids=[case.id for case in CASES])
def test_bad_input(case: Case, project: Path, wheelhouse: Path):
    if case.baseline:
        good = run(["build"], project)
        assert good.returncode == 0, good.stderr
    before = snapshot(project)
    case.change(project, wheelhouse)
    result = run(case.args, project, case.env)
    first = assert_failed_cleanly(result, case.code, case.first_line)
    assert case.first_line in result.stderr, first
    assert "s3cr3t" not in result.stdout + result.stderr
    if case.id != "dist-is-a-file" and not case.rebuilds:
        after = snapshot(project)
        assert after == before
    assert not [p for p in project.rglob("*.tmp")]
    if case.recovers:  # the spoilt input put right, a build succeeds again
        case.recovers(project, wheelhouse)
        again = run(["build"], project)
        assert again.returncode == 0, again.stderr


def test_ctrl_c_while_waiting_exits_130(project):
    with build_lock(project / "layers"):
        process = subprocess.Popen([str(BIN / "lambda-tasks"), "build"], cwd=project, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)
        said = ""
        deadline = time.monotonic() + 60
        while "waiting for another lambda-tasks command" not in said and time.monotonic() < deadline:
            if select.select([process.stdout], [], [], 1)[0]:  # ready: it says so once it waits for the lock
                said += process.stdout.readline()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert "Traceback" not in err and err.strip().splitlines()[0].startswith("interrupted")


def test_catalogue_is_large_enough():
    assert len(CASES) + 1 >= 40  # issue 11 asks for at least 40, the cases of issue 10 included




# -- issue 23: the manifest is input, not truth; half-done states; templates ---------------------------------------


def _manifest(root: Path) -> dict:
    import json

    return json.loads((root / "layers" / "manifest.json").read_text())


def _spoil_manifest(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def spoil(root: Path) -> None:
        import json

        data = _manifest(root)
        change(data)
        (root / "layers" / "manifest.json").write_text(json.dumps(data))

    return spoil


def _etc_passwd(data: dict) -> None:
    import hashlib

    secret = Path("/etc/passwd").read_bytes()
    data["layers"][0].update(path="/etc/passwd", sha256=hashlib.sha256(secret).hexdigest(), zip_bytes=len(secret))


def _other_project(data: dict) -> None:
    other = OUTSIDE / "other" / "dist"
    other.mkdir(parents=True, exist_ok=True)
    (other / "app.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    data["app"]["path"] = "../" * 12 + str(other / "app.zip").lstrip("/")


def _tamper_layer(root: Path) -> None:
    """The layer zip's bytes changed in place, its size kept."""
    layer = root / _manifest(root)["layers"][0]["path"]
    data = bytearray(layer.read_bytes())
    data[40] ^= 0xFF
    layer.write_bytes(bytes(data))


MANIFEST_FAULTS = {
    "etc-passwd-layer": _spoil_manifest(_etc_passwd),
    "other-projects-app-zip": _spoil_manifest(_other_project),
    "absolute-app-path": _spoil_manifest(lambda d: d["app"].update(path="/etc/hostname")),
    "wrong-types": _spoil_manifest(lambda d: d.update(layers={"a": 1}, app=[1])),
    "hash-not-hex": _spoil_manifest(lambda d: d["layers"][0].update(sha256="../../etc/passwd")),
    "size-is-text": _spoil_manifest(lambda d: d["app"].update(zip_bytes="12")),
    "deep-nesting": _deep,
    "not-json": lambda root: (root / "layers" / "manifest.json").write_text("{"),
    "huge": lambda root: (root / "layers" / "manifest.json").write_text(" " * (5 * 1024 * 1024) + "{}"),
    "tampered-layer-same-size": _tamper_layer,
}


def _layers_agree(root: Path) -> None:
    """Every file the manifest names is in the project's output, with the manifest's size and sha256."""
    import hashlib

    data = _manifest(root)
    for artifact in [data["app"], *data["layers"]]:
        path = (root / artifact["path"]).resolve()
        assert path.is_relative_to(root.resolve()), artifact["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == artifact["sha256"], artifact["path"]


@pytest.mark.parametrize("force", [False, True], ids=["build", "build-force"])
@pytest.mark.parametrize("fault", list(MANIFEST_FAULTS), ids=list(MANIFEST_FAULTS))
def test_a_spoilt_manifest_is_rebuilt_never_used(fault: str, force: bool, project: Path):
    if force and fault not in {"tampered-layer-same-size", "etc-passwd-layer"}:
        pytest.skip("--force rebuilds these anyway; the two that matter are run")
    assert run(["build"], project).returncode == 0
    good = snapshot(project)
    MANIFEST_FAULTS[fault](project)
    result = run(["build", *(["--force"] if force else [])], project)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    _layers_agree(project)
    assert snapshot(project) == good  # the same bytes as the good build: nothing of the spoilt manifest kept
    assert not list(project.rglob("*.tmp"))


@pytest.mark.parametrize("fault", ["etc-passwd-layer", "wrong-types", "deep-nesting", "huge", "hash-not-hex",
                                   "tampered-layer-same-size"])
def test_commands_that_read_the_manifest_give_one_line_naming_it(fault: str, project: Path):
    assert run(["build"], project).returncode == 0
    MANIFEST_FAULTS[fault](project)
    result = run(["report"], project)
    first = assert_failed_cleanly(result, 1, "")
    assert "manifest.json" in first or "is not the zip the manifest records" in first
    assert not (project / "layers" / "report.html").exists()


@pytest.mark.parametrize("fault", ["etc-passwd-layer", "other-projects-app-zip"])
def test_publish_never_uses_a_path_the_manifest_names_outside(fault: str, project: Path, moto_env, unique_name):
    name = unique_name("deps")
    _append(project / "pyproject.toml", f'layer_name = "{name}"\n')
    assert run(["build"], project).returncode == 0
    MANIFEST_FAULTS[fault](project)
    result = run(["publish-layer"], project)
    assert result.returncode == 0, result.stderr
    assert "building anew" in result.stderr
    _layers_agree(project)
    import boto3

    layer = _manifest(project)["layers"][0]
    versions = boto3.client("lambda", region_name="us-east-1").list_layer_versions(LayerName=f"{name}-1")
    number = versions["LayerVersions"][0]["Version"]
    content = boto3.client("lambda", region_name="us-east-1").get_layer_version(LayerName=f"{name}-1",
                                                                                 VersionNumber=number)["Content"]
    assert content["CodeSize"] == layer["zip_bytes"]  # our layer, not /etc/passwd


def test_the_stale_sweep_removes_only_the_builds_own_zips(project: Path):
    assert run(["build"], project).returncode == 0
    neighbour = project / "layers" / "notes.zip"
    neighbour.write_bytes(b"mine")
    beside = project.parent / "unrelated-1.zip"
    beside.write_bytes(b"mine too")
    _append(project / "pyproject.toml", 'layer_name = "../../*"\n')
    result = run(["build"], project)
    assert_failed_cleanly(result, 1, "layer_name")
    _unset_last_setting(project, project)
    (project / "requirements.txt").write_text("")  # no layer at all now: the old one is stale
    assert run(["build"], project).returncode == 0
    assert neighbour.read_bytes() == b"mine" and beside.read_bytes() == b"mine too"
    assert not list((project / "layers").glob("*-deps-*.zip"))


def test_a_full_disk_while_the_app_zip_is_written_keeps_zips_and_manifest_in_agreement(project: Path, wheelhouse):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    assert run(["build"], project).returncode == 0
    before = snapshot(project)
    make_wheel(wheelhouse, "otherlib", "1.0")
    (project / "requirements.txt").write_text("purelib\notherlib\n")  # a new layer zip to write
    (project / "chalicelib" / "blob.bin").write_bytes(os.urandom(400_000))  # an app zip bigger than the disk
    import shutil

    shutil.rmtree(project / "dist")
    (project / "dist").mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(project / "dist")],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr!r}")
    try:
        result = run(["build"], project)
        assert_failed_cleanly(result, 1, "")
        assert "No space left" in result.stderr
        after = {k: v for k, v in snapshot(project).items() if not k.startswith("dist/")}
        assert after == {k: v for k, v in before.items() if not k.startswith("dist/")}  # the old layer, the old manifest
        assert not list(project.rglob("*.tmp"))
    finally:
        subprocess.run(["umount", str(project / "dist")], check=True)
    (project / "chalicelib" / "blob.bin").unlink()
    again = run(["build"], project)
    assert again.returncode == 0, again.stderr
    _layers_agree(project)


def test_an_epoch_before_1980_is_clamped_for_zips(project: Path):
    result = run(["build"], project, {"SOURCE_DATE_EPOCH": "100"})
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(project / "dist" / "app.zip") as archive:
        assert archive.infolist()[0].date_time[:3] == (1980, 1, 1)


def test_a_utf16_requirements_file_is_refused_naming_it(project: Path):
    assert run(["build"], project).returncode == 0
    before = snapshot(project)
    (project / "requirements.txt").write_bytes("purelib\n".encode("utf-16"))
    first = assert_failed_cleanly(run(["build"], project), 1, "")
    assert "requirements.txt is UTF-16 or UTF-32 text" in first
    assert snapshot(project) == before
    (project / "requirements.txt").write_text("purelib\n")
    assert run(["build"], project).returncode == 0


def test_app_paths_ship_a_package_beside_app_py(project: Path):
    (project / "todo").mkdir()
    (project / "todo" / "__init__.py").write_text("X = 1\n")
    (project / "app.py").write_text("import todo\n" + _GOOD_APP)
    _append(project / "pyproject.toml", 'app_paths = ["todo"]\n')
    result = run(["build"], project)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(project / "dist" / "app.zip") as archive:
        assert "todo/__init__.py" in archive.namelist()


def test_terraform_strings_are_never_templates(project: Path):
    import json

    _append(project / "pyproject.toml", 'environment = { LEAK = "${file(\\"/etc/passwd\\")}", PCT = "%{ if true }x%{ endif }" }\n'
            'function_name = "f"\n')
    result = run(["package", "--format", "terraform"], project)
    assert result.returncode == 0, result.stderr
    document = json.loads((project / "layers" / "lambda.tf.json").read_text())
    variables = next(iter(document["resource"]["aws_lambda_function"].values()))["environment"]["variables"]
    assert variables == {"LEAK": '$${file("/etc/passwd")}', "PCT": "%%{ if true }x%%{ endif }"}
