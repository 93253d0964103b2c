"""The dependency-closure check inside real builds: markers for the target, and a resolver that drops one."""

import zipfile

import pytest
from conftest import offline_pyproject
from factory import make_project, make_wheel

import lambda_tasks.resolve
from lambda_tasks.assemble import build
from lambda_tasks.config import load_settings
from lambda_tasks.errors import ResolveError
from lambda_tasks.report import Reporter


@pytest.fixture
def project(tmp_path, wheelhouse):
    make_wheel(wheelhouse, "anyio-like", "4.6.2", requires=['backport-eg>=1.0; python_version < "3.11"', "idna-like"])
    make_wheel(wheelhouse, "backport-eg", "1.2.0")
    make_wheel(wheelhouse, "idna-like", "3.10")
    return make_project(tmp_path / "proj", "anyio-like==4.6.2\n", pyproject=offline_pyproject(wheelhouse))


def _shipped(root, manifest) -> set[str]:
    return {dist for layer in manifest.layers for dist in layer.distributions}


@pytest.mark.parametrize("runtime, expected", [
    ("python3.10", {"anyio-like", "backport-eg", "idna-like"}),
    ("python3.12", {"anyio-like", "idna-like"}),
])
def test_markers_are_the_targets_and_the_closure_holds(project, runtime, expected, capsys):
    manifest = build(load_settings(project, {}, {"runtime": runtime}), reporter=Reporter())
    assert _shipped(project, manifest) == expected
    out = capsys.readouterr().out
    assert f"dependencies: the {len(expected)} resolved distributions are the closure of requirements.txt" in out
    with zipfile.ZipFile(project / manifest.layers[0].path) as layer:
        assert any(name.startswith("python/backport_eg") for name in layer.namelist()) == (runtime == "python3.10")


def test_a_resolver_that_drops_a_dependency_fails_the_build(project, monkeypatch):
    real = lambda_tasks.resolve.resolve

    def dropping(settings, declaration, reporter, refresh=False, **options):
        return [wheel for wheel in real(settings, declaration, reporter, refresh, **options)
                if "backport" not in wheel.name]

    monkeypatch.setattr(lambda_tasks.resolve, "resolve", dropping)
    with pytest.raises(ResolveError) as caught:
        build(load_settings(project, {}, {"runtime": "python3.10"}), reporter=Reporter(quiet=True))
    lines = str(caught.value).splitlines()
    assert lines[0] == "dependency check failed: 1 distribution missing for python3.10/x86_64: backport-eg"
    assert any('backport-eg>=1.0; python_version < "3.11"' in line for line in lines[1:])
    assert not (project / "layers" / "manifest.json").exists()
