"""invoke clean: the build's artifacts (what the manifest names), and pruning lambda-tasks' cache."""

import io
import json
import os
import time
from pathlib import Path

import pytest
from conftest import offline_pyproject
from factory import make_project, make_wheel

from lambda_tasks import cache_prune as cache
from lambda_tasks import commands
from lambda_tasks.cache_prune import Entry, Use, plan, prune_now_and_then, record_use, remove, scan
from lambda_tasks.config import load_settings
from lambda_tasks.files import cache_dir
from lambda_tasks.manifest import Artifact, LayerRecord, Manifest, save
from lambda_tasks.report import Reporter

NOW = 1_900_000_000.0
DAY = 86400.0
A, B = "a" * 64, "b" * 64


def settings_for(root: Path, **flags):
    return load_settings(root, {}, {"runtime": "python3.12", **flags})


def quiet() -> tuple[Reporter, io.StringIO]:
    out = io.StringIO()
    return Reporter(stream=out), out


# ------------------------------------------------------------------------------------------ artifacts


def test_clean_removes_what_the_manifest_names_and_nothing_else(tmp_path):
    root = make_project(tmp_path / "proj", "")
    settings = settings_for(root)
    (root / "dist").mkdir()
    (root / "dist" / "app.zip").write_bytes(b"z" * 100)
    (root / "layers").mkdir()
    (root / "layers" / "proj-deps-1.zip").write_bytes(b"l" * 1000)
    (root / "layers" / "report.html").write_text("<html>")
    (root / "layers" / "mine.txt").write_text("a file lambda-tasks did not write")
    outside = tmp_path / "precious.zip"
    outside.write_bytes(b"p")
    (root / "layers" / "proj-deps-2.zip").symlink_to(outside)
    layers = [LayerRecord(f"layers/proj-deps-{n}.zip", "0" * 64, 1, 1, name=f"proj-deps-{n}") for n in (1, 2, 3)]
    save(Manifest("python3.12", "x86_64", Artifact("dist/app.zip", "0" * 64, 1, 1), layers), settings.manifest_path)
    manifest_bytes = settings.manifest_path.stat().st_size
    reporter, out = quiet()
    assert commands.clean(settings, reporter=reporter) == 100 + 1000 + 6 + manifest_bytes
    assert sorted(p.name for p in (root / "layers").iterdir()) == [".lambda-tasks.lock", "mine.txt", "proj-deps-2.zip"]
    assert not (root / "dist").exists() and outside.read_bytes() == b"p"
    text = out.getvalue()
    assert "clean: layers/proj-deps-2.zip: not a regular file (a link?), left alone" in text
    assert "clean: removed 4 files" in text
    reporter, out = quiet()
    assert commands.clean(settings, reporter=reporter) == 0
    assert "nothing to remove (no build manifest" in out.getvalue()


# ------------------------------------------------------------------------------------------ planning


def entry(kind: str, mtime: float, key: str = "", name: str = "", size: int = 10) -> Entry:
    return Entry(Path("/c") / kind / (name or key or kind), kind, size, mtime, key)


def use(name: str, mtime: float, wheels=(), resolutions=()) -> Use:
    return Use(entry("build record", mtime, name=name), frozenset(wheels), frozenset(resolutions))


def test_age_keeps_what_a_build_used_in_30_days_and_what_is_new():
    recent, old = use("recent.json", NOW - DAY, [A], ["r1.json"]), use("old.json", NOW - 40 * DAY, [B], ["r2.json"])
    entries = [recent.entry, old.entry, entry("wheel", NOW - 90 * DAY, A), entry("wheel", NOW - 90 * DAY, B),
               entry("wheel", NOW - 2 * DAY, "c" * 64),  # unreferenced but younger than 30 days
               entry("resolution", NOW - 50 * DAY, name="r1.json"), entry("resolution", NOW - 50 * DAY, name="r2.json"),
               entry("file hashes", NOW - 31 * DAY, name="h.json"), entry("audit verdicts", NOW - 3 * DAY, name="a"),
               entry("old-layout wheel", NOW, name="x.whl")]
    removed = {(e.kind, e.path.name) for e in plan(entries, [recent, old], NOW)}
    assert removed == {("build record", "old.json"), ("wheel", B), ("resolution", "r2.json"),
                       ("file hashes", "h.json"), ("old-layout wheel", "x.whl")}


def test_keep_n_builds_keeps_only_what_they_used_and_what_a_running_build_may_use():
    uses = [use(f"u{i}.json", NOW - i * DAY, [f"{i}" * 64]) for i in range(1, 4)]
    wheels = [entry("wheel", NOW - 5 * DAY, f"{i}" * 64) for i in range(1, 4)]
    fresh = entry("wheel", NOW - 60, "f" * 64)  # stored a minute ago, by a build not yet recorded
    removed = plan([*(u.entry for u in uses), *wheels, fresh], uses, NOW, keep_builds=1)
    assert {e.path.name for e in removed} == {"u2.json", "u3.json", "2" * 64, "3" * 64}
    assert {e.path.name for e in plan([*wheels, fresh], uses, NOW, keep_builds=0)} == {w.key for w in wheels}


def test_size_drops_the_least_recently_used_builds_but_never_the_last():
    uses = [use(f"u{i}.json", NOW - i * DAY, [f"{i}" * 64]) for i in range(1, 4)]
    wheels = [entry("wheel", NOW - 5 * DAY, f"{i}" * 64, size=100) for i in range(1, 4)]
    entries = [*(u.entry for u in uses), *wheels]
    assert plan(entries, uses, NOW, max_bytes=10_000) == []
    assert {e.path.name for e in plan(entries, uses, NOW, max_bytes=250)} == {"u3.json", "3" * 64}
    assert {e.path.name for e in plan(entries, uses, NOW, max_bytes=0)} == {"u2.json", "u3.json", "2" * 64, "3" * 64}


# ------------------------------------------------------------------------------------------ the cache on disk


def old(path: Path, days: float = 60) -> Path:
    stamp = time.time() - days * DAY
    os.utime(path, (stamp, stamp), follow_symlinks=False)
    return path


def test_scan_and_remove_touch_only_what_lambda_tasks_wrote(tmp_path):
    root = cache_dir()
    wheel = root / "wheels" / "sha256" / A
    wheel.mkdir(parents=True)
    (wheel / "a-1.0-py3-none-any.whl").write_bytes(b"w" * 50)
    old(wheel)
    odd = root / "wheels" / "sha256" / B  # holds a link: not a wheel entry of ours
    odd.mkdir()
    target = tmp_path / "keep-me.whl"
    target.write_bytes(b"k")
    (odd / "b-1.0-py3-none-any.whl").symlink_to(target)
    old(odd)
    linked = root / "resolutions"
    linked.mkdir()
    (linked / "link.json").symlink_to(target)
    old(linked / "link.json")
    foreign = root / "audit"
    foreign.mkdir()
    old_notes = old(foreign / "notes.txt") if (foreign / "notes.txt").write_text("mine") else None
    entries, uses = scan(root)
    assert [(e.kind, e.path.name) for e in entries] == [("wheel", A)]
    assert remove(plan(entries, uses, time.time())) == 50
    assert not wheel.exists() and odd.is_dir() and target.read_bytes() == b"k" and old_notes.read_text() == "mine"
    assert (linked / "link.json").is_symlink()


def test_prune_runs_once_a_day(tmp_path):
    root = cache_dir()
    (root / "resolutions").mkdir(parents=True)
    stale = old(root / "resolutions" / "x.json") if (root / "resolutions" / "x.json").write_text("[]") else None
    assert [e.path for e in prune_now_and_then(root, 10**9)] == [stale]
    (root / "resolutions" / "y.json").write_text("[]")
    old(root / "resolutions" / "y.json")
    assert prune_now_and_then(root, 10**9) == []  # pruned less than a day ago
    assert prune_now_and_then(root, 10**9, now=time.time() + 2 * DAY)[0].path.name == "y.json"


def test_record_use_names_the_wheels_and_the_resolutions_of_the_build(tmp_path):
    root = cache_dir()
    (root / "resolutions").mkdir(parents=True)
    started = time.time()
    (root / "resolutions" / "mine.json").write_text("[]")
    old(root / "resolutions" / "other.json") if (root / "resolutions" / "other.json").write_text("[]") else None
    record_use(root, tmp_path / "layers", started, [root / "wheels" / "sha256" / A / "a.whl"])
    path = cache.use_record_path(root, tmp_path / "layers")
    data = json.loads(path.read_text())
    assert (data["wheels"], data["resolutions"]) == ([A], ["mine.json"])
    old(path)
    record_use(root, tmp_path / "layers", time.time(), None)  # a no-op build: touched
    assert time.time() - path.stat().st_mtime < 60


@pytest.mark.slow
def test_a_build_records_its_wheels_and_clean_keeps_them(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "onedist")
    root = make_project(tmp_path / "proj", "onedist\n", pyproject=offline_pyproject(wheelhouse))
    settings = settings_for(root)
    commands.build(settings, reporter=Reporter(quiet=True))
    record = json.loads(cache.use_record_path(cache_dir(), settings.layers_path).read_text())
    assert len(record["wheels"]) == 1 and len(record["resolutions"]) == 1
    stray = cache_dir() / "wheels" / "sha256" / B
    stray.mkdir(parents=True)
    (stray / "stray-1.0-py3-none-any.whl").write_bytes(b"s")
    old(stray)
    reporter, out = quiet()
    assert commands.clean(settings, cache=True, keep=1, reporter=reporter) == 1
    assert "clean: removed 1 wheel from" in out.getvalue() and not stray.exists()
    settings.manifest_path.unlink()
    reporter, out = quiet()
    commands.build(settings, reporter=reporter)
    assert "resolve: 1 wheel for python3.12/x86_64 (cached resolution)" in out.getvalue()
