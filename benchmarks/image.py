"""Times a container image build and push for a dependency set over Lambda's 250 MB (numpy, pandas, pyarrow,
scipy for python3.12 x86_64), against our zip build of the same dependencies.

    python benchmarks/image.py

Needs the package index (the wheels are downloaded once, into a scratch cache shared by every build), Debian's
docker-registry and skopeo (as the tests use them). The base image is the tests' small one pushed to a local
registry (nothing fetched from public.ecr.aws), so the figures are our layers' work. Each figure is one run of
the real `invoke` command in a fresh process:

  zip        `invoke build` with package_type = "zip" and the unzipped limit raised (it fails otherwise)
  cold       the image from nothing but the downloaded wheels (no dist/, no layers/)
  warm       `invoke build --force`: resolved again, every layer's entries compared, unchanged layers kept
  no-op      nothing changed
  app-only   app.py edited
  push 1-3   the first push (everything), a push after the app-only change, a push with nothing changed
"""

from __future__ import annotations

import json
import os
import shutil
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


def run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed, result.stdout


def project(root: Path, extra: str) -> Path:
    root.mkdir(parents=True)
    (root / "app.py").write_text("import numpy, pandas, pyarrow, scipy.linalg\n\n"
                                 "def handler(event, context):\n    return float(numpy.ones(3).sum())\n")
    (root / "requirements.txt").write_text(REQUIREMENTS)
    (root / "tasks.py").write_text("from lambda_tasks.tasks import ns\n")
    (root / "pyproject.toml").write_text(f'[tool.lambda-tasks]\nruntime = "python3.12"\narch = "x86_64"\n{extra}')
    return root


def pushed_bytes(stdout: str) -> str:
    lines = [line for line in stdout.splitlines() if line.startswith("image: ")]
    return lines[-1] if lines else "(no push line)"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="lt-image-bench-") as tmp:
        scratch = Path(tmp)
        env = {**os.environ, "LAMBDA_TASKS_CACHE": str(scratch / "cache"), "CI": "true"}
        env.pop("PIP_NO_INDEX", None)
        with running_registry(scratch / "registry", auth=False) as host:
            base = push_base(make_base_layout(scratch / "base"), host)
            zipped = project(scratch / "zip", f"unzipped_limit = {2 * 1024 ** 3}\ns3_bucket = \"unused\"\n")
            run([str(INVOKE), "build"], zipped, env)  # downloads the wheels into the shared cache (not timed)
            shutil.rmtree(zipped / "dist")
            shutil.rmtree(zipped / "layers")
            zip_time, _ = run([str(INVOKE), "build"], zipped, env)
            image = project(scratch / "image",
                            f'package_type = "image"\nimage_base = "{base}"\nimage_repository = "{host}/bench"\n')
            figures = {"zip build (same dependencies)": zip_time}
            figures["image: cold"], _ = run([str(INVOKE), "build"], image, env)
            figures["image: warm (--force)"], _ = run([str(INVOKE), "build", "--force"], image, env)
            figures["image: no-op"], _ = run([str(INVOKE), "build"], image, env)
            push1, out1 = run([str(INVOKE), "publish-image"], image, env)
            (image / "app.py").write_text((image / "app.py").read_text() + "# edited\n")
            figures["image: app-only"], _ = run([str(INVOKE), "build"], image, env)
            push2, out2 = run([str(INVOKE), "publish-image"], image, env)
            push3, out3 = run([str(INVOKE), "publish-image"], image, env)
            manifest = json.loads((image / "layers" / "manifest.json").read_text())
        layers = manifest["image"]["layers"]
        print(f"dependencies: {REQUIREMENTS.split()}; python3.12 x86_64; {len(layers)} layers of ours, "
              f"{sum(layer['unzipped_bytes'] for layer in layers) / 1e6:.0f} MB uncompressed, "
              f"{sum(layer['size'] for layer in layers) / 1e6:.0f} MB gzipped")
        for name, seconds in figures.items():
            print(f"{name:32} {seconds:7.2f} s")
        for name, seconds, stdout in (("push 1 (first)", push1, out1), ("push 2 (after app-only)", push2, out2),
                                      ("push 3 (nothing changed)", push3, out3)):
            print(f"{name:32} {seconds:7.2f} s  {pushed_bytes(stdout)}")
        ratio = figures["image: cold"] / figures["zip build (same dependencies)"]
        print(f"cold image / zip build: {ratio:.2f}x (goal: at most 1.5x)")


if __name__ == "__main__":
    main()
