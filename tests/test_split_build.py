"""The splitter inside real builds: small wheels, lowered limits, so that they must split."""

import json
import os
import zipfile
from pathlib import Path

import pytest
from conftest import lambda_layout, offline_pyproject, run_handler
from factory import build, make_project, make_wheel

from lambda_tasks.config import load_settings
from lambda_tasks.errors import LimitError

pytestmark = pytest.mark.slow  # every test here runs pip, several builds each

LIMIT = 12_000  # bytes per layer zip: each test wheel below is ~5 KB zipped


def noise(seed: int, size: int = 6000) -> str:
    """Incompressible-ish text, so zipped sizes stay close to unzipped ones."""
    import random

    rng = random.Random(seed)
    text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(size))
    return f"DATA = {text!r}\n"


@pytest.fixture
def project(tmp_path, wheelhouse):
    for i, name in enumerate(["alpha", "bravo", "charlie", "delta", "echo"]):
        make_wheel(wheelhouse, name, files={f"{name}/__init__.py": noise(i) + f"NAME = {name!r}\n"})
    make_wheel(wheelhouse, "google-cloud-a", files={"google/cloud/a/__init__.py": "A = 1\n"})
    make_wheel(wheelhouse, "google-cloud-b", files={"google/cloud/b/__init__.py": "B = 2\n"})
    app = ("import alpha, bravo, charlie, delta, echo\nfrom google.cloud import a, b\n\n"
           "def handler(event, context):\n    return [m.NAME for m in (alpha, bravo, charlie, delta, echo)] + [a.A, b.B]\n")
    root = make_project(tmp_path / "proj", "alpha\nbravo\ncharlie\ndelta\necho\ngoogle-cloud-a\ngoogle-cloud-b\n", app=app,
                        pyproject=offline_pyproject(wheelhouse, f"layer_zip_limit = {LIMIT}\n"))
    return root


def settings(root: Path, **extra):
    return load_settings(root, extra, {"runtime": "python3.12"})


def contents(root: Path, manifest) -> dict[str, set[str]]:
    result = {}
    for layer in manifest.layers:
        with zipfile.ZipFile(root / layer.path) as archive:
            result[layer.name] = {n for n in archive.namelist() if not n.endswith("/")}
    return result


def test_splits_every_file_once_and_the_union_imports(project, tmp_path):
    manifest = build(settings(project))
    assert 2 <= len(manifest.layers) <= 5
    files = contents(project, manifest)
    every = [name for names in files.values() for name in names]
    assert len(every) == len(set(every))  # each file in exactly one layer
    for layer in manifest.layers:
        assert layer.zip_bytes <= LIMIT and os.path.getsize(project / layer.path) == layer.zip_bytes
    assert [layer.name for layer in manifest.layers] == [f"proj-deps-{i}" for i in range(1, len(manifest.layers) + 1)]
    task, opt = lambda_layout(tmp_path / "lambda", project / "dist" / "app.zip", [project / l.path for l in manifest.layers])
    result = run_handler(task, opt, "import app; print(app.handler({}, None))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['alpha', 'bravo', 'charlie', 'delta', 'echo', 1, 2]"


def test_adding_a_small_dependency_changes_one_layer(project, wheelhouse):
    first = build(settings(project))
    before = {layer.name: layer.sha256 for layer in first.layers}
    make_wheel(wheelhouse, "six")
    (project / "requirements.txt").write_text((project / "requirements.txt").read_text() + "six\n")
    second = build(settings(project))
    after = {layer.name: layer.sha256 for layer in second.layers}
    changed = {name for name in after if before.get(name) != after[name]}
    assert len(changed) == 1
    assert any("six" in layer.distributions for layer in second.layers if layer.name in changed)


def test_layer_table_is_printed(project, capsys):
    build(settings(project))
    out = capsys.readouterr().out
    assert "proj-deps-1" in out and "proj-deps-2" in out and "alpha" in out


def test_pins_from_layer_groups(project):
    manifest = build(settings(project, layer_groups={"echo": 3}))
    assert manifest.layers[2].distributions == ["echo"]


def test_over_budget_writes_nothing(project):
    with pytest.raises(LimitError) as error:
        build(settings(project, max_layers=1))
    assert "alpha" in str(error.value)
    assert not (project / "layers").exists() and not (project / "dist").exists()


def test_exclude_leaves_a_distribution_out_and_warns(project, capsys):
    manifest = build(settings(project, exclude=["echo"]))
    assert all("echo" not in layer.distributions for layer in manifest.layers)
    err = capsys.readouterr().err
    assert "echo is excluded but the app imports echo" in err


def test_manifest_lists_distributions_per_layer(project):
    build(settings(project))
    data = json.loads((project / "layers" / "manifest.json").read_text())
    listed = sorted(d for layer in data["layers"] for d in layer["distributions"])
    assert listed == ["alpha", "bravo", "charlie", "delta", "echo", "google-cloud-a", "google-cloud-b"]
