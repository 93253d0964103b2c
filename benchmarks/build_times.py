"""Times `invoke build` on examples/hello: a cold build, a no-op rebuild and an app-only rebuild.

    python benchmarks/build_times.py [--runs 5]

Each figure is the median wall time of the real command in a fresh process (Python and Invoke start-up
included), in a scratch copy of the example so the checkout is left alone. "cold" empties lambda-tasks'
cache and pip's (PIP_NO_CACHE_DIR), so it includes resolving and downloading. Goals: no-op < 0.3 s,
app-only < 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INVOKE = Path(sys.executable).parent / "invoke"


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median printed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lt-bench-") as tmp:
        work = Path(tmp, "hello")
        shutil.copytree(REPO / "examples" / "hello", work)
        (work / "tasks.py").write_text("from lambda_tasks.tasks import ns\n")
        cache = Path(tmp, "cache")
        env = {**os.environ, "LAMBDA_TASKS_CACHE": str(cache), "CI": "true"}
        command = [str(INVOKE), "build"]
        cold = []
        for _ in range(args.runs):
            shutil.rmtree(cache, ignore_errors=True)
            shutil.rmtree(work / "layers", ignore_errors=True)
            shutil.rmtree(work / "dist", ignore_errors=True)
            cold.append(timed(command, work, {**env, "PIP_NO_CACHE_DIR": "1"}))
        noop = [timed(command, work, env) for _ in range(args.runs)]
        app_only = []
        handler = work / "chalicelib" / "greeting.py"
        original = handler.read_text()
        for run in range(args.runs):
            handler.write_text(original + f"# edit {run}\n")
            app_only.append(timed(command, work, env))
        bare = Path(tmp, "bare")
        bare.mkdir()
        (bare / "tasks.py").write_text("from invoke import task\n\n@task\ndef noop(c):\n    pass\n")
        floor = [timed([str(INVOKE), "noop"], bare, env) for _ in range(args.runs)]
    print(f"examples/hello, {args.runs} runs each, median wall time of `invoke build`:")
    for label, values, goal in [("cold build (empty caches)", cold, None), ("no-op rebuild", noop, 0.3),
                                ("app-only rebuild", app_only, 0.5), ("bare invoke task (the floor)", floor, None)]:
        note = f"  goal < {goal:.1f} s: {'met' if statistics.median(values) < goal else 'MISSED'}" if goal else ""
        print(f"  {label:30s} {statistics.median(values):6.3f} s  (min {min(values):.3f}, max {max(values):.3f}){note}")


if __name__ == "__main__":
    main()
