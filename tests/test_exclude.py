"""Leaving distributions out on purpose, through real builds: exclude and exclude_runtime_provided."""

import zipfile

from conftest import offline_pyproject
from factory import build, make_project, make_wheel

from lambda_tasks.config import load_settings
from lambda_tasks.report import Reporter


def _layer_names(root, manifest) -> set[str]:
    names: set[str] = set()
    for layer in manifest.layers:
        with zipfile.ZipFile(root / layer.path) as archive:
            names.update(archive.namelist())
    return names


def _project(tmp_path, wheelhouse, extra: str):
    make_wheel(wheelhouse, "boto3", "1.34.0", requires=["botocore", "jmespath"])
    make_wheel(wheelhouse, "botocore", "1.34.0", requires=["jmespath"])
    make_wheel(wheelhouse, "jmespath", "1.0.1")
    make_wheel(wheelhouse, "pyyaml-pure", "6.0", files={"yaml_pure/__init__.py": "Y = 1\n"})
    app = "import boto3\nimport yaml_pure\n\ndef handler(event, context):\n    return 1\n"
    return make_project(tmp_path / "proj", "boto3==1.34.0\npyyaml-pure\n", app=app,
                        pyproject=offline_pyproject(wheelhouse, extra))


def test_runtime_provided_packages_are_left_out_of_the_layer(tmp_path, wheelhouse, capsys):
    root = _project(tmp_path, wheelhouse, "exclude_runtime_provided = true\n")
    manifest = build(load_settings(root, {}, {"runtime": "python3.12"}), reporter=Reporter())
    names = _layer_names(root, manifest)
    assert "python/yaml_pure/__init__.py" in names
    assert not any(name.startswith(("python/boto3", "python/botocore", "python/jmespath")) for name in names)
    assert [layer.distributions for layer in manifest.layers] == [["pyyaml-pure"]]
    out, err = capsys.readouterr()
    assert "left out boto3, botocore, jmespath (provided by the Lambda runtime)" in out
    assert "pins boto3==1.34.0, but exclude_runtime_provided leaves it out" in err
    assert "the app's `import boto3` gets the Lambda runtime's own version" in err


def test_without_the_setting_they_ship(tmp_path, wheelhouse):
    root = _project(tmp_path, wheelhouse, "")
    manifest = build(load_settings(root, {}, {"runtime": "python3.12"}), reporter=Reporter(quiet=True))
    assert "python/boto3/__init__.py" in _layer_names(root, manifest)


def test_exclude_names_a_distribution_and_warns_when_the_app_imports_it(tmp_path, wheelhouse, capsys):
    root = _project(tmp_path, wheelhouse, 'exclude = ["PyYAML_Pure"]\n')
    manifest = build(load_settings(root, {}, {"runtime": "python3.12"}), reporter=Reporter())
    assert "python/yaml_pure/__init__.py" not in _layer_names(root, manifest)
    out, err = capsys.readouterr()
    assert "exclude: left out pyyaml-pure" in out
    assert "pyyaml-pure is excluded but the app imports yaml_pure" in err
