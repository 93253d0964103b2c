"""Building from source for the target: with the target's Python where there is one, a wheel without compiled code
accepted whatever its name says, ``--hash`` pins checked on the sdist fetched.

Shapes from aws-lambda-builders (test_allowlist_sqlalchemy, test_can_build_package_with_optional_c_speedups,
test_build_sdist_makes_incompatible_whl) and serverless-python-requirements (requirements-w-hashes.txt:
markupsafe==1.1.0 pinned with --hash, built from its sdist)."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from factory import make_project, make_sdist, make_wheel

from lambda_tasks.host import interpreters
from lambda_tasks.resolve.pure import as_pure, compiled_files
from lambda_tasks.targets import Target

BIN = Path(sys.executable).parent


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "lambda-tasks"), *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}, timeout=600)


def layer_names(project: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(next((project / "layers").glob("*.zip"))) as layer:
        return {name: layer.read(name) for name in layer.namelist()}


# ----------------------------------------------------------------------------------- a wheel's files decide


def test_a_wheel_named_for_a_platform_without_compiled_code_is_rewritten_pure(tmp_path):
    wheel = make_wheel(tmp_path, "sqlish", "1.3", tag="cp312-cp312-linux_x86_64",
                       files={"sqlish/__init__.py": "X = 1\n", "sqlish/cext.pyx": "# source only\n"})
    assert compiled_files(wheel) == []
    pure = as_pure(wheel)
    assert pure.name == "sqlish-1.3-py3-none-any.whl" and not wheel.exists()
    with zipfile.ZipFile(pure) as archive:
        info = archive.read("sqlish-1.3.dist-info/WHEEL").decode()
        assert "Tag: py3-none-any" in info and "Root-Is-Purelib: true" in info and "linux" not in info
        record = archive.read("sqlish-1.3.dist-info/RECORD").decode()
        row = next(line for line in record.splitlines() if line.startswith("sqlish-1.3.dist-info/WHEEL,"))
        digest = base64.urlsafe_b64encode(hashlib.sha256(info.encode()).digest()).rstrip(b"=").decode()
        assert row == f"sqlish-1.3.dist-info/WHEEL,sha256={digest},{len(info)}"
        assert archive.read("sqlish/__init__.py") == b"X = 1\n"


@pytest.mark.parametrize("member, data", [
    ("fast/_speedups.cpython-312-x86_64-linux-gnu.so", b"\x7fELF\x02\x01"),
    ("fast/_speedups.pyd", b"MZ\x90\x00"),
    ("fast.libs/libz.so.1", b"\x7fELF\x02\x01"),
    ("fast/bin/helper", b"\x7fELF\x02\x01\x01"),  # an executable without a suffix
])
def test_compiled_code_is_found_by_name_or_header(tmp_path, member, data):
    wheel = make_wheel(tmp_path, "fast", "1.0", tag="cp312-cp312-linux_x86_64",
                       files={"fast/__init__.py": "", member: data})
    assert compiled_files(wheel) == [member]


@pytest.mark.slow
@pytest.mark.e2e
def test_an_sdist_whose_wheel_is_named_for_the_host_but_pure_ships(tmp_path, wheelhouse):
    make_sdist(wheelhouse, "platnamed", "1.0", tag="cp312-cp312-linux_x86_64")
    project = make_project(tmp_path / "p", f"--no-index\n--find-links {wheelhouse}\nplatnamed==1.0\n")
    result = run(["build", "--runtime", "python3.12"], project)
    assert result.returncode == 0, result.stderr
    assert "platnamed-1.0-cp312-cp312-linux_x86_64.whl holds no compiled code: shipped as " \
           "platnamed-1.0-py3-none-any.whl" in result.stdout
    assert "python/platnamed/__init__.py" in layer_names(project)


# -------------------------------------------------------------------------------- the target's Python builds


_VERSION_BACKEND = '''
import base64, hashlib, os, sys, zipfile

def _h(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    info = "whichpy-1.0.dist-info"
    files = {"whichpy/__init__.py": ("BUILT_WITH = %r\\n" % ("%d.%d" % sys.version_info[:2])).encode(),
             info + "/METADATA": b"Metadata-Version: 2.1\\nName: whichpy\\nVersion: 1.0\\n",
             info + "/WHEEL": b"Wheel-Version: 1.0\\nGenerator: tests\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}
    with zipfile.ZipFile(os.path.join(wheel_directory, "whichpy-1.0-py3-none-any.whl"), "w") as zf:
        rows = []
        for name, data in files.items():
            zf.writestr(name, data)
            rows.append("%s,%s,%d" % (name, _h(data), len(data)))
        zf.writestr(info + "/RECORD", "\\n".join(rows + [info + "/RECORD,,"]) + "\\n")
    return "whichpy-1.0-py3-none-any.whl"
'''


def make_version_sdist(directory: Path) -> Path:
    """An sdist whose wheel records the Python version that built it."""
    members = {"whichpy-1.0/pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "backend"\n'
                                             'backend-path = ["."]\n',
               "whichpy-1.0/backend.py": _VERSION_BACKEND,
               "whichpy-1.0/PKG-INFO": "Metadata-Version: 2.1\nName: whichpy\nVersion: 1.0\n"}
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "whichpy-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, text in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    return path


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize("runtime", ["python3.10", "python3.12"])
def test_an_sdist_is_built_with_the_targets_python_when_there_is_one(tmp_path, wheelhouse, runtime):
    make_version_sdist(wheelhouse)
    project = make_project(tmp_path / "p", f"--no-index\n--find-links {wheelhouse}\nwhichpy==1.0\n")
    result = run(["build", "--runtime", runtime], project)
    assert result.returncode == 0, result.stderr
    version = runtime.removeprefix("python")
    built_with = layer_names(project)["python/whichpy/__init__.py"].decode()
    if interpreters(Target(runtime, "x86_64")):
        assert built_with == f"BUILT_WITH = '{version}'\n"
        assert f"building whichpy==1.0 into a wheel with Python {version} (compiler disabled)" in result.stdout
    else:  # said in one line
        host = f"{sys.version_info[0]}.{sys.version_info[1]}"
        assert built_with == f"BUILT_WITH = '{host}'\n"
        assert f"with this Python {host}: no Python {version} on this machine" in result.stdout


# ------------------------------------------------------------------------------------------- --hash pins


@pytest.mark.slow
@pytest.mark.e2e
def test_hash_pins_check_the_sdist_fetched_and_a_wrong_one_names_the_file(tmp_path, wheelhouse):
    sdist = make_sdist(wheelhouse, "pinnedsrc", "1.0", tag="cp312-cp312-linux_x86_64")
    make_wheel(wheelhouse, "pinnedwheel", "1.0")
    right = hashlib.sha256(sdist.read_bytes()).hexdigest()
    wheel_hash = hashlib.sha256((wheelhouse / "pinnedwheel-1.0-py3-none-any.whl").read_bytes()).hexdigest()
    text = (f"--no-index\n--find-links {wheelhouse}\npinnedsrc==1.0 \\\n    --hash=sha256:{'0' * 64} \\\n"
            f"    --hash=sha256:{right}\npinnedwheel==1.0 --hash=sha256:{wheel_hash}\n")
    project = make_project(tmp_path / "p", text)
    result = run(["build", "--runtime", "python3.12"], project)
    assert result.returncode == 0, result.stderr
    assert {"python/pinnedsrc/__init__.py", "python/pinnedwheel/__init__.py"} <= set(layer_names(project))
    again = run(["build", "--runtime", "python3.12", "--force"], project)  # the cached resolution, pins checked
    assert again.returncode == 0, again.stderr

    wrong = make_project(tmp_path / "wrong", text.replace(right, "f" * 64))
    failed = run(["build", "--runtime", "python3.12"], wrong)
    assert failed.returncode == 1
    first = failed.stderr.splitlines()[0]
    assert "pinnedsrc==1.0" in first and "pinnedsrc-1.0.tar.gz does not match its --hash pins" in first, first
    assert f"fetched pinnedsrc-1.0.tar.gz: sha256 {right}" in failed.stderr
    assert "Traceback" not in failed.stderr


# ------------------------------------------------------------------------------------------ the real index


@pytest.mark.pypi
@pytest.mark.slow
def test_sqlalchemy_1_3_builds_pure_for_python312(tmp_path):
    project = make_project(tmp_path / "p", "SQLAlchemy==1.3.24\n")
    result = run(["build", "--runtime", "python3.12"], project)
    assert result.returncode == 0, result.stderr
    names = layer_names(project)
    assert "python/sqlalchemy/orm/session.py" in names and not [n for n in names if n.endswith(".so")]
    assert "Tag: py3-none-any" in names["python/sqlalchemy-1.3.24.dist-info/WHEEL"].decode()


#: markupsafe 1.1.0's pins as pip-compile --generate-hashes wrote them (serverless-python-requirements'
#: tests/base/requirements-w-hashes.txt): two of its wheels' (none for 3.12) and its sdist's (the last one).
MARKUPSAFE_PINS = ("f82e347a72f955b7017a39708a3667f106e6ad4d10b25f237396a7115d8ed5fd",
                   "fb7c206e01ad85ce57feeaaa0bf784b97fa3cad0d4a5737bc5295785f5c613a1",
                   "4e97332c9ce444b0c2c38dd22ddc61c743eb208d916e4265a2a3b575bdccb1d3")


@pytest.mark.pypi
@pytest.mark.slow
def test_markupsafe_1_1_0_with_hash_pins_builds_from_its_checked_sdist(tmp_path):
    pins = "".join(f" \\\n    --hash=sha256:{pin}" for pin in MARKUPSAFE_PINS)
    project = make_project(tmp_path / "p", f"markupsafe==1.1.0{pins}\n")
    result = run(["build", "--runtime", "python3.12"], project)
    assert result.returncode == 0, result.stderr
    assert "python/markupsafe/__init__.py" in layer_names(project)
    wrong = make_project(tmp_path / "wrong", f"markupsafe==1.1.0 --hash=sha256:{MARKUPSAFE_PINS[0]}\n")
    failed = run(["build", "--runtime", "python3.12"], wrong)
    assert failed.returncode == 1 and "MarkupSafe-1.1.0.tar.gz does not match its --hash pins" in failed.stderr
