"""The build end to end, with pip running offline against wheels the tests make."""

import json
import os
import zipfile
from pathlib import Path

import pytest
from conftest import lambda_layout, offline_pyproject, run_handler
from factory import COMPILED, build, make_project, make_sdist, make_wheel

from lambda_tasks.config import load_settings
from lambda_tasks.errors import LambdaTasksError, LimitError, ResolveError
from lambda_tasks.report import Reporter


def settings_for(root: Path, **flags):
    return load_settings(root, {}, {"runtime": "python3.12", **flags})


@pytest.fixture
def project(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "purelib", files={"purelib/__init__.py": "def hello():\n    return 'pure'\n"},
               requires=["helperdep"])
    make_wheel(wheelhouse, "helperdep")
    make_wheel(wheelhouse, "fastlib", tag="cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64",
               files={"fastlib/__init__.py": "ARCH = 'x86_64'\n", "fastlib/_speed.cpython-312-x86_64-linux-gnu.so": b"not an ELF file"})
    make_wheel(wheelhouse, "fastlib", tag="cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64",
               files={"fastlib/__init__.py": "ARCH = 'aarch64'\n", "fastlib/_speed.cpython-312-aarch64-linux-gnu.so": b"not an ELF file"})
    make_wheel(wheelhouse, "fastlib", version="2.0", tag="cp312-cp312-manylinux_2_35_x86_64",  # too new for AL2023
               files={"fastlib/__init__.py": "ARCH = 'too new'\n"})
    root = make_project(tmp_path / "proj", "purelib\nfastlib\n", pyproject=offline_pyproject(wheelhouse),
                        app="import purelib, fastlib, vendored_mod\nfrom chalicelib import helper\n\n"
                            "def handler(event, context):\n"
                            "    return [purelib.hello(), fastlib.ARCH, vendored_mod.X, helper.VALUE]\n")
    (root / "vendor").mkdir()
    (root / "vendor" / "vendored_mod.py").write_text("X = 'vendored'\n")
    return root


def layer_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def test_build_resolves_for_the_target_and_runs_in_a_lambda_layout(project, tmp_path):
    manifest = build(settings_for(project))
    layer = project / manifest.layers[0].path
    names = layer_names(layer)
    assert all(name.startswith("python/") for name in names)
    assert "python/fastlib/_speed.cpython-312-x86_64-linux-gnu.so" in names
    assert "python/vendored_mod.py" in names and "python/helperdep/__init__.py" in names
    assert manifest.layers[0].distributions == ["fastlib", "helperdep", "purelib", "vendor/vendored_mod.py"]
    task, opt = lambda_layout(tmp_path / "lambda", project / "dist" / "app.zip", [layer])
    result = run_handler(task, opt, "import app; print(app.handler({}, None))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['pure', 'x86_64', 'vendored', 42]"


@pytest.mark.slow
def test_arm64_gets_the_aarch64_wheel(project):
    manifest = build(settings_for(project, arch="arm64"))
    names = layer_names(project / manifest.layers[0].path)
    assert "python/fastlib/_speed.cpython-312-aarch64-linux-gnu.so" in names
    assert not any("x86_64" in name for name in names)
    assert manifest.architecture == "arm64"


@pytest.mark.slow
def test_manifest_matches_architecture_doc(project):
    build(settings_for(project))
    data = json.loads((project / "layers" / "manifest.json").read_text())
    assert data["runtime"] == "python3.12" and data["architecture"] == "x86_64"
    app = data["app"]
    assert app["path"] == "dist/app.zip" and app["zip_bytes"] == os.path.getsize(project / "dist" / "app.zip")
    layer = data["layers"][0]
    assert set(layer) >= {"name", "path", "sha256", "zip_bytes", "unzipped_bytes", "distributions", "published"}
    assert layer["name"] == "proj-deps-1" and layer["path"] == "layers/proj-deps-1.zip"


@pytest.mark.slow
def test_app_zip_holds_only_app_and_chalicelib(project):
    (project / "chalicelib" / "__pycache__").mkdir()
    (project / "chalicelib" / "__pycache__" / "helper.cpython-312.pyc").write_bytes(b"junk")
    (project / "chalicelib" / ".DS_Store").write_bytes(b"junk")
    (project / "chalicelib" / "helper.py~").write_text("junk")
    (project / "chalicelib" / "data").mkdir()
    (project / "chalicelib" / "data" / "config.json").write_text("{}")
    (project / "notes.txt").write_text("not shipped")
    build(settings_for(project))
    assert layer_names(project / "dist" / "app.zip") == [
        "app.py", "chalicelib/", "chalicelib/__init__.py", "chalicelib/data/", "chalicelib/data/config.json",
        "chalicelib/helper.py",
    ]


@pytest.mark.slow
def test_two_builds_on_different_paths_and_times_are_byte_identical(project, tmp_path, wheelhouse):
    first = build(settings_for(project))
    copy = tmp_path / "elsewhere" / "proj"
    import shutil

    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("dist", "layers"))
    for path in copy.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    second = build(settings_for(copy))
    assert (project / "dist/app.zip").read_bytes() == (copy / "dist/app.zip").read_bytes()
    assert first.layers[0].sha256 == second.layers[0].sha256
    assert (project / first.layers[0].path).read_bytes() == (copy / second.layers[0].path).read_bytes()


@pytest.mark.slow
def test_noop_and_app_only_rebuilds(project, capsys):
    build(settings_for(project))
    layer = project / "layers" / "proj-deps-1.zip"
    layer_mtime = layer.stat().st_mtime_ns
    capsys.readouterr()
    build(settings_for(project))
    assert "up to date" in capsys.readouterr().out
    (project / "chalicelib" / "helper.py").write_text("VALUE = 43\n")
    manifest = build(settings_for(project))
    out = capsys.readouterr().out
    assert "layers: up to date" in out and "write: layers" not in out
    assert layer.stat().st_mtime_ns == layer_mtime
    with zipfile.ZipFile(project / "dist" / "app.zip") as archive:
        assert archive.read("chalicelib/helper.py") == b"VALUE = 43\n"
    assert manifest.app.sha256 != "" and json.loads((project / "layers/manifest.json").read_text())["app"]["sha256"] == manifest.app.sha256


@pytest.mark.slow
def test_requirements_change_rebuilds_layer(project, wheelhouse):
    first = build(settings_for(project))
    make_wheel(wheelhouse, "extra")
    (project / "requirements.txt").write_text("purelib\nfastlib\nextra\n")
    second = build(settings_for(project))
    assert "extra" in second.layers[0].distributions and first.layers[0].sha256 != second.layers[0].sha256


@pytest.mark.slow
def test_vendor_wheel_is_unpacked(project, wheelhouse):
    make_wheel(project / "vendor", "privatepkg", files={"privatepkg/__init__.py": "P = 1\n"})
    manifest = build(settings_for(project))
    names = layer_names(project / manifest.layers[0].path)
    assert "python/privatepkg/__init__.py" in names and not any(n.endswith(".whl") for n in names)
    assert "privatepkg" in manifest.layers[0].distributions


@pytest.mark.slow
def test_vendor_wheel_for_wrong_target_is_refused(project):
    make_wheel(project / "vendor", "nativepkg", tag="cp311-cp311-manylinux2014_x86_64")
    with pytest.raises(LambdaTasksError, match=r"vendor/nativepkg-1.0-cp311.*python3.12"):
        build(settings_for(project))


@pytest.mark.slow
def test_vendor_collision_with_dependency_names_both(project):
    (project / "vendor" / "purelib").mkdir()
    (project / "vendor" / "purelib" / "__init__.py").write_text("clash = True\n")
    with pytest.raises(LambdaTasksError, match=r"vendor/purelib/__init__.py collides with .*purelib"):
        build(settings_for(project))
    assert not (project / "dist" / "app.zip").exists()


@pytest.mark.slow
def test_wheel_data_dirs_go_to_top_and_scripts_are_dropped(project, wheelhouse):
    make_wheel(wheelhouse, "datapkg", tag="cp312-cp312-manylinux2014_x86_64", files={
        "datapkg.data/platlib/datapkg_native.py": "N = 1\n",
        "datapkg.data/purelib/datapkg/__init__.py": "D = 1\n",
        "datapkg.data/scripts/datapkg-cli": "#!/usr/bin/python\n",
        "datapkg.data/data/share/doc.txt": "doc",
    })
    (project / "requirements.txt").write_text("datapkg\n")
    manifest = build(settings_for(project))
    with zipfile.ZipFile(project / manifest.layers[0].path) as archive:
        names = archive.namelist()
        record = archive.read("python/datapkg-1.0.dist-info/RECORD").decode()
    assert "python/datapkg_native.py" in names and "python/datapkg/__init__.py" in names
    assert not any(".data/" in n or "datapkg-cli" in n or "doc.txt" in n for n in names)
    assert "datapkg/__init__.py," in record and ".data/" not in record


def test_missing_app_py_is_an_error(project):
    (project / "app.py").unlink()
    with pytest.raises(LambdaTasksError, match=r"no app.py"):
        build(settings_for(project))


@pytest.mark.slow
def test_layer_over_limit_fails_before_writing(project):
    from lambda_tasks.config import load_settings

    settings = load_settings(project, {}, {"runtime": "python3.12", "layer_zip_limit": 600, "max_layers": 1})
    with pytest.raises(LimitError) as error:
        build(settings)
    assert "purelib" in str(error.value) or "fastlib" in str(error.value)
    assert not (project / "layers").exists() and not (project / "dist").exists()


@pytest.mark.slow
def test_total_unzipped_limit_names_largest(project):
    settings = load_settings(project, {}, {"runtime": "python3.12", "unzipped_limit": 400})
    with pytest.raises(LimitError, match="400") as error:
        build(settings)
    assert "fastlib" in str(error.value) and "purelib" in str(error.value)  # the largest, by name
    assert not (project / "dist").exists()


@pytest.mark.slow
def test_unknown_requirement_is_one_line(project):
    (project / "requirements.txt").write_text("does-not-exist==1.0\n")
    with pytest.raises(ResolveError) as error:
        build(settings_for(project))
    message = str(error.value)
    assert "does-not-exist==1.0" in message and "\n" not in message


@pytest.mark.slow
def test_no_wheel_for_new_glibc_only(project, wheelhouse):
    (project / "requirements.txt").write_text("fastlib==2.0\n")
    with pytest.raises(ResolveError, match=r"fastlib==2.0"):
        build(settings_for(project))


@pytest.mark.slow
def test_pure_sdist_is_built_and_used(project, wheelhouse, tmp_path):
    make_sdist(wheelhouse, "puresdist")
    (project / "requirements.txt").write_text("puresdist==1.0\n")
    manifest = build(settings_for(project))
    assert "python/puresdist/__init__.py" in layer_names(project / manifest.layers[0].path)


@pytest.mark.slow
def test_compiled_sdist_fails_with_vendor_advice(project, wheelhouse):
    make_sdist(wheelhouse, "nativesdist", tag="cp311-cp311-linux_x86_64",
               extra_files={"nativesdist/_native.so": COMPILED})  # compiled code: a platform name alone is not
    (project / "requirements.txt").write_text("nativesdist\n")
    with pytest.raises(ResolveError) as error:
        build(settings_for(project))
    message = str(error.value)
    assert "nativesdist" in message and "vendor/" in message and "prebuilt wheel" in message
    assert not (project / "layers").exists()


@pytest.mark.slow
def test_sdist_that_fails_to_build_gives_vendor_advice(project, wheelhouse):
    make_sdist(wheelhouse, "brokensdist", fail="pg_config executable not found")
    (project / "requirements.txt").write_text("brokensdist\n")
    with pytest.raises(ResolveError, match=r"(?s)pg_config executable not found.*vendor/"):
        build(settings_for(project))


@pytest.mark.slow
def test_progress_lines_in_ci(project, capsys):
    build(settings_for(project), reporter=Reporter())
    out = capsys.readouterr().out
    assert "resolve: 3 wheels for python3.12/x86_64" in out and "\r" not in out
    assert "dist/app.zip:" in out and "% of the 50.0 MiB zip limit" in out


@pytest.mark.slow
def test_deflate64_vendor_wheel_is_read_and_recompressed(project):
    """tests/data holds a wheel made by 7-Zip with Deflate64 (method 9), which zipfile alone cannot read."""
    wheel = Path(__file__).parent / "data" / "deflatesixtyfour-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        assert archive.getinfo("deflatesixtyfour/__init__.py").compress_type == 9
    (project / "vendor" / wheel.name).write_bytes(wheel.read_bytes())
    manifest = build(settings_for(project))
    with zipfile.ZipFile(project / manifest.layers[0].path) as archive:
        info = archive.getinfo("python/deflatesixtyfour/__init__.py")
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert archive.read(info) == ("VALUE = %r\n" % ("sixty-four " * 200)).encode()
        assert "python/deflatesixtyfour-1.0.dist-info/RECORD" in archive.namelist()


@pytest.mark.slow
def test_unreachable_index_is_one_line_naming_the_requirement(project):
    (project / "pyproject.toml").write_text(
        '[tool.lambda-tasks]\npip_args = ["--index-url", "http://127.0.0.1:9/simple", "--retries", "1", "--timeout", "2"]\n')
    (project / "requirements.txt").write_text("purelib==1.0\n")
    with pytest.raises(ResolveError) as error:
        build(settings_for(project))
    message = str(error.value)
    assert "could not reach the package index" in message and "purelib==1.0" in message and "\n" not in message


@pytest.mark.slow
def test_included_requirements_files_count_as_inputs(project, wheelhouse, capsys):
    make_wheel(wheelhouse, "extra")
    (project / "requirements").mkdir()
    (project / "requirements" / "base.txt").write_text("purelib\n")
    (project / "requirements.txt").write_text("-r requirements/base.txt\nfastlib\n")
    first = build(settings_for(project))
    assert "purelib" in first.layers[0].distributions and "extra" not in first.layers[0].distributions
    capsys.readouterr()
    (project / "requirements" / "base.txt").write_text("purelib\nextra\n")
    second = build(settings_for(project))
    assert "up to date" not in capsys.readouterr().out
    assert "extra" in second.layers[0].distributions


def test_app_without_dependencies_has_no_layers(tmp_path, capsys):
    root = make_project(tmp_path / "bare", "")
    manifest = build(settings_for(root))
    assert manifest.layers == [] and (root / "dist" / "app.zip").is_file()
    assert "layers: none" in capsys.readouterr().out


@pytest.mark.slow
def test_audit_verdicts_are_remembered_between_builds(project, monkeypatch):
    from lambda_tasks.checks import audit as audit_module

    calls = []
    real = audit_module.verdict
    monkeypatch.setattr(audit_module, "verdict", lambda path, *a: calls.append(path.removeprefix("python/")) or real(path, *a))
    build(settings_for(project))
    first = len(calls)
    assert calls.count("fastlib/_speed.cpython-312-x86_64-linux-gnu.so") == 1  # read once, with the CRC check
    calls.clear()
    build(settings_for(project), force=True)  # same wheels: their members are not read again
    assert not any(name.startswith("fastlib/") for name in calls) and len(calls) < first
    build(settings_for(project, arch="arm64"))  # another target: audited afresh
    assert "fastlib/_speed.cpython-312-aarch64-linux-gnu.so" in calls
