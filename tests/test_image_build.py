"""package_type = "image": the OCI layout from a local base image, read back by skopeo and tarfile."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest
from conftest import offline_pyproject
from factory import build, make_project, make_wheel
from image_helpers import BASE_ENTRYPOINT, BASE_ENV, skopeo

from lambda_tasks.config import load_settings
from lambda_tasks.errors import LimitError, RegistryError
from lambda_tasks.report import Reporter

pytestmark = pytest.mark.tool("skopeo")  # conftest.need_tool: skips, or fails under CI=true


def image_project(root: Path, wheelhouse: Path, base: str, requirements: str = "alpha\nbeta\n",
                  extra: str = "") -> Path:
    make_wheel(wheelhouse, "alpha", files={"alpha/__init__.py": "A = 1\n", "alpha/data.txt": "x" * 15000})
    make_wheel(wheelhouse, "beta", requires=["gamma"])
    make_wheel(wheelhouse, "gamma")
    return make_project(root, requirements, pyproject=offline_pyproject(
        wheelhouse, f'package_type = "image"\nimage_base = "{base}"\nimage_layer_bytes = 20000\n{extra}'),
        app="import alpha, beta\nfrom chalicelib import helper\n\ndef handler(event, context):\n"
            "    return [alpha.A, beta.NAME, helper.VALUE]\n")


def settings_for(root: Path, **flags):
    return load_settings(root, {}, {"runtime": "python3.12", **flags})


def blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()


def layer_names(layout: Path, digest: str) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(layout, digest)))) as archive:
        return {info.name: info for info in archive.getmembers()}


@pytest.mark.slow
@pytest.mark.parametrize("gzip_format", ["stream", "members"])
def test_image_layout_is_read_by_skopeo_and_keeps_the_base(tmp_path, wheelhouse, base_image, gzip_format):
    root = image_project(tmp_path / "proj", wheelhouse, base_image)
    manifest = build(settings_for(root, image_gzip=gzip_format), reporter=Reporter(quiet=True))
    image = manifest.image
    assert image is not None and manifest.layers == []
    layout = root / "dist" / "image"
    inspected = skopeo("inspect", f"oci:{layout}")
    assert inspected.returncode == 0, inspected.stderr
    info = json.loads(inspected.stdout)
    assert info["Digest"] == image.digest
    assert info["Architecture"] == "amd64" and info["Os"] == "linux"
    assert len(info["Layers"]) == 1 + len(image.layers)
    config = json.loads(skopeo("inspect", "--config", f"oci:{layout}").stdout)
    assert config["config"]["Env"] == BASE_ENV and config["config"]["Entrypoint"] == BASE_ENTRYPOINT
    assert config["config"]["WorkingDir"] == "/var/task" and config["config"]["Cmd"] == ["app.handler"]
    assert all("created" not in entry for entry in config["history"][1:])  # our layers carry no build time
    # our layers: dependencies by distribution, then the app, all under /var/task
    assert [layer.name for layer in image.layers][-1] == "app"
    everything = {}
    for layer in image.layers:
        names = layer_names(layout, layer.digest)
        assert all(name == "var" or name.startswith("var/task") for name in names)
        assert all(info.mtime == 0 and info.uid == 0 and info.gid == 0 and info.uname == "" for info in names.values())
        assert all(info.mode in (0o644, 0o755) for info in names.values())
        everything.update(names)
    assert {"var/task/app.py", "var/task/chalicelib/helper.py", "var/task/alpha/__init__.py",
            "var/task/gamma/__init__.py"} <= set(everything)
    assert everything["var/task/alpha"].isdir()
    deps = [layer for layer in image.layers if layer.name != "app"]
    assert len(deps) == 2  # alpha alone: with the others it would pass image_layer_bytes
    assert sorted(unit for layer in deps for unit in layer.units) == ["alpha", "beta", "gamma"]
    # the base is pinned to the amd64 manifest of its index
    assert image.base.reference == base_image and image.base.digest.startswith("sha256:")
    # an OCI layout skopeo can copy whole (the base's blobs are in it too)
    copied = skopeo("copy", f"oci:{layout}", f"oci:{tmp_path / 'copy'}:x")
    assert copied.returncode == 0, copied.stderr


@pytest.mark.slow
def test_same_inputs_same_digests_and_one_changed_dependency_one_changed_layer(tmp_path, wheelhouse, base_image):
    first = image_project(tmp_path / "one", wheelhouse, base_image)
    second = image_project(tmp_path / "two", wheelhouse, base_image)
    a = build(settings_for(first), reporter=Reporter(quiet=True)).image
    b = build(settings_for(second), reporter=Reporter(quiet=True)).image
    assert a is not None and b is not None
    assert [layer.digest for layer in a.layers] == [layer.digest for layer in b.layers]
    assert a.digest == b.digest
    # a no-op rebuild: up to date, same image
    assert build(settings_for(first), reporter=Reporter(quiet=True)).image.digest == a.digest
    # gamma 2.0: only the layer holding gamma changes (and the image, config and manifest)
    make_wheel(wheelhouse, "gamma", version="2.0")
    (first / "requirements.txt").write_text("alpha\nbeta\ngamma==2.0\n")
    c = build(settings_for(first), reporter=Reporter(quiet=True)).image
    before = {layer.name: layer.digest for layer in a.layers}
    after = {layer.name: layer.digest for layer in c.layers}
    changed = sorted(name for name in after if after[name] != before.get(name))
    holder = next(layer.name for layer in c.layers if "gamma" in layer.units)
    assert changed == [holder]
    # an app change: only the app layer
    (first / "chalicelib" / "helper.py").write_text("VALUE = 43\n")
    d = build(settings_for(first), reporter=Reporter(quiet=True)).image
    assert [x.digest for x in d.layers[:-1]] == [x.digest for x in c.layers[:-1]]
    assert d.layers[-1].digest != c.layers[-1].digest


def test_the_10_gb_check_runs_before_anything_is_written(tmp_path, wheelhouse, base_image):
    root = image_project(tmp_path / "proj", wheelhouse, base_image)
    with pytest.raises(LimitError, match="uncompressed, over Lambda's") as caught:
        build(settings_for(root, image_limit=30000), reporter=Reporter(quiet=True))
    assert "largest of ours" in str(caught.value)
    assert not (root / "dist" / "image" / "index.json").exists()


def test_arm64_picks_the_arm64_manifest_of_the_base_index(tmp_path, wheelhouse, base_image):
    root = image_project(tmp_path / "proj", wheelhouse, base_image, requirements="")
    image = build(settings_for(root, arch="arm64"), reporter=Reporter(quiet=True)).image
    config = json.loads(blob(root / "dist" / "image", image.config.digest))
    assert config["architecture"] == "arm64"
    base_files = layer_names(root / "dist" / "image", image.base.layers[0].digest)
    assert "var/runtime/bootstrap.py" in base_files


def test_a_base_missing_from_the_registry_is_one_line(tmp_path, wheelhouse, registry):
    root = image_project(tmp_path / "proj", wheelhouse, f"{registry}/no/such:1", requirements="")
    with pytest.raises(RegistryError, match="answered 404") as caught:
        build(settings_for(root), reporter=Reporter(quiet=True))
    assert len(str(caught.value).splitlines()[0]) < 160


def test_the_zip_budget_error_names_package_type_image():
    from lambda_tasks.assemble import split

    budget = split.Budget(max_layers=5, layer_zip_bytes=10**9, layer_unzipped_bytes=262_144_000,
                          total_unzipped_bytes=262_144_000)
    with pytest.raises(LimitError, match='package_type = "image"') as caught:
        split.pack([split.Unit("scipy", 40_000_000, 150_000_000), split.Unit("pyarrow", 40_000_000, 150_000_000)],
                   budget)
    assert "300,000,000 bytes" in str(caught.value)
