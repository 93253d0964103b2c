"""fastpip's shortcuts must never change which wheels pip picks."""

import os
import subprocess
import sys

from factory import make_wheel

from lambda_tasks.resolve.fastpip import wheel_fits
from lambda_tasks.targets import Target

ACCEPTED = frozenset(str(tag) for tag in Target("python3.12", "arm64").tags)


def test_wheel_fits_matches_the_target():
    assert wheel_fits("numpy-2.1.3-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", ACCEPTED)
    assert not wheel_fits("numpy-2.1.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", ACCEPTED)
    assert not wheel_fits("numpy-2.1.3-cp312-cp312-win_amd64.whl", ACCEPTED)
    assert wheel_fits("six-1.17.0-py2.py3-none-any.whl", ACCEPTED)
    assert wheel_fits("pkg-1.0-1build-cp312-abi3-manylinux_2_34_aarch64.whl", ACCEPTED)  # with a build tag
    assert wheel_fits("pkg-1.0.tar.gz", ACCEPTED) and wheel_fits("odd-name.whl", ACCEPTED)  # pip decides


def _download(module: list[str], wheelhouse, dest, env):
    target = Target("python3.12", "arm64")
    command = [sys.executable, *module, "download", "--no-index", "--find-links", str(wheelhouse), "-d", str(dest),
               "lib", *target.pip_target_args()]
    subprocess.run(command, check=True, capture_output=True, env=env)
    return sorted(os.listdir(dest))


def test_same_choice_as_plain_pip(tmp_path, wheelhouse):
    for tag in ("cp312-cp312-manylinux_2_17_aarch64", "cp312-cp312-manylinux_2_35_aarch64",
                "cp312-abi3-manylinux_2_28_aarch64", "cp312-cp312-manylinux_2_17_x86_64", "py3-none-any"):
        make_wheel(wheelhouse / tag, "lib", version="1.0", tag=tag)
    make_wheel(wheelhouse, "lib", version="2.0", tag="cp312-cp312-manylinux_2_35_aarch64")  # too new a glibc
    for path in wheelhouse.rglob("*.whl"):
        path.rename(wheelhouse / path.name)
    env = {**os.environ, "LAMBDA_TASKS_WHEEL_TAGS": " ".join(sorted(ACCEPTED))}
    plain = _download(["-m", "pip"], wheelhouse, tmp_path / "plain", env)
    fast = _download(["-m", "lambda_tasks.resolve.fastpip"], wheelhouse, tmp_path / "fast", env)
    assert fast == plain == ["lib-1.0-cp312-cp312-manylinux_2_17_aarch64.whl"]
