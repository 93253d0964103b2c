"""Side by side: lambda-tasks vs `chalice package` (automatic_layer) vs plain `pip install -t` + `zip -r`.

    python benchmarks/compare.py --setup [--uv] [--runs 3]
    python benchmarks/compare.py --rebuilds [--runs 15]    # only the no-op and app-only figures, and the floor

Builds one Chalice app whose requirements are requests, pydantic, numpy and pandas (issue 6's set, for
python3.11 x86_64) with each tool, in one run, and prints every figure, the ratios and the goals (met or
MISSED). Everything lives under benchmarks/.work/compare (git-ignored). `--setup` creates a venv there and
installs Chalice from the index; without it Chalice's figures are skipped when that venv is missing. `--uv`
installs uv into this interpreter's environment when it is missing (it is a dependency of lambda-tasks:
`installer = "auto"`, the default, resolves with it). "ours cold" is the default installer; "ours cold,
installer = pip" the same build with pip.

Every figure is the wall time of the real command in a fresh process, median of --runs (min and max shown).
All tools see the same pip configuration (this machine's pip.conf and PIP_* variables).
  cold      nothing cached: PIP_NO_CACHE_DIR=1, an empty LAMBDA_TASKS_CACHE / UV_CACHE_DIR, no
            .chalice/deployments, no outputs. Alternates between two project directories: the layers of
            all cold builds must be byte-identical (determinism).
  warm      wheels cached (lambda-tasks' cache), layers/ and dist/ removed.
  no-op     nothing changed; Chalice: `chalice package` again with its deployment cache.
  app-only  app.py edited; only dist/app.zip is rebuilt. With --rebuilds also through `invoke build` (a tasks.py
            in the project), whose Invoke loads before lambda-tasks can look at the stamp.
  floor     a bare Invoke task that does nothing (Python and Invoke start-up), run right after each no-op and
            each app-only build (side by side, so that both see the same load).
Every process may write and read Python's bytecode caches (PYTHONDONTWRITEBYTECODE is dropped): without them
each start compiles every module again, the floor too, and the figures measure the compiler.
Also: the peak RSS of the largest process of our cold build, and our layer's size against a fresh
level-6 recompression of the same files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "benchmarks" / ".work" / "compare"
BIN = Path(sys.executable).parent
PINS = {"requests": "2.34.2", "pydantic": "2.14.4", "numpy": "2.2.6", "pandas": "2.3.2"}
RUNTIME, PY = "python3.11", "3.11"
TARGET_ARGS = ["--platform", "manylinux2014_x86_64", "--implementation", "cp", "--python-version", PY,
               "--only-binary=:all:"]
APP = '''from chalice import Chalice

app = Chalice(app_name="bench")


@app.route("/")
def index():
    import numpy, pandas, pydantic, requests
    return {"numpy": numpy.__version__, "pandas": pandas.__version__}
'''


def run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of the largest process of ``command``; exits on failure."""
    elapsed, usage = run_usage(command, cwd, env)
    return elapsed, usage.ru_maxrss


def run_usage(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, os.struct_rusage]:
    """Wall seconds and the resource usage of ``command`` (its CPU time: user + system); exits on failure."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            out.seek(0)
            sys.exit(f"{' '.join(command)} failed in {cwd}:\n{out.read().decode(errors='replace')[-3000:]}")
    return elapsed, usage


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------------------ setup


def resolve_pins(env: dict[str, str]) -> dict[str, str]:
    """The issue's pins, or the nearest version the index has (printed)."""
    from packaging.version import Version

    def versions(name: str) -> list[str]:
        result = subprocess.run([sys.executable, "-m", "pip", "index", "versions", name], env=env,
                                capture_output=True, text=True)
        line = next((text for text in result.stdout.splitlines() if text.startswith("Available versions:")), "")
        return [v.strip() for v in line.partition(":")[2].split(",") if v.strip()]

    with ThreadPoolExecutor(4) as pool:
        found = dict(zip(PINS, pool.map(versions, PINS), strict=False))
    pins = {}
    for name, wanted in PINS.items():
        if not found[name] or wanted in found[name]:
            pins[name] = wanted
            continue
        pins[name] = min(found[name], key=lambda v: (_distance(v, wanted), Version(v) > Version(wanted)))
        print(f"note: {name}=={wanted} is not on the index; using the nearest, {pins[name]}")
    return pins


def _distance(version: str, wanted: str) -> tuple[int, ...]:
    from packaging.version import Version

    a, b = ((*Version(version).release, 0, 0, 0))[:3], ((*Version(wanted).release, 0, 0, 0))[:3]
    return tuple(abs(x - y) for x, y in zip(a, b, strict=False))


def write_project(root: Path, pins: dict[str, str], installer: str | None = None) -> Path:
    """A Chalice app pinned to ``pins``; ``installer`` None leaves lambda-tasks' default (auto)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "app.py").write_text(APP)
    (root / "requirements.txt").write_text("".join(f"{n}=={v}\n" for n, v in pins.items()))
    (root / ".chalice").mkdir(exist_ok=True)
    config = {"version": "2.0", "app_name": "bench", "automatic_layer": True,
              "stages": {"dev": {"api_gateway_stage": "api"}}}
    (root / ".chalice" / "config.json").write_text(json.dumps(config))
    (root / "pyproject.toml").write_text(
        f'[tool.lambda-tasks]\nruntime = "{RUNTIME}"\narch = "x86_64"\nlayer_name = "bench-deps"\n'
        + (f'installer = "{installer}"\n' if installer else "")
    )
    return root


def quiet(command: list[str]) -> None:
    """Run a setup command; its output only when it fails."""
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")


def versions(chalice: Path | None, has_uv: bool) -> str:
    """The tools measured, with their versions."""
    from importlib.metadata import version

    found = [f"lambda-tasks {version('lambda-tasks')}", f"pip {version('pip')}"]
    if chalice is not None:
        out = subprocess.run([str(chalice), "--version"], capture_output=True, text=True).stdout.split(",")[0]
        found.append(out.strip())
    if has_uv:
        uv = shutil.which("uv") or str(BIN / "uv")
        found.append(subprocess.run([uv, "--version"], capture_output=True, text=True).stdout.split("(")[0].strip())
    return ", ".join(found)


def chalice_bin(setup: bool) -> Path | None:
    venv = WORK / "chalice-venv"
    exe = venv / "bin" / "chalice"
    if not exe.exists() and setup:
        print(f"setup: creating {venv} and installing chalice")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        quiet([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "chalice"])
    return exe if exe.exists() else None


def uv_available(install: bool) -> bool:
    if shutil.which("uv") or (BIN / "uv").exists():
        return True
    if install:
        print("setup: installing uv into this environment")
        quiet([sys.executable, "-m", "pip", "install", "-q", "uv"])
    return bool(shutil.which("uv") or (BIN / "uv").exists())


# -------------------------------------------------------------------------------------------- measuring


class Figures:
    def __init__(self) -> None:
        self.values: dict[str, list[float]] = {}

    def add(self, label: str, seconds: float) -> None:
        self.values.setdefault(label, []).append(seconds)

    def median(self, label: str) -> float | None:
        values = self.values.get(label)
        return statistics.median(values) if values else None


def clean_outputs(project: Path) -> None:
    for name in ("layers", "dist", "out"):
        shutil.rmtree(project / name, ignore_errors=True)


def layer_zip(project: Path) -> Path:
    layers = sorted((project / "layers").glob("bench-deps-*.zip"))
    if len(layers) != 1:
        sys.exit(f"expected one layer zip in {project / 'layers'}, found {layers}")
    return layers[0]


def plain_pip_zip(project: Path, env: dict[str, str]) -> float:
    """`pip install --platform ... -t build/python` then `zip -r` (Python's zipfile when zip is missing)."""
    build = project / "plain"
    shutil.rmtree(build, ignore_errors=True)
    started = time.perf_counter()
    run([sys.executable, "-m", "pip", "install", "-q", "-r", "requirements.txt", "-t", str(build / "python"),
         *TARGET_ARGS], project, env)
    if shutil.which("zip"):
        run(["zip", "-q", "-r", str(build / "layer.zip"), "python"], build, env)
    else:
        shutil.make_archive(str(build / "layer"), "zip", build, "python")
    return time.perf_counter() - started


def recompressed_size(path: Path) -> int:
    """The size of the same entries (names, order) deflated afresh at level 6, as a zip."""
    with zipfile.ZipFile(path) as archive, tempfile.TemporaryFile() as out:
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as fresh:
            for info in archive.infolist():
                copy = zipfile.ZipInfo(info.filename, info.date_time)
                copy.external_attr, copy.compress_type = info.external_attr, zipfile.ZIP_DEFLATED
                data = archive.read(info)
                if info.is_dir() or len(zlib.compress(data, 6)) - 6 >= len(data):
                    copy.compress_type = zipfile.ZIP_STORED
                fresh.writestr(copy, data)
        return out.tell()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", action="store_true", help="install Chalice into its own venv under the work dir")
    parser.add_argument("--uv", action="store_true", help="install uv when missing and measure it against pip")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median printed)")
    parser.add_argument("--rebuilds", action="store_true", help="only the no-op and app-only builds and the floor")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    base_env = {**os.environ, "CI": "true", "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    base_env.pop("SOURCE_DATE_EPOCH", None)
    base_env.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.rebuilds:
        rebuilds(write_project(WORK / "app-a", PINS), base_env, args.runs)
        return
    pins = resolve_pins(base_env)
    chalice = chalice_bin(args.setup)
    has_uv = uv_available(args.uv)
    projects = [write_project(WORK / name, pins) for name in ("app-a", "app-b")]
    pip_project = write_project(WORK / "app-pip", pins, installer="pip")
    bare = WORK / "bare"
    bare.mkdir(exist_ok=True)
    (bare / "tasks.py").write_text("from invoke import task\n\n\n@task\ndef noop(c):\n    pass\n")
    ours = [str(BIN / "lambda-tasks"), "build"]
    figures, shas, peak = Figures(), set(), 0
    pairs: list[float] = []  # ours cold / chalice cold within one iteration (same load on the machine)
    cold_env = {**base_env, "PIP_NO_CACHE_DIR": "1"}
    print(f"pins: {' '.join(f'{n}=={v}' for n, v in pins.items())}; {RUNTIME} x86_64; {os.cpu_count()} cores; "
          f"{args.runs} runs per figure\ntools: {versions(chalice, has_uv)}")

    for number in range(args.runs):  # cold figures interleaved, so network drift hits every tool alike
        project = projects[number % 2]
        with tempfile.TemporaryDirectory(prefix="cold-", dir=WORK) as tmp:
            env = {**cold_env, "LAMBDA_TASKS_CACHE": str(Path(tmp, "cache")), "UV_CACHE_DIR": str(Path(tmp, "uv"))}
            clean_outputs(project)
            seconds, rss = run(ours, project, env)
            figures.add("ours cold", seconds)
            peak = max(peak, rss)
            shas.add(sha256(layer_zip(project)))
            clean_outputs(pip_project)
            pip_env = {**env, "LAMBDA_TASKS_CACHE": str(Path(tmp, "cache-pip"))}
            figures.add("ours cold, installer = pip", run(ours, pip_project, pip_env)[0])
            shas.add(sha256(layer_zip(pip_project)))
        if chalice is not None:
            shutil.rmtree(project / ".chalice" / "deployments", ignore_errors=True)
            clean_outputs(project)
            figures.add("chalice package cold", run([str(chalice), "package", "out"], project, cold_env)[0])
            pairs.append(figures.values["ours cold"][-1] / figures.values["chalice package cold"][-1])
        figures.add("pip install -t + zip -r", plain_pip_zip(project, cold_env))

    project = projects[0]
    env = {**base_env, "LAMBDA_TASKS_CACHE": str(WORK / "cache")}
    shutil.rmtree(WORK / "cache", ignore_errors=True)
    clean_outputs(project)
    run(ours, project, {**env, "PIP_NO_CACHE_DIR": "1"})  # fills the wheel cache
    for _ in range(args.runs):
        clean_outputs(project)
        figures.add("ours warm (wheels cached)", run(ours, project, env)[0])
    measure_rebuilds(figures, project, bare, env, max(args.runs, 5))
    if chalice is not None:
        for _ in range(max(args.runs, 5)):
            shutil.rmtree(project / "out", ignore_errors=True)
            figures.add("chalice package no change", run([str(chalice), "package", "out"], project, base_env)[0])

    layer = layer_zip(project)
    fresh = recompressed_size(layer)
    over = 100 * (layer.stat().st_size - fresh) / fresh
    report(figures, layer, fresh, over, peak, shas, chalice is not None)
    if pairs:
        print(f"\nours cold / chalice cold, each run's own pair (the machine's load varies between runs): "
              f"{', '.join(f'{pair:.3f}' for pair in pairs)}; min {min(pairs):.3f}, median "
              f"{statistics.median(pairs):.3f}")


def measure_rebuilds(figures: Figures, project: Path, bare: Path, env: dict[str, str], runs: int) -> None:
    """The no-op and app-only builds of ``project`` (built), each followed by the floor: side by side. Their CPU
    time (user + system) too: on a loaded machine it moves less than the wall time."""
    ours, floor = [str(BIN / "lambda-tasks"), "build"], [str(BIN / "invoke"), "noop"]
    run(ours, project, env)
    run(floor, bare, env)  # the bytecode caches written, the files in the page cache

    def measure(label: str, command: list[str], cwd: Path) -> None:
        wall, usage = run_usage(command, cwd, env)
        figures.add(label, wall)
        figures.add(f"{label}, CPU", usage.ru_utime + usage.ru_stime)

    app = project / "app.py"
    for number in range(runs):
        measure("ours no-op", ours, project)
        measure("bare invoke task (floor)", floor, bare)
        app.write_text(APP + f"# edit {number}\n")
        measure("ours app-only", ours, project)
        measure("bare invoke task (floor)", floor, bare)
    # `invoke build` through the project's tasks.py: Invoke loads first, so only the console script replays the
    # stamp's command without it (docs/speed.md); its own loop, since each program's build replaces the stamp
    (project / "tasks.py").write_text("from lambda_tasks.tasks import ns\n")
    through_invoke = [str(BIN / "invoke"), "build"]
    run(through_invoke, project, env)
    for number in range(runs):
        app.write_text(APP + f"# invoke edit {number}\n")
        measure("ours app-only, invoke build", through_invoke, project)
        measure("bare invoke task (floor)", floor, bare)
    (project / "tasks.py").unlink()
    app.write_text(APP)
    run(ours, project, env)


def rebuilds(project: Path, env: dict[str, str], runs: int) -> None:
    """``--rebuilds``: the project built once (wheels cached under the work directory), then the rebuilds."""
    bare = WORK / "bare"
    bare.mkdir(exist_ok=True)
    (bare / "tasks.py").write_text("from invoke import task\n\n\n@task\ndef noop(c):\n    pass\n")
    env = {**env, "LAMBDA_TASKS_CACHE": str(WORK / "cache")}
    figures = Figures()
    measure_rebuilds(figures, project, bare, env, runs)
    print(f"\n{'figure':34s} {'median':>8s} {'min':>8s} {'max':>8s}   ({runs} runs, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f})")
    for label, values in figures.values.items():
        print(f"{label:34s} {statistics.median(values):7.3f}s {min(values):7.3f}s {max(values):7.3f}s")
    for suffix in ("", ", CPU"):
        floor = figures.median(f"bare invoke task (floor){suffix}") or 1.0
        for label, goal in (("ours no-op", 1.2), ("ours app-only", 1.5), ("ours app-only, invoke build", 1.5)):
            value = (figures.median(f"{label}{suffix}") or 0.0) / floor
            verdict = "met" if value <= goal else "MISSED"
            print(f"{label}{suffix} / floor{suffix}: {value:.2f} (goal <= {goal}: {verdict})")


def report(figures: Figures, layer: Path, fresh: int, over: float, peak: int, shas: set[str], chalice: bool) -> None:
    print(f"\n{'figure':34s} {'median':>8s} {'min':>8s} {'max':>8s}")
    for label, values in figures.values.items():
        print(f"{label:34s} {statistics.median(values):7.3f}s {min(values):7.3f}s {max(values):7.3f}s")
    m = figures.median
    print(f"\nlayer {layer.name}: {layer.stat().st_size:,} bytes; fresh level-6 recompression {fresh:,} bytes "
          f"({over:+.2f}%)")
    print(f"peak RSS of the largest process of our cold build: {peak / 1024:.0f} MiB")
    print("\nratio                                        value   goal     result")
    rows: list[tuple[str, float | None, str, bool | None]] = []

    def ratio(label: str, a: str, b: str, goal: float) -> None:
        x, y = m(a), m(b)
        value = x / y if x is not None and y else None
        rows.append((label, value, f"<= {goal}", None if value is None else value <= goal))

    if chalice:
        ratio("ours cold / chalice cold", "ours cold", "chalice package cold", 0.25)
        ratio("ours warm / chalice cold", "ours warm (wheels cached)", "chalice package cold", 0.25)
        ratio("ours no-op / chalice no change", "ours no-op", "chalice package no change", 0.4)
        ratio("ours app-only / chalice no change", "ours app-only", "chalice package no change", 0.4)
    ratio("ours no-op / bare invoke task", "ours no-op", "bare invoke task (floor)", 1.2)
    ratio("ours app-only / bare invoke task", "ours app-only", "bare invoke task (floor)", 1.5)
    ratio("ours cold / pip install -t + zip -r", "ours cold", "pip install -t + zip -r", 1.0)
    if chalice:
        x, y = m("ours cold, installer = pip"), m("chalice package cold")
        rows.append(("ours cold, installer = pip / chalice cold", x / y if x and y else None, "info", None))
    rows.append(("layer size over level-6 recompression %", over, "<= 2", over <= 2))
    rows.append(("peak RSS MiB", peak / 1024, "< 300", peak / 1024 < 300))
    rows.append(("distinct layer sha256 over cold builds", float(len(shas)), "== 1", len(shas) == 1))
    for label, value, goal, met in rows:
        shown = "n/a" if value is None else f"{value:.3f}"
        verdict = "" if met is None else ("met" if met else "MISSED")
        print(f"{label:42s} {shown:>8s}  {goal:8s} {verdict}")
    if not chalice:
        print("(Chalice not measured: run with --setup to install it into benchmarks/.work/compare/chalice-venv)")


if __name__ == "__main__":
    main()
