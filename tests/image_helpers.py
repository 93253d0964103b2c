"""Container image test helpers: Debian's docker-registry (the CNCF Distribution registry) on 127.0.0.1, a small
two-architecture base image made here and copied into it by skopeo (an independent client)."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import shutil
import socket
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import urllib3

REGISTRY_BINARIES = ("docker-registry", "registry")
USER, PASSWORD = "tester", "s3cret-pass"  # the htpasswd registry's; a test password, not a secret
BASE_ENV = ["PATH=/usr/local/bin:/usr/bin:/bin", "LAMBDA_TASK_ROOT=/var/task", "LANG=C.UTF-8"]
BASE_ENTRYPOINT = ["/lambda-entrypoint.sh"]


def registry_binary() -> str | None:
    return next((found for name in REGISTRY_BINARIES if (found := shutil.which(name))), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_registry(workdir: Path, auth: bool) -> Iterator[str]:
    """A registry on 127.0.0.1:<free port> storing in ``workdir``; yields host:port; stopped on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    binary = registry_binary()
    assert binary, "docker-registry is not installed (apt-get install docker-registry; .ci/run does)"
    port = _free_port()
    config = [
        "version: 0.1",
        "log: {level: error, accesslog: {disabled: true}}",
        f"storage: {{filesystem: {{rootdirectory: {workdir / 'storage'}}}, delete: {{enabled: true}}}}",
        f"http: {{addr: 127.0.0.1:{port}}}",
    ]
    if auth:
        htpasswd = workdir / "htpasswd"
        made = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], capture_output=True, text=True, check=True)
        htpasswd.write_text(made.stdout)
        config.append(f"auth: {{htpasswd: {{realm: test-realm, path: {htpasswd}}}}}")
    path = workdir / "config.yml"
    path.write_text("\n".join(config) + "\n")
    log = open(workdir / "registry.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen([binary, "serve", str(path)], stdout=log, stderr=subprocess.STDOUT)
    host = f"127.0.0.1:{port}"
    try:
        http = urllib3.PoolManager()
        deadline = time.monotonic() + 20
        while True:
            try:
                if http.request("GET", f"http://{host}/v2/", retries=False).status in (200, 401):
                    break
            except urllib3.exceptions.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the registry did not start: {(workdir / 'registry.log').read_text()[-2000:]}")
            time.sleep(0.05)
        yield host
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# ---------------------------------------------------------------------------------------- a base image


def _layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755 if name.endswith(".sh") else 0o644
            archive.addfile(info, io.BytesIO(data))
    tar = raw.getvalue()
    return gzip.compress(tar, mtime=0), "sha256:" + hashlib.sha256(tar).hexdigest()


def _blob(root: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def make_base_layout(root: Path) -> Path:
    """An OCI layout holding an image index for linux/amd64 and linux/arm64, each a few files, Env, Entrypoint and
    WorkingDir: a stand-in for public.ecr.aws/lambda/python."""
    manifests = []
    for arch in ("amd64", "arm64"):
        layer, diff_id = _layer({"lambda-entrypoint.sh": b"#!/bin/sh\nexec python3 -m awslambdaric \"$@\"\n",
                                 "var/runtime/bootstrap.py": f"ARCH = {arch!r}\n".encode(),
                                 "etc/os-release": b"NAME=test-base\n"})
        config = {"architecture": arch, "os": "linux", "created": "2024-01-01T00:00:00Z",
                  "config": {"Env": BASE_ENV, "Entrypoint": BASE_ENTRYPOINT, "WorkingDir": "/var/task"},
                  "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                  "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "test base"}]}
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                               **_blob(root, json.dumps(config).encode())},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **_blob(root, layer)}]}
        manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                          **_blob(root, json.dumps(manifest).encode()),
                          "platform": {"architecture": arch, "os": "linux"}})
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
    top = _blob(root, json.dumps(index).encode())
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (root / "index.json").write_text(json.dumps({
        "schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json", **top,
                                           "annotations": {"org.opencontainers.image.ref.name": "3.12"}}]}))
    return root


def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=120)


def push_base(layout: Path, host: str, name: str = "lambda/python:3.12", creds: bool = False) -> str:
    """Copy the base (its whole index) into the registry with skopeo; the reference to use as image_base."""
    extra = ["--dest-creds", f"{USER}:{PASSWORD}"] if creds else []
    done = skopeo("copy", "--all", "--dest-tls-verify=false", *extra, f"oci:{layout}:3.12", f"docker://{host}/{name}")
    assert done.returncode == 0, done.stderr
    return f"{host}/{name}"
