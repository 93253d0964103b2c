from pathlib import Path

import pytest

from lambda_tasks.config import load_settings
from lambda_tasks.errors import SettingsError


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(text)
    return tmp_path


def test_defaults(tmp_path):
    settings = load_settings(tmp_path, {}, {"runtime": "python3.12"})
    assert settings.project_dir == tmp_path.resolve()
    assert settings.arch == "x86_64"
    assert settings.layer_name == f"{tmp_path.name}-deps"
    assert settings.app_zip_path == tmp_path.resolve() / "dist" / "app.zip"
    assert settings.layer_count_limit == 5
    assert settings.layer_limit == 52_428_800


def test_precedence_flags_over_invoke_over_pyproject(tmp_path):
    write(tmp_path, '[tool.lambda-tasks]\nruntime = "python3.10"\narch = "arm64"\nlayer-name = "x"\n')
    settings = load_settings(tmp_path, {"runtime": "python3.11", "arch": None}, {"runtime": "python3.13"})
    assert settings.runtime == "python3.13"
    assert settings.arch == "arm64"  # None in a higher source does not hide a lower one
    assert settings.layer_name == "x"  # dashes and underscores alike
    settings = load_settings(tmp_path, {"runtime": "python3.11"}, {})
    assert settings.runtime == "python3.11"


def test_env_style_strings_are_parsed(tmp_path):
    settings = load_settings(tmp_path, {"runtime": "python3.12", "slim": "true", "max_layers": "3",
                                        "exclude": "boto3,botocore"}, {})
    assert settings.slim is True and settings.max_layers == 3 and settings.exclude == ("boto3", "botocore")


def test_unknown_key_is_named(tmp_path):
    write(tmp_path, '[tool.lambda-tasks]\nruntim = "python3.12"\n')
    with pytest.raises(SettingsError, match="unknown setting 'runtim'"):
        load_settings(tmp_path, {}, {})


@pytest.mark.parametrize(
    "toml, message",
    [
        ('runtime = "python3.9"', "python3.9"),
        ('arch = "amd64"', "amd64"),
        ("slim = 3", "'slim'"),
        ('max_layers = "many"', "'max_layers'"),
        ("max_layers = 7", "'max_layers' .*must be 1 to 5"),
        ('extra_layers = ["a","b","c","d","e"]', "'extra_layers'"),
        ('layer_groups = {numpy = 0}', "'layer_groups'"),
        ('functions = [{handler = "x"}]', "name"),
        ('installer = "poetry"', "'installer'"),
        ('project_dir = "nope"', "does not exist"),
    ],
)
def test_bad_values_name_the_key(tmp_path, toml, message):
    write(tmp_path, f'[tool.lambda-tasks]\nruntime = "python3.12"\n{toml}\n' if "runtime" not in toml
          else f"[tool.lambda-tasks]\n{toml}\n")
    with pytest.raises(SettingsError, match=message):
        load_settings(tmp_path, {}, {})


def test_invalid_toml(tmp_path):
    write(tmp_path, "[tool.lambda-tasks\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(tmp_path, {}, {})


def test_extra_layers_reduce_layer_budget(tmp_path):
    settings = load_settings(tmp_path, {"runtime": "python3.12", "extra_layers": ["arn:aws:lambda:x:1:layer:ext:1"]}, {})
    assert settings.layer_count_limit == 4


def test_s3_bucket_raises_the_per_layer_cap(tmp_path):
    settings = load_settings(tmp_path, {"runtime": "python3.12", "s3_bucket": "b"}, {})
    assert settings.layer_limit == 262_144_000


def test_project_pyproject_fills_in_below_the_callers(tmp_path):
    app = tmp_path / "services" / "api"
    app.mkdir(parents=True)
    (app / "pyproject.toml").write_text('[tool.lambda-tasks]\nruntime = "python3.13"\narch = "arm64"\n'
                                        'layer_name = "api-libs"\nproject_dir = "elsewhere"\n')
    write(tmp_path, '[tool.lambda-tasks]\narch = "x86_64"\n')
    settings = load_settings(tmp_path, {}, {"project_dir": "services/api"})
    assert settings.project_dir == app.resolve()
    assert (settings.runtime, settings.arch, settings.layer_name) == ("python3.13", "x86_64", "api-libs")
    (app / "pyproject.toml").write_text('[tool.lambda-tasks]\nlayer_nam = "x"\n')
    with pytest.raises(SettingsError, match=r"(?s)layer_nam.*services/api/pyproject.toml"):
        load_settings(tmp_path, {}, {"project_dir": "services/api", "runtime": "python3.12"})
