"""Issue 14's "done when", run for real: the numpy + pandas + pyarrow + scipy app, which fails as a zip with the
budget error, built as a container image for python3.12 on x86_64 and arm64, pushed to a registry, inspected
and copied by skopeo, imported from its unpacked layers, and deployed (against moto) to a function that points
at the pushed digest.

    python benchmarks/image_acceptance.py [--arch x86_64 --arch arm64]

Needs the package index, Debian's docker-registry and skopeo. The base is the tests' small two-architecture
image on a local registry (public.ecr.aws is not reachable from here), and the repository is that registry: a
local repository is accepted only with an emulator's endpoint (moto, started here on 127.0.0.1). Each step
prints what it checked; the script exits 1 at the first step that fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INVOKE = Path(sys.executable).parent / "invoke"
sys.path.insert(0, str(REPO / "tests"))

from image_helpers import make_base_layout, push_base, running_registry  # noqa: E402

REQUIREMENTS = "numpy\npandas\npyarrow\nscipy\n"
APP = ("import numpy, pandas, pyarrow, scipy.linalg\n\n"
       "def handler(event, context):\n"
       "    return float(scipy.linalg.det(numpy.eye(3)) + len(pandas.DataFrame({'a': [1]})))\n")


def step(name: str, command: list[str], cwd: Path, env: dict[str, str], expect_failure: bool = False,
         stdout_only: bool = False) -> str:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    ok = (done.returncode != 0) if expect_failure else (done.returncode == 0)
    output = done.stdout + done.stderr
    print(f"{'ok  ' if ok else 'FAIL'} {name} ({seconds:.1f} s, exit {done.returncode})")
    if not ok:
        print(output[-4000:])
        sys.exit(1)
    return done.stdout if stdout_only else output


def project(root: Path, arch: str, extra: str) -> Path:
    root.mkdir(parents=True)
    (root / "app.py").write_text(APP)
    (root / "requirements.txt").write_text(REQUIREMENTS)
    (root / "tasks.py").write_text("from lambda_tasks.tasks import ns\n")
    (root / "pyproject.toml").write_text(f'[tool.lambda-tasks]\nruntime = "python3.12"\narch = "{arch}"\n{extra}')
    return root


def accept(arch: str, scratch: Path, host: str, base: str, env: dict[str, str]) -> None:
    print(f"\n== python3.12 {arch}")
    zipped = project(scratch / f"zip-{arch}", arch, "")
    out = step("zip build refused with the budget error", [str(INVOKE), "build"], zipped, env, expect_failure=True)
    first = next((line for line in out.splitlines() if line.startswith("error:")), "")
    print(f"     {first}")
    assert len(first) < 160, "the first line of the error is too long"
    assert 'package_type = "image"' in out, "the budget error does not name the way out"
    repository = f"{host}/accept-{arch}"
    image = project(scratch / f"image-{arch}", arch, f'package_type = "image"\nimage_base = "{base}"\n'
                    f'image_repository = "{repository}"\nfunction_name = "accept-{arch}"\n'
                    'memory = 2048\ntimeout = 60\n')
    step("image build", [str(INVOKE), "build"], image, env)
    manifest = json.loads((image / "layers" / "manifest.json").read_text())["image"]
    size = sum(layer["unzipped_bytes"] for layer in manifest["layers"])
    print(f"     {len(manifest['layers'])} layers of ours, {size / 1e6:.0f} MB uncompressed; "
          f"digest {manifest['digest']}")
    inspected = json.loads(step("skopeo inspect oci:dist/image", ["skopeo", "inspect", "oci:dist/image"], image,
                                env, stdout_only=True))
    assert inspected["Architecture"] == {"x86_64": "amd64", "arm64": "arm64"}[arch], inspected["Architecture"]
    out = step("verify (handler imported from the unpacked layers)", [str(INVOKE), "verify"], image, env)
    for line in out.splitlines():
        if "not checked" in line or "imported" in line or "verify" in line:
            print(f"     {line}")
    step("publish-image", [str(INVOKE), "publish-image"], image, env)
    pushed = f"docker://{repository}@{manifest['digest']}"
    step("skopeo inspect the pushed image", ["skopeo", "inspect", "--tls-verify=false", pushed], image, env)
    step("skopeo copy to an OCI layout and back", ["skopeo", "copy", "--src-tls-verify=false", pushed,
                                                  f"oci:{scratch / f'copy-{arch}'}:x"], image, env)
    step("skopeo copy back to the registry", ["skopeo", "copy", "--dest-tls-verify=false",
                                              f"oci:{scratch / f'copy-{arch}'}:x", f"docker://{repository}:copied"],
         image, env)
    summary = json.loads(step("deploy (against moto)", [str(INVOKE), "deploy", "--json"], image, env,
                              stdout_only=True))
    import boto3

    client = boto3.client("lambda", region_name=env["AWS_DEFAULT_REGION"])
    for function in summary["functions"]:
        found = client.get_function(FunctionName=function["name"])
        uri = found["Code"]["ImageUri"]
        assert uri == f"{repository}@{manifest['digest']}", uri
        assert found["Configuration"]["PackageType"] == "Image"
        print(f"     {function['name']}: PackageType Image, ImageUri {uri}, "
              f"{found['Configuration'].get('Architectures')}")
    again = step("deploy again", [str(INVOKE), "deploy", "--json"], image, env, stdout_only=True)
    assert json.loads(again)["changed"] is False, "a second deploy changed something"
    print("     nothing changed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", action="append", choices=["x86_64", "arm64"])
    args = parser.parse_args()
    from moto.server import ThreadedMotoServer

    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # deploy attaches AWSLambdaBasicExecutionRole
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        address, port = server.get_host_and_port()
        with tempfile.TemporaryDirectory(prefix="lt-image-accept-") as tmp:
            scratch = Path(tmp)
            env = {**os.environ, "LAMBDA_TASKS_CACHE": str(scratch / "cache"), "CI": "true",
                   "AWS_ENDPOINT_URL": f"http://{address}:{port}", "AWS_ACCESS_KEY_ID": "testing",
                   "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
            os.environ.update({k: env[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                   "AWS_DEFAULT_REGION")})
            with running_registry(scratch / "registry", auth=False) as host:
                base = push_base(make_base_layout(scratch / "base"), host)
                for arch in args.arch or ["x86_64", "arm64"]:
                    accept(arch, scratch, host, base, env)
    finally:
        server.stop()
    print("\nall steps passed")


if __name__ == "__main__":
    main()
