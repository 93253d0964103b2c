"""Cold import time of the examples/hello handler, with and without shipped bytecode.

Builds examples/hello twice for this interpreter's runtime (bytecode off / on) through the lambda_tasks
API, unpacks each build as /var/task + /opt into a read-only copy, and times ``import app`` in fresh
``python -I -S`` processes with Lambda's sys.path (the import only, not interpreter start-up), several
runs each, alternating, reporting the median. Read-only matters: Python cannot cache what it compiles
there, exactly as on Lambda, so without shipped pycs every cold start compiles every module again
(``-B`` enforces that even for root, whom file modes do not stop; the tree is checked to be unchanged).

    python benchmarks/cold_import.py [--runs 15] [--out benchmarks/cold_import.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lambda_tasks.assemble import build  # noqa: E402
from lambda_tasks.config import load_settings  # noqa: E402
from lambda_tasks.manifest import require  # noqa: E402
from lambda_tasks.report import Reporter  # noqa: E402
from lambda_tasks.verify import lay_out  # noqa: E402

RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}"
PROBE = """
import sys, time
sys.path[:0] = sys.argv[1:4]
start = time.perf_counter()
import app
elapsed = time.perf_counter() - start
print(elapsed)
"""


def build_variant(work: Path, bytecode: bool) -> Path:
    """Build examples/hello into ``work`` and lay it out read-only; return the layout root."""
    out = work / ("bytecode" if bytecode else "plain")
    out.mkdir(parents=True)
    settings = load_settings(out, {}, {"project_dir": str(REPO / "examples" / "hello"), "runtime": RUNTIME,
                                       "bytecode": bytecode, "layer_name": "hello-deps"})
    build(settings, force=True, reporter=Reporter(quiet=True))
    manifest = require(settings.manifest_path)
    layout = lay_out(out / "lambda", settings.output_dir / manifest.app.path,
                     [settings.output_dir / layer.path for layer in manifest.layers])
    for path in [layout.root, *layout.root.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    return layout.root


def snapshot(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*"))


def time_import(root: Path) -> float:
    task, opt = root / "var" / "task", root / "opt"
    paths = [str(task), str(opt / "python" / "lib" / RUNTIME / "site-packages"), str(opt / "python")]
    done = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", PROBE, *paths], cwd=task, capture_output=True,
                          text=True, check=True)
    return float(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this Markdown file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cold-import-") as scratch:
        roots = {"without bytecode": build_variant(Path(scratch), False),
                 "with bytecode (unchecked-hash pycs)": build_variant(Path(scratch), True)}
        before = {name: snapshot(root) for name, root in roots.items()}
        times: dict[str, list[float]] = {name: [] for name in roots}
        for _ in range(args.runs):
            for name, root in roots.items():  # alternate, so drift hits both alike
                times[name].append(time_import(root))
        for name, root in roots.items():
            assert snapshot(root) == before[name], f"{name}: the import wrote into the read-only tree"
            for path in [root, *root.rglob("*")]:
                path.chmod(0o755 if path.is_dir() else 0o644)  # so the temporary directory can be removed
    plain, fast = (statistics.median(v) for v in times.values())
    lines = [
        f"Cold `import app` of examples/hello ({RUNTIME}, {os.uname().machine}, {sys.platform}), read-only "
        f"/var/task + /opt copy, fresh `python -I -S -B` per run, median of {args.runs} runs:",
        "",
        "| variant | median ms | min ms | max ms |",
        "|---|---:|---:|---:|",
    ]
    for name, values in times.items():
        lines.append(f"| {name} | {1000 * statistics.median(values):.1f} | {1000 * min(values):.1f} | "
                     f"{1000 * max(values):.1f} |")
    lines += ["", f"Speed-up: {plain / fast:.2f}x ({1000 * (plain - fast):.1f} ms saved per cold start)."]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
