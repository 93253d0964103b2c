import pytest
from packaging.tags import Tag

from lambda_tasks.errors import SettingsError
from lambda_tasks.targets import Target


def test_al2_runtime_accepts_up_to_glibc_226_and_legacy_aliases():
    target = Target("python3.11", "x86_64")
    assert target.platforms[0] == "manylinux_2_26_x86_64"
    assert "manylinux_2_27_x86_64" not in target.platforms
    assert {"manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "manylinux_2_5_x86_64"} <= set(
        target.platforms
    )


def test_al2023_runtime_accepts_up_to_glibc_234():
    target = Target("python3.12", "arm64")
    assert target.platforms[0] == "manylinux_2_34_aarch64"
    assert "manylinux_2_35_aarch64" not in target.platforms
    # manylinux1/2010 were never defined for aarch64
    assert not any(p.startswith(("manylinux1_", "manylinux2010_")) for p in target.platforms)
    assert "manylinux2014_aarch64" in target.platforms


@pytest.mark.parametrize(
    "filename, ok",
    [
        ("numpy-2.1.3-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", True),
        ("numpy-2.1.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", False),  # wrong arch
        ("numpy-2.1.3-cp311-cp311-manylinux_2_17_aarch64.whl", False),  # wrong python
        ("cryptography-44.0.0-cp39-abi3-manylinux_2_34_aarch64.whl", True),  # abi3 from an older python
        ("x-1.0-cp312-cp312-manylinux_2_35_aarch64.whl", False),  # glibc too new
        ("x-1.0-cp312-cp312-musllinux_1_2_aarch64.whl", False),  # musl never works
        ("x-1.0-cp312-cp312-linux_aarch64.whl", False),  # not portable
        ("six-1.17.0-py2.py3-none-any.whl", True),
    ],
)
def test_accepts_wheel(filename, ok):
    assert Target("python3.12", "arm64").accepts_wheel(filename) is ok


def test_glibc_boundary_differs_between_al2_and_al2023():
    name = "x-1.0-cp311-cp311-manylinux_2_28_x86_64.whl"
    assert not Target("python3.11", "x86_64").accepts_wheel(name)
    assert Target("python3.12", "x86_64").accepts_wheel(name.replace("cp311", "cp312"))


def test_tags_include_abi3_and_pure():
    tags = Target("python3.13", "x86_64").tags
    assert Tag("cp313", "cp313", "manylinux_2_34_x86_64") in tags
    assert Tag("cp38", "abi3", "manylinux2014_x86_64") in tags
    assert Tag("py3", "none", "any") in tags


def test_pip_args_name_every_platform():
    target = Target("python3.10", "x86_64")
    args = target.pip_target_args()
    assert "--only-binary=:all:" in args
    assert args[args.index("--python-version") + 1] == "3.10"
    assert args.count("--platform") == len(target.platforms)
    assert target.extension_suffix == "cpython-310-x86_64-linux-gnu"


@pytest.mark.parametrize("runtime, arch", [("python3.9", "x86_64"), ("python3.12", "aarch64"), ("py3", "arm64")])
def test_bad_target(runtime, arch):
    with pytest.raises(SettingsError):
        Target(runtime, arch)
