"""Issue 23's content cases, each through the real `lambda-tasks` command: secrets in any form (names in any case,
UTF-16/32, NUL bytes, Latin-1, big files, archives in vendor/, local requirements, the project's own wheels, the
tokens scanners know), wheels as pip would install them (duplicates, RECORD, file/directory collisions), and slow
ends (a black-hole index, S3 cache and registry; a hung build backend).

Each case: exit code 1, no traceback, the error's first line (under 160 characters) saying what is wrong,
nothing shipped (the last good build's artifacts byte-identical), no temp file left, and, once the change is
undone, a good rebuild.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import offline_pyproject
from factory import make_project, make_wheel
from factory_content import PRIVATE_KEY, TOKENS, black_hole, local_package, rewrite_wheel, tar_bytes, zip_bytes

BIN = Path(sys.executable).parent
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

Change = Callable[[Path, Path, str], None]  # (project, wheelhouse, a black hole's host:port)


@dataclass
class Case:
    id: str
    change: Change
    first_line: str  # a substring of the error's first line
    detail: str = ""  # a substring of the whole message
    env: dict[str, str] = field(default_factory=dict)
    seconds: float = 120  # the command ends within this many seconds


def _write(rel: str, data: bytes | str) -> Change:
    def change(root: Path, wheelhouse: Path, hole: str) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.replace("{hole}", hole).encode())

    return change


def _append(rel: str, text: str) -> Change:
    def change(root: Path, wheelhouse: Path, hole: str) -> None:
        path = root / rel
        path.write_text(path.read_text() + text.replace("{hole}", hole))

    return change


def _both(*changes: Change) -> Change:
    def change(root: Path, wheelhouse: Path, hole: str) -> None:
        for one in changes:
            one(root, wheelhouse, hole)

    return change


def _local(name: str, files: dict[str, bytes | str]) -> Change:
    def change(root: Path, wheelhouse: Path, hole: str) -> None:
        local_package(root / "libs" / name, name, files)
        (root / "requirements.txt").write_text(f"purelib\n./libs/{name}\n")

    return change


def _vendor_wheel(name: str, files: dict[str, bytes | str],
                  edit: Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]] | None = None) -> Change:
    def change(root: Path, wheelhouse: Path, hole: str) -> None:
        wheel = make_wheel(root / "vendor", name, files=files)
        if edit is not None:
            rewrite_wheel(wheel, edit)

    return change


def _index_wheel(name: str, edit: Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]]) -> Change:
    def change(root: Path, wheelhouse: Path, hole: str) -> None:
        rewrite_wheel(make_wheel(wheelhouse, name), edit)
        (root / "requirements.txt").write_text(f"purelib\n{name}\n")

    return change


def _same_size_edit(member: str) -> Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]]:
    return lambda members: [(n, d.replace(b"1", b"2") if n == member else d) for n, d in members]


def _duplicate(member: str, data: bytes) -> Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]]:
    return lambda members: [*members, (member, data)]


def _drop(predicate: Callable[[str], bool]) -> Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]]:
    return lambda members: [(n, d) for n, d in members if not predicate(n)]


def _record_size(members: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [(n, d.replace(b",18\n", b",19\n") if n.endswith("RECORD") else d) for n, d in members]


def _extra_requirement(root: Path, wheelhouse: Path, hole: str) -> None:
    """The layers go stale (so the shared cache is asked)."""
    make_wheel(wheelhouse, "extra", "1.0")
    (root / "requirements.txt").write_text("purelib\nextra\n")


def _index(installer: str) -> Change:
    return _write("pyproject.toml", f'[tool.lambda-tasks]\npip_args = ["--index-url", "http://{{hole}}/simple"]\n'
                                    f'installer = "{installer}"\n')


T = TOKENS
SECRET = "refusing to ship 1 secret-looking file"
AWS_SECRET = "wJa1rXUtnGEMI/K7MDENG/bPxRfiCYZZPLEKEQ"[:36] + "aB3d"

CASES = [
    # -- env-file names, in any case
    Case("env-upper", _write("chalicelib/.ENV", "A=1\n"), SECRET, "an environment file"),
    Case("env-suffix", _write("chalicelib/prod.env", "A=1\n"), SECRET, "chalicelib/prod.env: an environment file"),
    Case("envrc", _write("chalicelib/.envrc", "export A=1\n"), SECRET, "an environment file"),
    Case("env-vendor-mixed-case", _write("vendor/conf/.Env.Production", "A=1\n"), SECRET, "(vendored)"),
    # -- encodings
    Case("utf16-bom", _write("chalicelib/conf.txt", f"key = {T['aws']}\n".encode("utf-16")), SECRET, "AWS access key"),
    Case("utf16le-no-bom", _write("chalicelib/conf.txt", f"t = {T['github']}\n".encode("utf-16-le")), SECRET,
         "a GitHub token (ghp_"),
    Case("utf32", _write("chalicelib/conf.txt", f"t = {T['slack']}\n".encode("utf-32")), SECRET, "a Slack token"),
    Case("after-nul", _write("chalicelib/blob.dat", b"head\0\0\x01" + T["stripe"].encode()), SECRET, "Stripe"),
    Case("latin1", _write("chalicelib/notes.txt", "caf\xe9 ".encode("latin-1") + T["gitlab"].encode()), SECRET,
         "a GitLab token"),
    Case("over-1mb", _write("chalicelib/big.txt", "# filler line\n" * 150_000 + PRIVATE_KEY), SECRET,
         "PEM private key (RSA)"),
    # -- tokens
    Case("github-pat", _write("app.py", f'TOKEN = "{T["github_pat"]}"\n\ndef handler(e, c):\n    return 1\n'),
         SECRET, "GitHub fine-grained token"),
    Case("slack-webhook", _write("chalicelib/notify.py", f'URL = "{T["slack_webhook"]}"\n'), SECRET,
         "Slack webhook"),
    Case("stripe-restricted", _write("chalicelib/pay.py", f'KEY = "{T["stripe_restricted"]}"\n'), SECRET, "Stripe"),
    Case("google", _write("vendor/maps/config.js", f'const key = "{T["google"]}";\n'), SECRET, "Google API key"),
    Case("npm", _write("vendor/js/settings.json", f'{{"token": "{T["npm"]}"}}\n'), SECRET, "an npm token"),
    Case("pypi", _write("chalicelib/publish.cfg", f"password = {T['pypi']}\n"), SECRET, "a PyPI token"),
    Case("aws-secret-named", _write("chalicelib/creds.ini", f"aws_secret_access_key = {AWS_SECRET}\n"), SECRET,
         "AWS secret access key"),
    # -- archives in vendor/
    Case("zip-in-vendor", _write("vendor/data/bundle.zip", zip_bytes({"conf/.env": "A=1\n"})), SECRET,
         "inside it, conf/.env: an environment file"),
    Case("tgz-in-vendor", _write("vendor/data/keys.tar.gz", tar_bytes({"keys/id_rsa": "x" * 20})), SECRET,
         "inside it, keys/id_rsa"),
    Case("gzip-in-vendor", _write("vendor/data/config.json.gz", __import__("gzip").compress(T["google"].encode())),
         SECRET, "inside it, config.json: holds a Google API key"),
    Case("zip-in-tar-in-vendor", _write("vendor/data/all.tar", tar_bytes(
        {"inner.zip": zip_bytes({"deep/token.txt": T["github"]})}, "w")), SECRET, "inner.zip/deep/token.txt"),
    Case("zip-renamed", _write("vendor/data/blob.bin", zip_bytes({"x/.envrc": "export A=1\n"})), SECRET,
         "inside it, x/.envrc"),
    # -- local requirements and the project's own wheels
    Case("local-env", _local("mylib", {".env": "A=1\n"}), SECRET, "own wheel mylib): an environment file"),
    Case("local-id-rsa", _local("keylib", {"keys/id_rsa": "k" * 40}), SECRET, "SSH private key"),
    Case("local-token", _local("toklib", {"settings.py": f"T = '{T['github']}'\n"}), SECRET, "GitHub token"),
    Case("vendor-wheel-secret", _vendor_wheel("ownpkg", {"ownpkg/__init__.py": "", "ownpkg/k.py": f"K='{T['aws']}'\n"}),
         SECRET, "own wheel ownpkg"),
    # -- wheels as pip installs them
    Case("wheel-duplicate", _vendor_wheel("duppkg", {"duppkg/__init__.py": "X = 1\n"},
                                          _duplicate("duppkg/__init__.py", b"X = 666\n")),
         "vendor/duppkg-1.0-py3-none-any.whl has two entries named duppkg/__init__.py"),
    Case("wheel-data-duplicate", _vendor_wheel("datadup", {"datadup/a.py": "A = 1\n",
                                                           "datadup-1.0.data/purelib/datadup/a.py": "A = 2\n"}),
         "has datadup-1.0.data/purelib/datadup/a.py and datadup/a.py", "both install as datadup/a.py"),
    Case("wheel-record-hash", _vendor_wheel("hashpkg", {"hashpkg/__init__.py": "X = 1\n"},
                                            _same_size_edit("hashpkg/__init__.py")),
         "hashpkg/__init__.py does not match its RECORD hash"),
    Case("wheel-record-unlisted", _vendor_wheel("extrapkg", {"extrapkg/__init__.py": ""},
                                                _duplicate("extrapkg/evil.py", b"import os\n")),
         "holds extrapkg/evil.py, which its RECORD does not list"),
    Case("wheel-record-size", _vendor_wheel("sizepkg", {"sizepkg/__init__.py": "NAME = 'sizepkg1'\n"},
                                            _record_size), "sizepkg/__init__.py is 18 bytes, its RECORD says 19"),
    Case("wheel-no-record", _vendor_wheel("norecord", {"norecord/__init__.py": ""},
                                          _drop(lambda n: n.endswith("/RECORD"))), "has no .dist-info/RECORD"),
    Case("index-wheel-record-hash", _index_wheel("tampered", _same_size_edit("tampered-1.0.dist-info/METADATA")),
         "tampered-1.0-py3-none-any.whl: tampered-1.0.dist-info/METADATA does not match its RECORD hash"),
    Case("vendor-file-beside-package", _write("vendor/purelib", "not a package\n"),
         "vendor/purelib is a file where", "purelib-1.0-py3-none-any.whl's purelib/__init__.py"),
    Case("wheel-file-beside-package", _vendor_wheel("shadow", {"shadow/__init__.py": "", "purelib": "x\n"}),
         "shadow-1.0-py3-none-any.whl's purelib is a file where"),
    # -- slow ends
    Case("black-hole-index-pip", _both(_index("pip"), _extra_requirement), "resolve: the package index 127.0.0.1:",
         "did not answer in 4 s", {"LAMBDA_TASKS_NETWORK_TIMEOUT": "2"}, 60),
    Case("black-hole-index-uv", _both(_index("uv"), _extra_requirement), "resolve (uv pip compile): the package index",
         "did not answer", {"LAMBDA_TASKS_NETWORK_TIMEOUT": "2"}, 60),
    Case("black-hole-index-auto", _both(_index("auto"), _extra_requirement), "the package index 127.0.0.1:",
         "did not answer", {"LAMBDA_TASKS_NETWORK_TIMEOUT": "2"}, 60),
    Case("black-hole-base-image", _append("pyproject.toml", 'package_type = "image"\nimage_base = "{hole}/base:1"\n'),
         "did not answer", "the manifest of", {"LAMBDA_TASKS_NETWORK_TIMEOUT": "2"}, 60),
    Case("black-hole-cache-required", _both(_append("pyproject.toml", 'cache_bucket = "cache"\ncache_required = true\n'),
                                            _extra_requirement),
         "did not answer", "cache_required is set", {"AWS_ENDPOINT_URL_S3": "http://{hole}"}, 40),
]


def _fill(text: str, hole: str) -> str:
    return text.replace("{hole}", hole)


@pytest.fixture
def project(tmp_path: Path, wheelhouse: Path) -> Path:
    make_wheel(wheelhouse, "purelib", "1.0")
    app = "import purelib\n\ndef handler(event, context):\n    return purelib.NAME\n"
    return make_project(tmp_path / "proj", "purelib\n", app=app, pyproject=offline_pyproject(wheelhouse))


def _env(extra: dict[str, str], hole: str) -> dict[str, str]:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    for name in ("PIP_DEFAULT_TIMEOUT", "PIP_TIMEOUT", "UV_HTTP_TIMEOUT", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        env.pop(name, None)
    return {**env, **{name: _fill(value, hole) for name, value in extra.items()}}


def run(args: list[str], cwd: Path, env: dict[str, str], seconds: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "lambda-tasks"), *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=seconds)


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for d in ("dist", "layers") if (root / d).is_dir() for p in sorted((root / d).rglob("*"))
            # previous-build.json is the report's memory of the last build (a rebuild moves it on), nothing shipped
            if p.is_file() and p.name not in (".lambda-tasks.lock", "previous-build.json", ".up-to-date.json")}


def shipped(files: dict[str, bytes]) -> dict[str, object]:
    """The artifacts as shipped: the zips' bytes, the manifest without its input fingerprints."""
    import json

    return {name: {k: v for k, v in json.loads(data).items() if k != "inputs"} if name.endswith("manifest.json")
            else data for name, data in files.items()}


def sources(root: Path) -> dict[str, bytes]:
    """The project's own files (not its outputs): what a case changes and the test puts back."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).parts[0] not in {"dist", "layers"}}


def restore(root: Path, files: dict[str, bytes]) -> None:
    for path in sorted(root.rglob("*"), reverse=True):
        rel = path.relative_to(root)
        if rel.parts[0] in {"dist", "layers"}:
            continue
        if path.is_file() and rel.as_posix() not in files:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    for rel, data in files.items():
        (root / rel).write_bytes(data)


def assert_failed_cleanly(result: subprocess.CompletedProcess[str], first_line: str) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    first = (result.stderr.strip().splitlines() or [""])[0]
    assert first.startswith("error: "), result.stderr
    assert len(first) < 160, first
    assert first_line in first, result.stderr
    return first


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_content(case: Case, project: Path, wheelhouse: Path):
    with black_hole() as hole:
        env = _env(case.env, hole)
        good = run(["build"], project, _env({}, hole))
        assert good.returncode == 0, good.stderr
        before, files = snapshot(project), sources(project)
        case.change(project, wheelhouse, hole)
        started = time.monotonic()
        result = run(["build"], project, env)
        took = time.monotonic() - started
    assert_failed_cleanly(result, case.first_line)
    assert case.detail in result.stderr
    assert took < case.seconds, f"{case.id} took {took:.0f} s"
    for token in TOKENS.values():  # nothing secret printed
        assert token[-16:] not in result.stdout + result.stderr
    assert snapshot(project) == before  # nothing shipped
    assert not [p for p in project.rglob("*") if p.name.endswith((".tmp", ".part"))]
    restore(project, files)
    again = run(["build"], project, _env({}, "127.0.0.1:9"))
    assert again.returncode == 0, again.stderr
    # the same artifacts; the manifest's input fingerprints may differ: the index address is an input
    assert shipped(snapshot(project)) == shipped(before)


def test_the_catalogue_is_large_enough():
    assert len(CASES) >= 30


# ---------------------------------------------------------------------------------- slow ends, one by one


def test_a_black_hole_cache_costs_at_most_20_seconds_and_says_so(project: Path):
    """The shared cache is optional: a silent S3 is a warning, the build goes on, within 20 s of a build
    without the cache (the default deadlines, not lowered)."""
    wheelhouse = project.parent / "wheelhouse"
    assert run(["build"], project, _env({}, "127.0.0.1:9")).returncode == 0
    _extra_requirement(project, wheelhouse, "")
    baseline_started = time.monotonic()
    assert run(["build"], project, _env({}, "127.0.0.1:9")).returncode == 0  # stale layers, no cache
    baseline = time.monotonic() - baseline_started
    with black_hole() as hole:
        (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text()
                                                + 'cache_bucket = "cache"\n')
        make_wheel(wheelhouse, "third", "1.0")
        (project / "requirements.txt").write_text("purelib\nextra\nthird\n")  # stale again: the cache is asked
        started = time.monotonic()
        result = run(["build"], project, _env({"AWS_ENDPOINT_URL_S3": f"http://{hole}"}, hole))
        took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    warning = next(line for line in (result.stdout + result.stderr).splitlines() if "did not answer" in line)
    assert hole in warning and "shared cache" in warning
    assert took < baseline + 20, (took, baseline)


def test_a_hung_build_backend_is_stopped_with_its_process_group(project: Path, tmp_path: Path):
    pid_file = tmp_path / "backend.pid"
    local_package(project / "libs" / "slow", "slow", {}, sleep=str(pid_file))
    (project / "requirements.txt").write_text("purelib\n./libs/slow\n")
    started = time.monotonic()
    result = run(["build"], project, _env({"LAMBDA_TASKS_PROCESS_TIMEOUT": "8"}, "127.0.0.1:9"))
    took = time.monotonic() - started
    first = assert_failed_cleanly(result, "did not finish in 8 s")
    assert "build ./libs/slow" in first and took < 60
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    assert not _alive(pid), "the backend outlived the build"
    shutil.rmtree(project / "libs")
    (project / "requirements.txt").write_text("purelib\n")
    assert run(["build"], project, _env({}, "127.0.0.1:9")).returncode == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "zombie" in status.read_text())
