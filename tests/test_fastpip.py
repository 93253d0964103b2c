"""fastpip's shortcuts must never change which wheels pip picks."""

import os
import subprocess
import sys

import pytest
from factory import make_wheel

from lambda_tasks.resolve.fastpip import wheel_fits
from lambda_tasks.targets import Target

ACCEPTED = frozenset(str(tag) for tag in Target("python3.12", "arm64").tags)


def test_wheel_fits_matches_the_target():
    assert wheel_fits("numpy-2.1.3-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", ACCEPTED)
    assert not wheel_fits("numpy-2.1.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", ACCEPTED)
    assert not wheel_fits("numpy-2.1.3-cp312-cp312-win_amd64.whl", ACCEPTED)
    assert wheel_fits("six-1.17.0-py2.py3-none-any.whl", ACCEPTED)
    assert wheel_fits("pkg-1.0-1build-cp312-abi3-manylinux_2_34_aarch64.whl", ACCEPTED)  # with a build tag
    assert wheel_fits("pkg-1.0.tar.gz", ACCEPTED) and wheel_fits("odd-name.whl", ACCEPTED)  # pip decides


def _download(module: list[str], wheelhouse, dest, env):
    target = Target("python3.12", "arm64")
    command = [sys.executable, *module, "download", "--no-index", "--find-links", str(wheelhouse), "-d", str(dest),
               "lib", *target.pip_target_args()]
    subprocess.run(command, check=True, capture_output=True, env=env)
    return sorted(os.listdir(dest))


@pytest.mark.slow
def test_same_choice_as_plain_pip(tmp_path, wheelhouse):
    for tag in ("cp312-cp312-manylinux_2_17_aarch64", "cp312-cp312-manylinux_2_35_aarch64",
                "cp312-abi3-manylinux_2_28_aarch64", "cp312-cp312-manylinux_2_17_x86_64", "py3-none-any"):
        make_wheel(wheelhouse / tag, "lib", version="1.0", tag=tag)
    make_wheel(wheelhouse, "lib", version="2.0", tag="cp312-cp312-manylinux_2_35_aarch64")  # too new a glibc
    for path in wheelhouse.rglob("*.whl"):
        path.rename(wheelhouse / path.name)
    env = {**os.environ, "LAMBDA_TASKS_WHEEL_TAGS": " ".join(sorted(ACCEPTED))}
    plain = _download(["-m", "pip"], wheelhouse, tmp_path / "plain", env)
    fast = _download(["-m", "lambda_tasks.resolve.fastpip"], wheelhouse, tmp_path / "fast", env)
    assert fast == plain == ["lib-1.0-cp312-cp312-manylinux_2_17_aarch64.whl"]


def test_json_page_guard_accepts_this_pip():
    from lambda_tasks.resolve.fastpip import _json_pages_patchable

    assert _json_pages_patchable()
    code = ("from lambda_tasks.resolve.fastpip import _patch_json_pages\n"
            "from pip._internal.models.link import Link\n"
            "_patch_json_pages(frozenset({'py3-none-any'}))\n"
            "page = 'https://index.example/simple/lib/'\n"
            "print(Link.from_json({'filename': 'lib-1.0-cp312-cp312-win_amd64.whl', 'url': 'lib.whl'}, page),\n"
            "      Link.from_json({'filename': 'lib-1.0-py3-none-any.whl', 'url': 'lib-1.whl'}, page).url)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["None", "https://index.example/simple/lib/lib-1.whl"]


def test_json_page_guard_leaves_a_changed_pip_alone(monkeypatch):
    from pip._internal.models.link import Link

    from lambda_tasks.resolve.fastpip import _patch_json_pages

    def renamed(cls, data, page_url):
        return None

    for changed in (staticmethod(lambda file_data, page_url: None), classmethod(renamed)):
        monkeypatch.setattr(Link, "from_json", changed)
        _patch_json_pages(ACCEPTED)
        assert Link.__dict__["from_json"] is changed


def _json_index(wheelhouse):
    """A PEP 691 JSON index of ``wheelhouse`` on localhost; returns (url, server)."""
    import http.server
    import json
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            name = self.path.strip("/").split("/")[-1]
            if self.path.startswith("/simple/"):
                files = [{"filename": path.name, "url": f"/files/{path.name}", "hashes": {}}
                         for path in sorted(wheelhouse.glob(f"{name}-*")) if path.name.endswith((".whl", ".tar.gz"))]
                body = json.dumps({"meta": {"api-version": "1.0"}, "name": name, "files": files}).encode()
                kind = "application/vnd.pypi.simple.v1+json"
            else:
                body, kind = (wheelhouse / name).read_bytes(), "application/octet-stream"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/simple/", server


@pytest.mark.slow
def test_same_choice_as_plain_pip_on_a_json_index(tmp_path, wheelhouse):
    for tag in ("cp312-cp312-manylinux_2_17_aarch64", "cp312-cp312-manylinux_2_17_x86_64", "cp311-cp311-win_amd64",
                "py3-none-any"):
        make_wheel(wheelhouse, "lib", version="1.0", tag=tag)
    make_wheel(wheelhouse, "lib", version="2.0", tag="cp312-cp312-manylinux_2_17_x86_64")  # not for arm64
    url, server = _json_index(wheelhouse)
    try:
        target = Target("python3.12", "arm64")
        env = {**os.environ, "LAMBDA_TASKS_WHEEL_TAGS": " ".join(sorted(ACCEPTED))}
        chosen = []
        for module in (["-m", "pip"], ["-m", "lambda_tasks.resolve.fastpip"]):
            dest = tmp_path / module[-1]
            command = [sys.executable, *module, "download", "--index-url", url, "-d", str(dest), "lib",
                       "--no-cache-dir", *target.pip_target_args()]
            subprocess.run(command, check=True, capture_output=True, env=env)
            chosen.append(sorted(os.listdir(dest)))
    finally:
        server.shutdown()
    assert chosen[0] == chosen[1] == ["lib-1.0-cp312-cp312-manylinux_2_17_aarch64.whl"]


@pytest.mark.slow
def test_sdists_dropped_early_change_neither_the_choice_nor_the_error(tmp_path, wheelhouse):
    """pip is binary-only for another platform: an sdist on a JSON page is dropped before pip parses it, and
    pip's choice and its "from versions" list stay the same; each wheel pip fetches is shared at once."""
    from lambda_tasks.resolve.fastpip import FETCHED_VARIABLE
    from lambda_tasks.resolve.process import pip_command

    make_wheel(wheelhouse, "lib", version="1.0", tag="cp312-cp312-manylinux_2_17_aarch64")
    make_wheel(wheelhouse, "lib", version="2.0", tag="cp312-cp312-manylinux_2_17_x86_64")
    (wheelhouse / "lib-3.0.tar.gz").write_bytes(b"an sdist pip must not fetch")
    url, server = _json_index(wheelhouse)
    fetched = tmp_path / "fetched"
    fetched.mkdir()
    env = {**os.environ, "LAMBDA_TASKS_WHEEL_TAGS": " ".join(sorted(ACCEPTED)), FETCHED_VARIABLE: str(fetched)}
    target = Target("python3.12", "arm64")
    try:
        results = []
        for number, head in enumerate(([sys.executable, "-m", "pip"], pip_command()[:2])):
            for spec in ("lib", "lib==3.0"):
                dest = tmp_path / f"{number}-{spec}"
                command = [*head, "download", "--index-url", url, "-d", str(dest), spec, "--no-cache-dir",
                           *target.pip_target_args()]
                done = subprocess.run(command, capture_output=True, text=True, env=env)
                found = [line for line in done.stdout.splitlines() + done.stderr.splitlines() if "versions:" in line]
                results.append((done.returncode, sorted(os.listdir(dest)) if dest.exists() else [], found))
    finally:
        server.shutdown()
    assert results[0] == results[2] and results[1] == results[3]
    assert results[0][1] == ["lib-1.0-cp312-cp312-manylinux_2_17_aarch64.whl"]
    assert results[1][0] != 0 and "(from versions: 1.0)" in results[1][2][0]
    assert sorted(os.listdir(fetched)) == ["lib-1.0-cp312-cp312-manylinux_2_17_aarch64.whl"]  # fastpip's run only
