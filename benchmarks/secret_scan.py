"""The cost of the secret scan and of the RECORD comparison, measured side by side in one run.

    python benchmarks/secret_scan.py [--files 2000] [--runs 5] [--wheel PATH ...] [--before COMMIT]

1. A vendor/ of ``--files`` real files (the text files of this interpreter's site-packages, copied with their
   paths: Python, stubs, JSON, licences, ...), scanned by ``guard.check_files`` as a build does (warm page cache);
   the same by the scanner of ``--before`` (the commit before issue 23, read from git), which skipped files
   over 1 MB, archives and NUL-bearing files; and by Yelp's detect-secrets (its default plugins, per file), when
   it is importable (``pip install --target DIR detect-secrets`` and ``PYTHONPATH=DIR``).
2. For each ``--wheel``: the cold wheel check (every member inflated and its CRC checked) with and without the
   RECORD hash comparison.

Each figure is the median of ``--runs``; nothing is cached between runs except by the OS.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import types
import zipfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lambda_tasks.assemble import collect  # noqa: E402
from lambda_tasks.assemble.crc import check_wheel  # noqa: E402
from lambda_tasks.assemble.wheel_checks import check_members  # noqa: E402
from lambda_tasks.checks import guard  # noqa: E402

_TEXT = (".py", ".pyi", ".txt", ".json", ".cfg", ".toml", ".md", ".rst", ".ini", ".html", ".js", ".css", ".yaml",
         ".csv", ".xml", "LICENSE", "METADATA", "RECORD")


def make_vendor(root: Path, count: int) -> tuple[int, int]:
    """``count`` text files of site-packages under ``root``; (files, bytes)."""
    source = Path(sysconfig.get_paths()["purelib"])
    total = files = 0
    for path in sorted(source.rglob("*")):
        if files >= count:
            break
        if not path.is_file() or path.is_symlink() or not path.name.endswith(_TEXT) or "__pycache__" in path.parts:
            continue
        target = root / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        files += 1
        total += path.stat().st_size
    return files, total


def median_seconds(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def guard_before(commit: str) -> types.ModuleType | None:
    """checks/guard.py as it was at ``commit`` (its relative imports resolved in today's package)."""
    try:
        text = subprocess.run(["git", "show", f"{commit}:lambda_tasks/checks/guard.py"], cwd=REPO, check=True,
                              capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    spec = importlib.util.spec_from_loader("lambda_tasks.checks._guard_before", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "lambda_tasks.checks"
    exec(compile(text, f"guard.py@{commit}", "exec"), module.__dict__)
    return module


def detect_secrets_scan(paths: list[Path]) -> Callable[[], object] | None:
    try:
        from detect_secrets import SecretsCollection
        from detect_secrets.settings import default_settings
    except ImportError:
        return None

    def scan() -> object:
        with default_settings():
            secrets = SecretsCollection()
            for path in paths:
                secrets.scan_file(str(path))
        return secrets

    return scan


def wheel_check(wheel: Path, with_record: bool) -> None:
    with zipfile.ZipFile(wheel) as archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        record = next(archive.read(i) for i in infos if i.filename.endswith(".dist-info/RECORD"))
    rows = check_members(infos, record, wheel.name) if with_record else None
    check_wheel(wheel, infos, wheel.name, None, rows)


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--wheel", action="append", default=[], type=Path)
    parser.add_argument("--before", default="b31ade8", help="the commit whose guard.py to compare with")
    parser.add_argument("--detect-files", type=int, default=200, help="detect-secrets is slow: the files it scans "
                        "(ours is measured on the same ones for the ratio)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="secret-scan-") as tmp:
        vendor = Path(tmp, "vendor")
        files, size = make_vendor(vendor, options.files)
        entries, _ = collect.vendor_entries(vendor)
        print(f"vendor/: {files} files, {size / 1e6:.1f} MB (text files of {sysconfig.get_paths()['purelib']})")
        caches = iter(range(10_000))

        def cold() -> None:  # a cache directory of its own: no verdict of an earlier run counts
            os.environ["LAMBDA_TASKS_CACHE"] = str(Path(tmp, f"cache-{next(caches)}"))
            guard.check_files(entries)

        ours = median_seconds(cold, options.runs)
        print(f"  secret scan, now:              {ours * 1000:7.0f} ms  ({size / 1e6 / ours:.0f} MB/s)")
        again = median_seconds(lambda: guard.check_files(entries), options.runs)
        print(f"  again, files over 1 MB remembered clean: {again * 1000:7.0f} ms")
        before = guard_before(options.before)
        if before is not None:
            old = median_seconds(lambda: before.check_files(entries, ()), options.runs)
            print(f"  secret scan, {options.before} (before): {old * 1000:7.0f} ms")
        few = entries[:options.detect_files]
        scan = detect_secrets_scan([vendor / e.arcname.removeprefix("python/") for e in few])
        if scan is None:
            print("  detect-secrets:                 not importable (pip install --target DIR detect-secrets)")
        else:
            few_bytes = sum(e.size for e in few)
            theirs = median_seconds(scan, 1)
            ours_few = median_seconds(lambda: guard.check_files(few), options.runs)
            print(f"  on {len(few)} of them ({few_bytes / 1e6:.1f} MB): ours {ours_few * 1000:.0f} ms, detect-secrets "
                  f"(default plugins) {theirs * 1000:.0f} ms ({theirs / ours_few:.0f}x ours; "
                  f"{theirs / few_bytes * size:.0f} s for all {files} at that rate)")
    for wheel in options.wheel:
        plain = median_seconds(lambda w=wheel: wheel_check(w, False), options.runs)
        hashed = median_seconds(lambda w=wheel: wheel_check(w, True), options.runs)
        print(f"wheel check {wheel.name} ({wheel.stat().st_size / 1e6:.1f} MB): CRC only {plain:.2f} s, "
              f"with RECORD hashes {hashed:.2f} s (+{(hashed / plain - 1) * 100:.0f}%)")


if __name__ == "__main__":
    main()
