"""invoke report: the squarified layout, the size tree read from real zips, and the page drawn by a real browser."""

import itertools
import re
import shutil
import subprocess
import zlib

import pytest
from conftest import need_tool, offline_pyproject
from factory import make_project, make_wheel
from hypothesis import given
from hypothesis import strategies as st

from lambda_tasks import commands
from lambda_tasks.config import load_settings
from lambda_tasks.errors import ManifestError
from lambda_tasks.report import Reporter
from lambda_tasks.treemap.image_trees import apportion, image_report
from lambda_tasks.treemap.layout import Rect, squarify
from lambda_tasks.treemap.sizes import Member, group, record_paths

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


# ------------------------------------------------------------------------------------------ layout


def test_squarify_follows_the_papers_example():
    # Bruls et al. 2000, figure 4: 6,6,4,3,2,2,1 in a 6 x 4 box; the first row is the two 6s on the left
    rects = squarify([6, 6, 4, 3, 2, 2, 1], Rect(0, 0, 6, 4))
    assert [(r.x, r.y, r.w, r.h) for r in rects[:2]] == [(0, 0, 3, 2), (0, 2, 3, 2)]
    assert rects[2].x == pytest.approx(3) and rects[2].w * rects[2].h == pytest.approx(4)
    assert max(max(r.w / r.h, r.h / r.w) for r in rects) < 3


@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=40),
       st.floats(min_value=10, max_value=2000), st.floats(min_value=10, max_value=2000))
def test_squarify_tiles_the_box_in_proportion(values, width, height):
    values = sorted(values, reverse=True)
    box = Rect(5, 7, width, height)
    rects = squarify(values, box)
    assert len(rects) == len(values)
    total = sum(values)
    for value, rect in zip(values, rects, strict=True):
        expected = box.area * value / total if total else 0
        assert rect.area == pytest.approx(expected, rel=1e-6, abs=1e-6)
        assert box.x - 1e-6 <= rect.x and rect.x + rect.w <= box.x + box.w + 1e-6
        assert box.y - 1e-6 <= rect.y and rect.y + rect.h <= box.y + box.h + 1e-6
    drawn = [r for r in rects if r.area > 1e-6]
    for a, b in itertools.combinations(drawn, 2):  # no two overlap
        overlap_w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
        overlap_h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
        assert overlap_w <= 1e-6 or overlap_h <= 1e-6


# ------------------------------------------------------------------------------------------ sizes


def test_files_are_grouped_by_the_distribution_whose_record_lists_them():
    record = "big/__init__.py,sha256=x,10\nbig/core.so,,\nbig-1.0.dist-info/RECORD,,\n../../bin/big,,\n"
    assert record_paths(record) == ["big/__init__.py", "big/core.so", "big-1.0.dist-info/RECORD"]
    members = [Member("big/__init__.py", 5, 10), Member("big/core.so", 400, 1000),
               Member("big/__pycache__/core.cpython-312.pyc", 30, 60),  # written by the build: not in RECORD
               Member("big-1.0.dist-info/RECORD", 20, 40), Member("tool.py", 3, 7), Member("app.py", 1, 2)]
    owners = dict.fromkeys(record_paths(record), "big")
    tree = group("layer", "layers/x.zip", members, owners, ["big", "vendor/tool.py", "app"])
    assert [(d.name, d.unzipped) for d in tree.children] == [("big", 1110), ("vendor/tool.py", 7), ("app", 2)]
    big = tree.children[0]
    assert [c.name for c in big.children] == ["big/", "big-1.0.dist-info/"]
    assert [c.path for c in big.children[0].children] == ["big/core.so", "big/__pycache__/core.cpython-312.pyc",
                                                          "big/__init__.py"]
    assert (tree.zipped, tree.unzipped, tree.files) == (459, 1119, 6)


def test_many_small_files_become_one_other_block():
    members = [Member(f"pkg/m{i:02}.py", i, 10 * i) for i in range(1, 31)]
    tree = group("layer", "l.zip", members, {}, ["pkg"])
    files = tree.children[0].children[0].children
    assert len(files) == 13 and files[0].path == "pkg/m30.py"
    assert files[-1].name == "18 other files" and files[-1].files == 18
    assert sum(f.unzipped for f in files) == sum(10 * i for i in range(1, 31))


@given(st.integers(min_value=0, max_value=10**10), st.lists(st.integers(min_value=0, max_value=10**9), max_size=30))
def test_a_layers_gzipped_bytes_are_shared_by_size_to_the_byte(total, weights):
    shares = apportion(total, weights)
    assert len(shares) == len(weights) and all(share >= 0 for share in shares)
    if not weights:
        return
    assert sum(shares) == total
    used = weights if sum(weights) else [1] * len(weights)
    for weight, share in zip(used, shares, strict=True):
        assert abs(share - total * weight / sum(used)) < 1


# ------------------------------------------------------------------------------------------ the page


@pytest.fixture
def built(tmp_path, wheelhouse):
    big = {f"bigdist/mod{i}.py": "x = %r\n" % ("abc" * 4000 * (i + 1)) for i in range(8)}
    make_wheel(wheelhouse, "bigdist", files={"bigdist/__init__.py": "", **big})
    make_wheel(wheelhouse, "smalldist", files={"smalldist/__init__.py": "VALUE = 1\n"})
    root = make_project(tmp_path / "proj", "bigdist\nsmalldist\n", pyproject=offline_pyproject(wheelhouse))
    settings = load_settings(root, {}, {"runtime": "python3.12"})
    commands.build(settings, reporter=Reporter(quiet=True), report=True)
    return settings


@pytest.mark.slow
def test_build_report_writes_one_self_contained_page_from_what_the_manifest_names(built):
    page = (built.layers_path / "report.html").read_text()
    assert "bigdist" in page and "smalldist" in page and "of 250.0 MiB" in page
    assert not re.search(r"(src|href)=\"?https?:", page) and "<script" not in page  # nothing fetched, no script
    assert page.count("<svg") == 2  # zipped and unzipped
    assert "bigdist/mod7.py\n" in page  # the hover text names the path
    path = commands.report(built, reporter=Reporter(quiet=True)).path
    first = path.read_bytes()
    assert first == page.encode()
    assert commands.report(built, reporter=Reporter(quiet=True)).path.read_bytes() == first
    built.app_zip_path.write_bytes(b"not the zip the build wrote")
    with pytest.raises(ManifestError, match=r"dist/app\.zip is missing or is not the zip the manifest records"):
        commands.report(built, reporter=Reporter(quiet=True))


def test_report_without_a_build_says_to_build(tmp_path):
    root = make_project(tmp_path / "proj", "")
    with pytest.raises(ManifestError, match="run `invoke build` first"):
        commands.report(load_settings(root, {}, {"runtime": "python3.12"}), reporter=Reporter(quiet=True))


def png_colours(png: bytes) -> int:
    """How many distinct byte values the decompressed image data holds (a blank page has a handful)."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    data, at = b"", 8
    while at < len(png):
        length = int.from_bytes(png[at:at + 4], "big")
        if png[at + 4:at + 8] == b"IDAT":
            data += png[at + 8:at + 8 + length]
        at += 12 + length
    return len(set(zlib.decompress(data)))


def chromium(*args: str) -> subprocess.CompletedProcess:
    found = need_tool("chromium", CHROMIUM)  # skips, or fails under CI=true
    return subprocess.run([found, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
                          capture_output=True, text=True, timeout=120, check=True)


@pytest.mark.slow
@pytest.mark.e2e
def test_a_real_browser_draws_the_report(built, tmp_path):
    page = (built.layers_path / "report.html").as_uri()
    shot = tmp_path / "report.png"
    chromium(f"--screenshot={shot}", "--window-size=1280,1000", page)
    assert png_colours(shot.read_bytes()) > 40  # drew blocks in several colours, not a blank page
    dom = chromium("--dump-dom", page).stdout
    assert "bigdist" in dom and "<svg" in dom
    table = dom[dom.index("<table"):]
    assert table.index("bigdist") < table.index("smalldist")  # the largest first


# ------------------------------------------------------------------------------------------ an image build


def build_image(tmp_path, wheelhouse, base_image, gzip_format):
    """An image build (as tests/test_image_build.py makes them) of a large and a small distribution. With
    ``image_gzip = "members"`` each layer is a multi-member gzip, which tarfile's own "r|gz" stops reading after
    the first member."""
    if not shutil.which("skopeo"):
        pytest.skip("skopeo is not installed (.ci/run installs it)")
    big = {f"bigdist/mod{i}.py": "x = %r\n" % ("abc" * 4000 * (i + 1)) for i in range(8)}
    make_wheel(wheelhouse, "bigdist", files={"bigdist/__init__.py": "", **big})
    make_wheel(wheelhouse, "smalldist", files={"smalldist/__init__.py": "VALUE = 1\n"})
    extra = f'package_type = "image"\nimage_base = "{base_image}"\nimage_gzip = "{gzip_format}"\n' \
            "image_layer_bytes = 20000\n"
    root = make_project(tmp_path / "proj", "bigdist\nsmalldist\n", pyproject=offline_pyproject(wheelhouse, extra))
    settings = load_settings(root, {}, {"runtime": "python3.12"})
    manifest = commands.build(settings, reporter=Reporter(quiet=True), report=True)
    return settings, manifest


@pytest.mark.parametrize("gzip_format", ["members", "stream"])
def test_an_image_report_shows_the_base_then_our_layers_by_distribution(tmp_path, wheelhouse, base_image,
                                                                        gzip_format):
    settings, manifest = build_image(tmp_path, wheelhouse, base_image, gzip_format)
    image = manifest.image
    page = (settings.layers_path / "report.html").read_text()
    assert "of 10.0 GiB" in page and "of 250.0 MiB" not in page  # the image limit, not the zip one
    assert "gzipped" in page and "in proportion to their size" in page  # says what "zipped" means here
    assert "base layer 1 of " + image.base.reference in page
    names = [layer.name for layer in image.layers]
    assert names[-1] == "app" and "deps-1" in names
    for name in names:
        assert f"{name} layer (sha256:" in page
    assert "bigdist/mod7.py\n" in page and "smalldist" in page and "app.py" in page
    table = page[page.index("<table"):]
    # bottom to top: the base, deps-1 (smalldist), deps-2 (bigdist: over image_layer_bytes, a layer of its own), app
    assert [layer.units for layer in image.layers] == [["smalldist"], ["bigdist"], ["app"]]
    assert table.index("(base image layer)") < table.index("smalldist") < table.index("bigdist") < \
        table.index("<td>app</td>")
    assert not re.search(r"(src|href)=\"?https?:", page) and "<script" not in page
    # every gzipped byte of our layers is given to one of its files; the base's layers are one block each
    artifacts = image_report(settings.output_dir, image, None)[0]
    base, ours = artifacts[:len(image.base.layers)], artifacts[len(image.base.layers):]
    assert all(a.base and not a.tree.children for a in base)
    assert [(a.tree.zipped, a.unzipped_bytes) for a in ours] == [(b.size, b.unzipped_bytes) for b in image.layers]
    assert ours[-1].tree.children[0].name == "app"
    by_dist = {d.name: d for a in ours for d in a.tree.children}
    assert by_dist["bigdist"].unzipped > 8 * 12000 and by_dist["bigdist"].unzipped > 10 * by_dist["smalldist"].unzipped
    assert "bigdist-1.0.dist-info/" in [c.name for c in by_dist["bigdist"].children]  # grouped by its RECORD
    again = commands.report(settings, reporter=Reporter(quiet=True))
    assert again.path.read_text() == page  # the same page again
    # the short form: versions and chains from the BOM, gzipped shares labelled, strip not measured for an image
    rows = {d["name"]: d for d in again.data["distributions"]}
    assert rows["bigdist"]["version"] == "1.0" and rows["bigdist"]["chain"] == ["requirements.txt asks bigdist"]
    assert rows["bigdist"]["slimming_estimate"]["strip_unzipped_bytes"] is None
    assert again.data["slimming_estimate"]["strip_binaries"]["unzipped_bytes"] is None
    assert [a["zipped_bytes"] for a in again.data["artifacts"] if not a["base"]] == [b.size for b in image.layers]
    assert "gzipped" in "\n".join(again.lines) and "not estimated (an image's layers are not read for it)" in \
        "\n".join(again.lines)


def test_an_image_layer_that_is_not_the_recorded_blob_is_refused(tmp_path, wheelhouse, base_image):
    settings, manifest = build_image(tmp_path, wheelhouse, base_image, "members")
    layer = manifest.image.layers[0]
    blob = settings.output_dir / manifest.image.path / "blobs" / "sha256" / layer.digest.removeprefix("sha256:")
    good = blob.read_bytes()
    page = (settings.layers_path / "report.html").read_bytes()
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x01  # the same length, one byte in the middle changed
    stamped = bytearray(good)
    stamped[4] ^= 0x01  # the gzip header's MTIME: everything still inflates, every CRC holds; only the digest tells
    for damaged in (bytes(flipped), bytes(stamped), good[:-9], None):
        if damaged is None:
            blob.unlink()
        else:
            blob.write_bytes(damaged)
        with pytest.raises(ManifestError, match=rf"image layer {layer.name} \({layer.digest[:19]}\.\.\.\) is "
                                                "missing or is not the blob the manifest records") as caught:
            commands.report(settings, reporter=Reporter(quiet=True))
        assert len(str(caught.value).splitlines()[0]) < 160 and blob.name in str(caught.value)
        assert (settings.layers_path / "report.html").read_bytes() == page  # the last report is left as it was
    blob.write_bytes(good)
    assert commands.report(settings, reporter=Reporter(quiet=True)).path.read_bytes() == page
