"""Many functions, many regions, many runners: a parallel deploy against a sequential one, and a second runner's
build from the shared S3 cache against a cold build.

    python benchmarks/deploy_scale.py [--latency 0.05] [--skip-cache]

AWS is moto's server on 127.0.0.1 behind a loopback proxy the benchmark starts, which holds each request and
each response for half of ``--latency`` (so every call costs about that much more, as a call to a real AWS region
does). The figures:

- deploy: 8 functions x 3 regions (one layer, created then published in each region), ``max_parallel = 1``
  against the default 8; each run with its own function and layer names, so each creates everything.
  Goal: parallel at most 0.25x sequential.
- cache: the numpy + pandas + pyarrow app (needs the package index), built by ``lambda-tasks build`` in fresh
  processes: runner A cold without a cache, runner B cold with ``cache_bucket`` (a miss: builds, then uploads),
  runner C (another checkout path, another empty cache directory) with the same bucket: a hit.
  Goal: C at most 0.15x A, and no resolver run (C's output says so; it has no "resolve:" line).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
FUNCTIONS = 8


# ---------------------------------------------------------------- the latency proxy


class LatencyProxy:
    """TCP on 127.0.0.1: each burst of bytes (a request, a response) waits ``delay`` seconds before it is passed
    on. A burst is what arrives after a pause of over 5 ms on the connection's direction."""

    def __init__(self, upstream: tuple[str, int], delay: float) -> None:
        self.upstream, self.delay = upstream, delay
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            client, _ = self.server.accept()
            upstream = socket.create_connection(self.upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        last = 0.0
        try:
            while True:
                data = source.recv(1 << 16)
                if not data:
                    break
                now = time.monotonic()
                if now - last > 0.005:
                    time.sleep(self.delay)
                last = time.monotonic()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


# ---------------------------------------------------------------- deploy


def deploy_figures(endpoint: str, tmp: Path) -> tuple[float, float]:
    import io

    import boto3

    from lambda_tasks import commands
    from lambda_tasks.config import load_settings
    from lambda_tasks.deploy.functions import deploy_functions
    from lambda_tasks.report import Reporter

    role = boto3.client("iam", region_name="us-east-1", endpoint_url=endpoint).create_role(
        RoleName=f"bench-{os.getpid()}", AssumeRolePolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": '
        '"Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}')["Role"]["Arn"]
    figures = []
    for parallel in (1, 8):
        project = tmp / f"deploy-{parallel}"
        (project / "vendor").mkdir(parents=True)
        (project / "vendor" / "helper.py").write_text("VALUE = 1\n")
        (project / "app.py").write_text("def handler(event, context):\n    return 1\n")
        (project / "requirements.txt").write_text("")
        name = f"bench{os.getpid()}p{parallel}"
        flags = {"runtime": "python3.12", "layer_name": f"{name}-deps", "role": role, "regions": REGIONS,
                 "functions": [{"name": f"{name}-f{n}"} for n in range(FUNCTIONS)], "max_parallel": parallel}
        settings = load_settings(project, {}, flags)
        manifest = commands.run_build(settings, reporter=Reporter(io.StringIO()))
        started = time.perf_counter()
        deploy_functions(settings, manifest, reporter=Reporter(io.StringIO()))
        figures.append(time.perf_counter() - started)
    return figures[0], figures[1]


# ---------------------------------------------------------------- the shared cache


def build_once(project: Path, cache: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run([str(BIN / "lambda-tasks"), "build"], cwd=project, capture_output=True, text=True,
                            env={**env, "LAMBDA_TASKS_CACHE": str(cache), "PIP_NO_CACHE_DIR": "1"})
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"build failed in {project}:\n{result.stdout}\n{result.stderr}")
    return elapsed, result.stdout + result.stderr


def cache_figures(endpoint: str, tmp: Path) -> tuple[float, float, float, str]:
    import boto3

    bucket = f"bench-cache-{os.getpid()}"
    boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "CI": "true"}

    def checkout(runner: str, cached: bool) -> Path:
        project = tmp / runner / "work" / "app"
        project.mkdir(parents=True)
        (project / "app.py").write_text("import numpy, pandas, pyarrow\n\ndef handler(event, context):\n"
                                        "    return int(numpy.arange(3).sum())\n")
        (project / "requirements.txt").write_text("numpy\npandas\npyarrow\n")
        # slim and strip to fit 250 MiB unzipped; s3_bucket lifts the 50 MiB inline cap (pyarrow is 52 MiB zipped)
        table = ('runtime = "python3.12"\nlayer_name = "data-deps"\nslim = true\nstrip_binaries = true\n'
                 's3_bucket = "bench-artifacts"\n')
        if cached:
            table += f'cache_bucket = "{bucket}"\n'
        (project / "pyproject.toml").write_text(f"[tool.lambda-tasks]\n{table}")
        return project

    cold, _ = build_once(checkout("a", False), tmp / "a" / "cache", env)
    miss, _ = build_once(checkout("b", True), tmp / "b" / "cache", env)
    hit, output = build_once(checkout("c", True), tmp / "c" / "cache", env)
    return cold, miss, hit, output


def start_moto() -> tuple[subprocess.Popen[bytes], int]:
    """moto's server in its own process (in this one it would share the interpreter lock with the deploy)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return server, port
        except OSError:
            time.sleep(0.05)
    server.kill()
    sys.exit("moto's server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to each call (default 0.05)")
    parser.add_argument("--skip-cache", action="store_true", help="only the deploy figures (no package index)")
    parser.add_argument("--skip-deploy", action="store_true", help="only the cache figures")
    args = parser.parse_args()
    for name, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        os.environ[name] = value
    server, port = start_moto()
    proxy = LatencyProxy(("127.0.0.1", port), args.latency / 2)
    os.environ["AWS_ENDPOINT_URL"] = proxy.url
    tmp = Path(tempfile.mkdtemp(prefix="lt-scale-"))
    try:
        if not args.skip_deploy:
            sequential, parallel = deploy_figures(proxy.url, tmp)
            print(f"deploy {FUNCTIONS} functions x {len(REGIONS)} regions, {args.latency * 1000:.0f} ms per call: "
                  f"sequential {sequential:.1f}s, parallel (8) {parallel:.1f}s = {parallel / sequential:.2f}x "
                  f"(goal <= 0.25x)", flush=True)
        if not args.skip_cache:
            cold, miss, hit, output = cache_figures(proxy.url, tmp)
            resolved = "resolve:" in output
            print(f"numpy + pandas + pyarrow: cold build {cold:.1f}s, cold build storing to the cache {miss:.1f}s, "
                  f"second runner from the cache {hit:.1f}s = {hit / cold:.2f}x of cold (goal <= 0.15x); "
                  f"resolver run on the hit: {'YES' if resolved else 'no'}")
            for line in output.splitlines():
                if "shared cache" in line or line.startswith("built in"):
                    print(f"  runner C: {line}")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
