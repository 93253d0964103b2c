"""Times a container image build and push for a dependency set over Lambda's 250 MB (numpy, pandas, pyarrow,
scipy for python3.12), against our zip build of the same dependencies.

    python benchmarks/image.py [--arch x86_64|arm64] [--gzip stream|members] [--runs 3]

Needs the package index, Debian's docker-registry and skopeo (as the tests use them).
The base image is the tests' small one pushed to a local registry (nothing fetched from public.ecr.aws), so the
figures are our layers' work. Each figure is one run of the real `invoke` command in a fresh process, wall time
and CPU time (user + system, with its children: pip's too):

  zip        `invoke build` with package_type = "zip" and the unzipped limit raised (it fails otherwise)
  cold       as benchmarks/compare.py means it: nothing cached (empty lambda-tasks and uv caches, pip's off, no
             dist/, no layers/): each build resolves, downloads, checks and packs. The zip build and the image
             build of a run go back to back, so that a pair sees the same load on a shared machine
  warm       wheels cached (downloaded and checked once, before, in a cache shared by every warm build), no
             dist/, no layers/: the image's own work (inflating every file for the diff_id) against the zip's
  --force    `invoke build --force`, zip then image: pip resolves again (from the index), every layer's entries
             compared, unchanged layers kept
  no-op      nothing changed
  app-only   app.py edited
  push 1-3   the first push (everything), a push after the app-only change, a push with nothing changed
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (the command and what it waited for) and its stdout."""
    cpu = children_cpu()
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed, children_cpu() - cpu, result.stdout


def project(root: Path, arch: str, extra: str) -> Path:
    root.mkdir(parents=True)
    (root / "app.py").write_text("import numpy, pandas, pyarrow, scipy.linalg\n\n"
                                 "def handler(event, context):\n    return float(numpy.ones(3).sum())\n")
    (root / "requirements.txt").write_text(REQUIREMENTS)
    (root / "tasks.py").write_text("from lambda_tasks.tasks import ns\n")
    (root / "pyproject.toml").write_text(f'[tool.lambda-tasks]\nruntime = "python3.12"\narch = "{arch}"\n{extra}')
    return root


def pushed_bytes(stdout: str) -> str:
    lines = [line for line in stdout.splitlines() if line.startswith("image: ")]
    return lines[-1] if lines else "(no push line)"


def invoke(*args: str) -> list[str]:
    return [str(INVOKE), *args]


def fresh(root: Path) -> Path:
    for built in ("dist", "layers"):
        shutil.rmtree(root / built, ignore_errors=True)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=["x86_64", "arm64"], default="x86_64")
    parser.add_argument("--gzip", choices=["stream", "members"], default="stream", help="image_gzip")
    parser.add_argument("--runs", type=int, default=1, help="zip / image pairs, cold and warm, back to back")
    args = parser.parse_args()
    figures: list[tuple[str, float, float, str]] = []  # name, wall, cpu, note
    with tempfile.TemporaryDirectory(prefix="lt-image-bench-") as tmp:
        scratch = Path(tmp)
        env = {**os.environ, "LAMBDA_TASKS_CACHE": str(scratch / "cache"), "CI": "true"}
        env.pop("PIP_NO_INDEX", None)
        with running_registry(scratch / "registry", auth=False) as host:
            base = push_base(make_base_layout(scratch / "base"), host)
            zipped = project(scratch / "zip", args.arch, f"unzipped_limit = {2 * 1024 ** 3}\ns3_bucket = \"unused\"\n")
            image = project(scratch / "image", args.arch, f'package_type = "image"\nimage_base = "{base}"\n'
                            f'image_repository = "{host}/bench"\nimage_gzip = "{args.gzip}"\n')
            ratios, cold = [], []
            for number in range(1, args.runs + 1):  # cold: each build of the pair with empty caches
                walls = []
                for which, root in (("zip", zipped), ("image", image)):
                    caches = scratch / f"empty-{which}-{number}"
                    bare = {**env, "LAMBDA_TASKS_CACHE": str(caches / "lt"), "UV_CACHE_DIR": str(caches / "uv"),
                            "PIP_NO_CACHE_DIR": "1"}
                    wall, cpu, _ = run(invoke("build"), fresh(root), bare)
                    walls.append(wall)
                    figures.append((f"{which} cold, run {number}", wall, cpu, ""))
                cold.append(walls[1] / walls[0])
                figures[-1] = (*figures[-1][:3], f"{cold[-1]:.2f}x the zip build")
            run(invoke("build"), fresh(zipped), env)  # downloads and checks the wheels into the shared cache (untimed)
            for number in range(1, args.runs + 1):
                zip_wall, zip_cpu, _ = run(invoke("build"), fresh(zipped), env)
                wall, cpu, _ = run(invoke("build"), fresh(image), env)
                ratios.append(wall / zip_wall)
                figures += [(f"zip warm, run {number}", zip_wall, zip_cpu, ""),
                            (f"image warm, run {number}", wall, cpu, f"{wall / zip_wall:.2f}x the zip build")]
            zip_force = run(invoke("build", "--force"), zipped, env)
            force = run(invoke("build", "--force"), image, env)
            figures += [("zip build --force", *zip_force[:2], ""),
                        ("image build --force", *force[:2], f"{force[0] / zip_force[0]:.2f}x zip --force")]
            figures.append(("image no-op", *run(invoke("build"), image, env)[:2], ""))
            wall, cpu, out = run(invoke("publish-image"), image, env)
            figures.append(("push 1 (first)", wall, cpu, pushed_bytes(out)))
            (image / "app.py").write_text((image / "app.py").read_text() + "# edited\n")
            figures.append(("image app-only", *run(invoke("build"), image, env)[:2], ""))
            for name in ("push 2 (after app-only)", "push 3 (nothing changed)"):
                wall, cpu, out = run(invoke("publish-image"), image, env)
                figures.append((name, wall, cpu, pushed_bytes(out)))
            manifest = json.loads((image / "layers" / "manifest.json").read_text())
        layers = manifest["image"]["layers"]
        print(f"dependencies: {REQUIREMENTS.split()}; python3.12 {args.arch}; image_gzip = {args.gzip}; "
              f"{len(layers)} layers of ours, {sum(layer['unzipped_bytes'] for layer in layers) / 1e6:.0f} MB "
              f"uncompressed, {sum(layer['size'] for layer in layers) / 1e6:.0f} MB gzipped; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        print(f"{'step':28} {'wall':>8} {'cpu':>8}")
        for name, wall, cpu, note in figures:
            print(f"{name:28} {wall:7.2f}s {cpu:7.2f}s  {note}")
        verdict = "met" if cold and max(cold) <= 1.5 else "MISSED"
        print(f"cold image / cold zip build, each run's pair: {', '.join(f'{r:.2f}x' for r in cold)} "
              f"(goal: at most 1.5x: {verdict})")
        print(f"warm image / warm zip build (wheels cached), each run's pair: "
              f"{', '.join(f'{r:.2f}x' for r in ratios)} (no goal)")


if __name__ == "__main__":
    main()
