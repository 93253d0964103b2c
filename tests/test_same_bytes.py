"""Golden bytes: a split build of fixed inputs gives these exact zips.

The hashes were taken with the code before the package moved into subpackages (issue 9) and are unchanged by
the move. A change that alters them changes what users ship: update them only on purpose, and say why.
"""

import random

from factory import build, make_project, make_wheel

from lambda_tasks.config import load_settings
from lambda_tasks.report import Reporter

APP = "ccb7ff6dbbb0527cdc0034a8eb3065a394a0da88eb79bd7b94489ce2c921d1a9"
LAYERS = [
    ("proj-deps-1", "6a28c68103394de955676819d55164325e7ee31f2720563dfbd34b61817569ec", ["charlie", "delta", "vendor/v"]),
    ("proj-deps-2", "af4e3d941756bc6527e081b65fe6b7c878286aec799478dce50ab48ca670676d", ["alpha", "bravo"]),
    ("proj-deps-3", "2396b809067fe07b594ae5279c07fa9ebdfe9fde6fecf5f6e17f7793ddf3b255", ["echo"]),
]


def noise(seed: int, size: int = 6000) -> str:
    rng = random.Random(seed)
    return "DATA = {!r}\n".format("".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(size)))


def test_a_split_build_gives_the_golden_bytes(tmp_path, wheelhouse, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    for i, name in enumerate(["alpha", "bravo", "charlie", "delta", "echo"]):
        make_wheel(wheelhouse, name, files={f"{name}/__init__.py": noise(i) + f"NAME = {name!r}\n"})
    root = make_project(tmp_path / "proj", "alpha\nbravo\ncharlie\ndelta\necho\n",
                        app="import alpha\n\ndef handler(e, c):\n    return 1\n",
                        pyproject=f'[tool.lambda-tasks]\npip_args = ["--no-index", "--find-links", "{wheelhouse}"]\n'
                                  "layer_zip_limit = 12000\n")
    (root / "vendor" / "v").mkdir(parents=True)
    (root / "vendor" / "v" / "__init__.py").write_text("V = 1\n")
    manifest = build(load_settings(root, {}, {"runtime": "python3.12"}), reporter=Reporter(quiet=True))
    assert manifest.app.sha256 == APP
    assert [(layer.name, layer.sha256, layer.distributions) for layer in manifest.layers] == LAYERS
