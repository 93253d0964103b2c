"""pip's configuration read as pip reads it (checked against pip's own parser) and passed to uv."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lambda_tasks.config import load_settings
from lambda_tasks.resolve.installer import choose, configuration_key
from lambda_tasks.resolve.pip_config import PipConfigError, config_files, pip_settings, uv_options

PIP_DEFAULT_INDEX = "https://pypi.org/simple"


def pips_view() -> dict[str, object]:
    """What pip's own ``download`` command makes of the configuration."""
    from pip._internal.commands import create_command

    options, _ = create_command("download").parse_args([])
    return {"index-url": options.index_url, "extra-index-url": options.extra_index_urls,
            "find-links": options.find_links, "constraint": options.constraints, "pre": options.pre,
            "no-index": options.no_index, "trusted-host": options.trusted_hosts, "timeout": options.timeout}


def our_view() -> dict[str, object]:
    """The same fields from :func:`pip_settings`."""
    found = pip_settings()
    return {"index-url": found.get("index-url", PIP_DEFAULT_INDEX),
            "extra-index-url": found.get("extra-index-url", "").split(),
            "find-links": found.get("find-links", "").split(),
            "constraint": found.get("constraint", "").split(),
            "pre": found.get("pre", "0").lower() in {"1", "true", "yes", "on", "y", "t"},
            "no-index": found.get("no-index", "0").lower() in {"1", "true", "yes", "on", "y", "t"},
            "trusted-host": found.get("trusted-host", "").split(),
            "timeout": float(found.get("timeout", found.get("default-timeout", "15")))}


@pytest.fixture
def pip_home(tmp_path, monkeypatch):
    """A machine whose pip configuration lives under tmp_path: a global, a user and no PIP_* variables."""
    for name in list(os.environ):
        if name.startswith("PIP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "xdg"))
    if Path(config_files(os.environ)[-1]).is_file():
        pytest.skip("this interpreter's prefix has a pip.conf")
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


CASES = {
    "global only": ({"xdg/pip/pip.conf": "[global]\nindex-url = https://g/simple\n"
                     "extra-index-url = https://e1/simple\n  https://e2/simple\nfind-links = /w1 /w2\n"}, {}),
    "user over global, download section over global": (
        {"xdg/pip/pip.conf": "[global]\nindex-url = https://g/simple\ntimeout = 30\n",
         "home/.config/pip/pip.conf": "[global]\nindex-url = https://u/simple\n[download]\ntimeout = 40\n"
                                      "[install]\nindex-url = https://not-for-download/simple\n"}, {}),
    "a download section in the global file beats the user's global section": (
        {"xdg/pip/pip.conf": "[download]\nindex-url = https://gd/simple\n",
         "home/.config/pip/pip.conf": "[global]\nindex-url = https://ug/simple\n"}, {}),
    "variables over files, empty values ignored": (
        {"xdg/pip/pip.conf": "[global]\nindex-url = https://g/simple\nextra-index-url = https://e/simple\n"},
        {"PIP_INDEX_URL": "https://v/simple", "PIP_EXTRA_INDEX_URL": "", "PIP_NO_INDEX": "yes",
         "PIP_TRUSTED_HOST": "a b", "PIP_PRE": "1"}),
    "PIP_CONFIG_FILE over the others, the user's file skipped": (
        {"xdg/pip/pip.conf": "[global]\nfind-links = /global\n", "env.conf": "[global]\nindex-url = https://f/simple\n",
         "home/.config/pip/pip.conf": "[global]\nconstraint = /user-constraints.txt\n"},
        {"PIP_CONFIG_FILE": "{tmp}/env.conf"}),
    "PIP_CONFIG_FILE=devnull: no files at all": (
        {"xdg/pip/pip.conf": "[global]\nindex-url = https://g/simple\n"}, {"PIP_CONFIG_FILE": os.devnull}),
    "the legacy user file, then the new one": (
        {"home/.pip/pip.conf": "[global]\nindex-url = https://legacy/simple\nfind-links = /legacy\n",
         "home/.config/pip/pip.conf": "[global]\nindex-url = https://new/simple\n"}, {}),
    "underscores and upper case in names": (
        {"xdg/pip/pip.conf": "[global]\nIndex_URL = https://g/simple\n"}, {"PIP_DEFAULT_TIMEOUT": "7"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_reads_what_pip_reads(case, pip_home, monkeypatch):
    files, variables = CASES[case]
    for relative, text in files.items():
        write(pip_home / relative, text)
    for name, value in variables.items():
        monkeypatch.setenv(name, value.replace("{tmp}", str(pip_home)))
    assert our_view() == pips_view()


def test_an_unreadable_file_is_an_error_naming_it(pip_home):
    write(pip_home / "xdg/pip/pip.conf", "index-url = https://no-section/simple\n")
    with pytest.raises(PipConfigError, match=r"pip\.conf"):
        pip_settings()


def test_options_in_uvs_spelling():
    options = uv_options({"index-url": "https://i/simple", "extra-index-url": "https://a/simple https://b/simple",
                          "find-links": "/w", "constraint": "/c.txt", "pre": "true", "no-index": "0",
                          "trusted-host": "h1", "cert": "/ca.pem", "timeout": "60", "no-cache-dir": "1"},
                         ["-f", "/more", "--index-url=https://cli/simple"])
    assert options.args == ("--index-url", "https://cli/simple", "--extra-index-url", "https://a/simple",
                            "--extra-index-url", "https://b/simple", "--find-links", "/more", "--constraint",
                            "/c.txt", "--prerelease", "allow", "--allow-insecure-host", "h1")
    assert options.env == {"SSL_CERT_FILE": "/ca.pem", "UV_HTTP_TIMEOUT": "60"}
    assert options.untranslated == ()


def test_what_uv_cannot_take_is_named():
    options = uv_options({"no-binary": ":all:", "prefer-binary": "1"}, ["--keyring-provider", "subprocess"])
    assert set(options.untranslated) == {"no-binary", "--keyring-provider"}


def test_auto_takes_uv_unless_pip_is_configured_beyond_it(tmp_path, monkeypatch):
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 1\n")
    settings = load_settings(tmp_path, {}, {})
    assert settings.installer == "auto"
    assert choose(settings).name == "uv" and choose(settings).isolated
    monkeypatch.setenv("PIP_NO_BINARY", ":all:")
    chosen = choose(settings)
    assert chosen.name == "pip" and "no-binary" in chosen.why
    assert choose(load_settings(tmp_path, {}, {"installer": "uv"})).name == "uv"
    assert choose(load_settings(tmp_path, {}, {"installer": "pip"})).name == "pip"


def test_resolution_key_follows_pip_configuration_not_noise(tmp_path, monkeypatch):
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 1\n")
    settings = load_settings(tmp_path, {}, {})
    before = configuration_key(settings)
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    assert configuration_key(settings) == before
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://other/simple")
    assert configuration_key(settings) != before


def test_an_unreadable_pip_conf_sends_auto_to_pip_and_stops_uv_with_one_line(pip_home):
    from lambda_tasks.errors import ResolveError
    from lambda_tasks.resolve.uv import uv_settings

    write(pip_home / "xdg/pip/pip.conf", "index-url = https://no-section/simple\n")
    with pytest.raises(ResolveError, match=r"^pip's configuration cannot be read for uv: .*pip\.conf"):
        uv_settings([], isolated=False)
    (pip_home / "proj").mkdir()
    (pip_home / "proj" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    chosen = choose(load_settings(pip_home / "proj", {}, {}))
    assert chosen.name == "pip" and "unreadable configuration file" in chosen.why
