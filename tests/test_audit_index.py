"""The way out of a missing shared library, asked of a package index (a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
from elf_helpers import linked, needs_cc, write
from factory import make_project

from lambda_tasks.errors import AuditError
from lambda_tasks.package_index import PackageIndex
from lambda_tasks.report import Reporter
from lambda_tasks.shared_libraries import way_out

PROJECTS = {"fastgl-headless", "known"}


@pytest.fixture
def index() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A simple-API index listing PROJECTS; it records the headers of each request."""
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(dict(self.headers))
            name = self.path.strip("/").split("/")[-1]
            status = 200 if name in PROJECTS else 404
            body = b'{"meta": {"api-version": "1.0"}, "name": "x", "files": []}' if status == 200 else b"no"
            self.send_response(status)
            self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/", seen
    finally:
        server.shutdown()
        server.server_close()


def test_the_index_answers_yes_no_or_cannot_be_asked(index):
    url, seen = index
    assert PackageIndex(url).has("Known") is True
    assert PackageIndex(url).has("unknown") is False
    assert PackageIndex("http://127.0.0.1:9/simple/", timeout=1).has("known") is None
    assert PackageIndex(None, "offline").has("known") is None
    user_url = url.replace("http://", "http://me:s%40cret@")
    assert PackageIndex(user_url).has("known") is True
    assert seen[-1]["Authorization"] == "Basic bWU6c0BjcmV0"  # me:s@cret


def test_way_out_names_a_variant_the_index_has(index):
    url, _ = index
    assert way_out("vendor/fastgl", "libGL.so.1", PackageIndex(url)).startswith(
        "use fastgl-headless (on the package index) instead of fastgl")
    assert "the package index has no other-binary or other-headless" in way_out("other", "libx.so.1",
                                                                                PackageIndex(url))
    offline = way_out("other", "libx.so.1", PackageIndex(None, "pip is told --no-index"))
    assert "whether other-binary or other-headless exists could not be asked: pip is told --no-index" in offline
    assert "psycopg2-binary" in way_out("psycopg2", "libpq.so.5", PackageIndex(None, "offline"))  # known: not asked


@needs_cc
@pytest.mark.slow
def test_build_asks_the_index_pip_would_use(tmp_path, index):
    from factory import build

    from lambda_tasks.config import load_settings

    url, _ = index
    root = make_project(tmp_path / "app", pyproject=f'[tool.lambda-tasks]\npip_args = ["--index-url", "{url}"]\n')
    write(root / "vendor" / "fastgl" / "_gl.abi3.so", linked(("libGL.so.1",)))
    with pytest.raises(AuditError) as caught:
        build(load_settings(root, {}, {"runtime": "python3.12"}), reporter=Reporter(quiet=True))
    assert "way out for fastgl (vendor/): use fastgl-headless (on the package index) instead of fastgl" in str(
        caught.value)
    offline = load_settings(root, {}, {"runtime": "python3.12", "pip_args": ["--no-index"]})
    with pytest.raises(AuditError, match="could not be asked: pip is told --no-index"):
        build(offline, reporter=Reporter(quiet=True))
