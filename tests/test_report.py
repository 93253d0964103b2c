"""invoke report answers "why is this here": versions, the chain that pulled each distribution in (from the
build's layers/pylock.toml), what slimming would save, the change since the previous build, small distributions
grouped, every size labelled. Through the real command line on projects with transitive dependencies."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from elf_helpers import compile_shared, needs_cc
from factory import make_project, make_wheel
from test_treemap import CHROMIUM, chromium, png_colours

from lambda_tasks.target_lock import Reason
from lambda_tasks.treemap.bom import Shipped, chain, chain_text, parse_bom, requirement_text
from lambda_tasks.treemap.figures import Figures, diff
from lambda_tasks.treemap.sizes import Node, grouped

BIN = Path(sys.executable).parent
OFFLINE = '[tool.lambda-tasks]\npip_args = ["--no-index", "--find-links", "wheels"]\nruntime = "python3.12"\n'
SMALL = 12
# an extra without Provides-Extra is ignored by pip: the factory writes Requires-Dist lines only
WEB_REQUIRES = ["pgdriver>=1; extra == 'pg'\nProvides-Extra: pg", "helper"]


def project(root: Path, extra: str = "") -> Path:
    """web[pg] pulls pgdriver (through its extra), which pulls tinydep; web pulls helper; boto3 is one the runtime
    provides; twelve small distributions for the grouping."""
    wheels = root / "wheels"
    make_wheel(wheels, "web", "1.0", requires=WEB_REQUIRES)
    make_wheel(wheels, "pgdriver", "2.3", requires=["tinydep"],
               files={"pgdriver/__init__.py": "x = %r\n" % ("p" * 50000),
                      "pgdriver/tests/test_a.py": "y = %r\n" % ("t" * 30000), "pgdriver/stub.pyi": "z: int\n"})
    make_wheel(wheels, "tinydep", "0.1")
    make_wheel(wheels, "helper", "3.0", files={"helper/__init__.py": "x = %r\n" % ("h" * 200000)})
    make_wheel(wheels, "boto3", "1.0", files={"boto3/__init__.py": "x = %r\n" % ("b" * 80000)})
    for i in range(SMALL):
        make_wheel(wheels, f"small{i:02}", "1.0")
    requirements = "web[pg]>=1\nboto3\n" + "".join(f"small{i:02}\n" for i in range(SMALL))
    return make_project(root, requirements, pyproject=OFFLINE + extra)


def cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([BIN / "lambda-tasks", *args], cwd=root, capture_output=True, text=True,
                            env={**os.environ, "CI": "true"}, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def report_json(root: Path) -> dict:
    return json.loads(cli(root, "report", "--json").stdout)


# ------------------------------------------------------------------------------------------ pure


def test_the_chain_is_the_shortest_path_from_a_source_down_to_the_distribution():
    bom = """
[[packages]]
name = "Web"
version = "1.0"
[packages.tool.lambda-tasks]
reasons = ["requirements.txt: web[pg]>=1"]

[[packages]]
name = "pgdriver"
version = "2.3"
[packages.tool.lambda-tasks]
reasons = ["web[pg] 1.0: pgdriver>=1; extra == \\"pg\\"", "other 9.0: pgdriver"]

[[packages]]
name = "tinydep"
version = "0.1"
[packages.tool.lambda-tasks]
reasons = ["pgdriver 2.3: tinydep; python_version < \\"3.13\\"", "tinydep 0.1: tinydep"]

[[packages]]
name = "locked"
version = "1"
[packages.tool.lambda-tasks]
reasons = ["pylock.toml: locked"]
"""
    shipped = parse_bom(bom)
    assert shipped["web"] == Shipped("web", "1.0", (Reason("requirements.txt", "web[pg]>=1"),))
    assert chain_text(chain("tinydep", shipped)) == (
        "requirements.txt asks web[pg]>=1 -> web[pg] 1.0 asks pgdriver>=1 -> pgdriver 2.3 asks tinydep "
        '(when python_version < "3.13")')
    assert chain_text(chain("locked", shipped)) == "locked in pylock.toml"
    assert chain("absent", shipped) == ()
    # a chain whose top is not in the layers (left out by `exclude`) ends there; a loop does not hang
    loop = {"a": Shipped("a", "1", (Reason("b 1", "a"),)), "b": Shipped("b", "1", (Reason("a 1", "b"),)),
            "c": Shipped("c", "1", (Reason("gone 2.0", "c"),))}
    assert chain("a", loop) == (Reason("b 1", "a"),)
    assert chain_text(chain("c", loop)) == "gone 2.0 asks c"
    assert requirement_text("x @ https://h/x.whl ; extra == 'y'") == "x @ https://h/x.whl"  # as packaging writes it


def test_the_difference_names_added_removed_grown_shrunk_and_version_changes():
    before = Figures("python3.12/x86_64", {}, {"a": ("1", 100), "b": ("1", 50), "c": ("2", 10), "d": ("1", 5)})
    after = Figures("python3.12/x86_64", {}, {"a": ("1.1", 300), "c": ("2", 4), "d": ("2", 5), "e": ("0.1", 7)})
    assert [(c.name, c.kind, c.delta) for c in diff(before, after)] == [
        ("a", "grown", 200), ("b", "removed", -50), ("e", "added", 7), ("c", "shrunk", -6), ("d", "version", 0)]
    assert diff(after, after) == []
    assert Figures.from_json(after.to_json()) == after and Figures.from_json("{") is None


def test_small_distributions_are_one_block_named_for_their_count_and_bound():
    children = [Node("big", 900, 90_000)] + [Node(f"s{i}", 10, 300 + i) for i in range(5)]
    tree = Node("layer", 950, sum(c.unzipped for c in children), tuple(children), "l.zip", 6)
    shown = grouped(tree)
    assert [c.name for c in shown.children] == ["big", "5 distributions under 1.0 KiB unzipped"]
    assert shown.children[1].unzipped == sum(300 + i for i in range(5)) and len(shown.children[1].children) == 5
    assert (shown.zipped, shown.unzipped) == (tree.zipped, tree.unzipped)
    one = Node("layer", 910, 90_300, (children[0], children[1]), "l.zip", 2)
    assert grouped(one) == one  # a single small one stays itself


# ------------------------------------------------------------------------------------------ the command line


@pytest.mark.slow
@pytest.mark.e2e
def test_report_says_why_each_distribution_is_there_and_what_changed(tmp_path):
    root = project(tmp_path / "proj")
    cli(root, "build")
    first = report_json(root)
    by_name = {d["name"]: d for d in first["distributions"]}
    assert by_name["pgdriver"]["version"] == "2.3"
    assert by_name["pgdriver"]["chain"] == ["requirements.txt asks web[pg]>=1", "web[pg] 1.0 asks pgdriver>=1"]
    assert by_name["tinydep"]["chain"] == ["requirements.txt asks web[pg]>=1", "web[pg] 1.0 asks pgdriver>=1",
                                           "pgdriver 2.3 asks tinydep"]
    assert by_name["helper"]["chain"] == ["requirements.txt asks web[pg]>=1", "web 1.0 asks helper"]
    assert by_name["app"]["version"] is None and by_name["app"]["artifact"] == "dist/app.zip"
    # slimming estimates: slim's tests/ and .pyi files, boto3 whole (the runtime has it); measured, to the byte
    layer = next(a for a in first["artifacts"] if a["path"].startswith("layers/"))
    with zipfile.ZipFile(root / layer["path"]) as archive:
        sizes = {i.filename: (i.compress_size, i.file_size) for i in archive.infolist()}
    slimmed = [sizes["python/pgdriver/tests/test_a.py"], sizes["python/pgdriver/stub.pyi"]]
    estimate = by_name["pgdriver"]["slimming_estimate"]
    assert (estimate["slim_zipped_bytes"], estimate["slim_unzipped_bytes"]) == tuple(map(sum, zip(*slimmed, strict=True)))
    assert by_name["boto3"]["slimming_estimate"]["runtime_provided_unzipped_bytes"] == by_name["boto3"]["unzipped_bytes"]
    assert first["slimming_estimate"]["slim"]["on"] is False
    # app.zip: the figure of the bars and of the table is the file's size; its members' compressed bytes are less
    app = first["artifacts"][0]
    assert app["path"] == "dist/app.zip" and app["zipped_bytes"] == (root / "dist/app.zip").stat().st_size
    assert app["members_zipped_bytes"] == by_name["app"]["zipped_bytes"] < app["zipped_bytes"]
    assert first["previous"] is None and first["changes"] == []

    text = cli(root, "report").stdout
    assert "dist/app.zip: " in text and " zipped (file), " in text
    assert "pgdriver 2.3" in text and "requirements.txt asks web[pg]>=1 -> web[pg] 1.0 asks pgdriver>=1" in text
    assert "slimming would save (estimates, measured on these artifacts):" in text
    assert "exclude_runtime_provided (off): 78.5 KiB unzipped, 426 B zipped (boto3 78.5 KiB)" in text
    assert "slim (off): 29.3 KiB unzipped, 64 B zipped (pgdriver 29.3 KiB)" in text
    assert f"and {SMALL + 6 - 10} more of 430 B or less" in text  # the top 10 one by one, the rest one line
    assert "since the previous build: no figures kept" in text
    page = (root / "layers" / "report.html").read_text()
    assert f"{SMALL + 2} distributions under 1.0 KiB unzipped" in page  # web, tinydep and the small ones: one block
    assert page.count("<td>small") == SMALL  # the table keeps every one
    assert "(zip headers and directory)" in page and "the file (as its bars show)" in page

    # change the requirements: boto3 out, newdist in, helper grows to 3.1
    make_wheel(root / "wheels", "helper", "3.1", files={"helper/__init__.py": "x = %r\n" % ("h" * 300000)})
    make_wheel(root / "wheels", "newdist", "0.5")
    (root / "requirements.txt").write_text((root / "requirements.txt").read_text().replace("boto3\n", "newdist\n"))
    cli(root, "build")
    second = report_json(root)
    assert second["previous"]["target"].startswith("python3.12/")
    changes = {c["name"]: c for c in second["changes"]}
    assert set(changes) == {"boto3", "newdist", "helper"}
    assert changes["boto3"]["change"] == "removed" and changes["boto3"]["old_version"] == "1.0"
    assert changes["boto3"]["old_unzipped_bytes"] == by_name["boto3"]["unzipped_bytes"]
    assert changes["newdist"]["change"] == "added" and changes["newdist"]["new_version"] == "0.5"
    helper = changes["helper"]
    assert (helper["change"], helper["old_version"], helper["new_version"]) == ("grown", "3.0", "3.1")
    assert helper["new_unzipped_bytes"] - helper["old_unzipped_bytes"] == 100000
    text = cli(root, "report").stdout
    assert "~ helper 3.0 -> 3.1: grown +97.7 KiB (195.7 KiB -> 293.4 KiB unzipped)" in text
    assert "- boto3 1.0: 78.5 KiB unzipped" in text and "+ newdist 0.5: 430 B unzipped" in text
    # an up-to-date build keeps the previous build's figures
    cli(root, "build")
    assert report_json(root)["changes"] == second["changes"]
    # slim saves what it was estimated to save, to the byte, and nothing is left to estimate
    (root / "pyproject.toml").write_text(OFFLINE + "slim = true\n")
    cli(root, "build")
    third = report_json(root)
    assert [(c["name"], c["change"], c["old_unzipped_bytes"] - c["new_unzipped_bytes"]) for c in third["changes"]] \
        == [("pgdriver", "shrunk", estimate["slim_unzipped_bytes"])]
    assert third["slimming_estimate"]["slim"] == {"on": True, "zipped_bytes": 0, "unzipped_bytes": 0}
    # clean removes the previous build's figures
    cli(root, "clean")
    assert not (root / "layers" / "previous-build.json").exists()


@pytest.mark.slow
@pytest.mark.e2e
@needs_cc
def test_the_strip_estimate_is_what_strip_binaries_then_saves(tmp_path):
    library = compile_shared("int f(int x) { int y = x * 2; return y + 1; }\n" * 1, ("-g3",))
    root = tmp_path / "proj"
    make_wheel(root / "wheels", "native", files={"native/__init__.py": "", "native/_core.so": library})
    make_project(root, "native\n", pyproject=OFFLINE)
    cli(root, "build")
    estimate = {d["name"]: d for d in report_json(root)["distributions"]}["native"]["slimming_estimate"]
    before = {d["name"]: d for d in report_json(root)["distributions"]}["native"]["unzipped_bytes"]
    assert estimate["strip_unzipped_bytes"] > 1000
    (root / "pyproject.toml").write_text(OFFLINE + "strip_binaries = true\n")
    built = cli(root, "build").stdout
    if "strip_binaries: skipped" in built:
        pytest.skip("no strip tool for the target on this host")
    after = report_json(root)
    native = {d["name"]: d for d in after["distributions"]}["native"]
    saved = before - native["unzipped_bytes"]
    # the estimate counts the .debug sections; strip --strip-debug also drops a few symbols and headers
    assert 0.8 * saved <= estimate["strip_unzipped_bytes"] <= saved
    assert native["slimming_estimate"]["strip_unzipped_bytes"] == 0
    assert {c["name"]: c["change"] for c in after["changes"]} == {"native": "shrunk"}


# ------------------------------------------------------------------------------------------ a real browser


@pytest.mark.slow
@pytest.mark.e2e
def test_a_real_browser_shows_the_chains_the_estimates_and_the_change(tmp_path):
    root = project(tmp_path / "proj")
    cli(root, "build")
    (root / "requirements.txt").write_text((root / "requirements.txt").read_text().replace("boto3\n", ""))
    cli(root, "build")
    cli(root, "report")
    page = (root / "layers" / "report.html").as_uri()
    assert CHROMIUM
    shot = tmp_path / "report.png"
    chromium(f"--screenshot={shot}", "--window-size=1280,2000", page)
    assert png_colours(shot.read_bytes()) > 40
    dom = chromium("--dump-dom", page).stdout
    table = dom[dom.index("<table"):dom.index("</table>")]
    assert table.index("helper") < table.index("pgdriver") < table.index("tinydep")  # the largest first
    assert "requirements.txt asks web[pg]&gt;=1 -&gt; web[pg] 1.0 asks pgdriver&gt;=1 -&gt; pgdriver 2.3 asks " \
           "tinydep" in table
    assert "slim: 29.3 KiB unzipped" in table
    assert "<h2>Since the previous build</h2>" in dom and "- boto3 1.0: 78.5 KiB unzipped" in dom
    assert f"{SMALL + 2} distributions under 1.0 KiB unzipped" in dom  # the grouped block's label is drawn


# ------------------------------------------------------------------------------------------ the real index


@pytest.mark.pypi
@pytest.mark.slow
@pytest.mark.e2e
def test_a_real_transitive_driver_is_named_with_its_chain(tmp_path):
    """Issue 27's case: psycopg2 pulled in by sqlalchemy's extra, said with the chain (wheels from PyPI)."""
    root = make_project(tmp_path / "proj", "sqlalchemy[postgresql-psycopg2binary]==2.0.36\n",
                        pyproject='[tool.lambda-tasks]\nruntime = "python3.12"\narch = "x86_64"\n')
    cli(root, "build")
    data = report_json(root)
    rows = {d["name"]: d for d in data["distributions"]}
    assert rows["sqlalchemy"]["version"] == "2.0.36"
    assert rows["psycopg2-binary"]["chain"] == [
        "requirements.txt asks sqlalchemy[postgresql-psycopg2binary]==2.0.36",
        "SQLAlchemy[postgresql-psycopg2binary] 2.0.36 asks psycopg2-binary"]
    assert rows["typing-extensions"]["chain"][0] == "requirements.txt asks sqlalchemy[postgresql-psycopg2binary]==2.0.36"
    assert rows["sqlalchemy"]["slimming_estimate"]["strip_unzipped_bytes"] > 1_000_000  # its Cython modules' debug info


@pytest.mark.slow
def test_a_bom_that_is_not_the_recorded_one_gives_no_chains_and_says_so(tmp_path):
    from lambda_tasks import commands
    from lambda_tasks.config import load_settings
    from lambda_tasks.report import Reporter

    root = tmp_path / "proj"
    make_wheel(root / "wheels", "alpha", requires=["gamma"])
    make_wheel(root / "wheels", "gamma", "2.0")
    make_project(root, "alpha\n", pyproject=OFFLINE)
    settings = load_settings(root, {}, {})
    commands.build(settings, reporter=Reporter(quiet=True))
    good = commands.report(settings, reporter=Reporter(quiet=True))
    assert {d["name"]: d["chain"] for d in good.data["distributions"]}["gamma"] == [
        "requirements.txt asks alpha", "alpha 1.0 asks gamma"]
    bom = root / "layers" / "pylock.toml"
    bom.write_text(bom.read_text().replace('"alpha 1.0: gamma"', '"requirements.txt: gamma"'))  # edited since
    edited = commands.report(settings, reporter=Reporter(quiet=True))
    assert all(d["version"] is None and d["chain"] == [] for d in edited.data["distributions"])
    assert any("is not the one the build recorded" in line for line in edited.lines)
    assert "is not the one the build recorded" in edited.path.read_text()
