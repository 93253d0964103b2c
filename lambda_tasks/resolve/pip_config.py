"""pip's configuration as ``pip download`` reads it, and the same options in uv's spelling.

uv reads none of pip's configuration. So that ``installer = "auto"`` resolves from the same indexes with
the same options whichever installer runs, the options pip would use are read here as pip reads them: the
files where pip looks (found with pip's own ``appdirs``), merged in pip's order (global < user < site <
``PIP_CONFIG_FILE``, then ``PIP_*`` variables; the ``[global]`` section < ``[download]`` < variables), empty
values ignored, names normalised as pip does. Importing pip's ``Configuration`` would do the same but costs
close to a second of start-up (it pulls in pip's console and HTTP stack); tests/test_pip_config.py checks
this reading against pip's own parser for every case it handles.

An option uv cannot take as pip means it (``no-binary``, a keyring provider, ``use-deprecated``, ...) is
reported, so ``auto`` resolves with pip rather than with something else than the user asked for.
"""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

#: The sections ``pip download`` reads, lowest precedence first (pip's ConfigOptionParser).
SECTIONS = ("global", "download", ":env:")
#: pip options uv takes with a value (uv's option; an option pip accepts several times is split on spaces).
_VALUE_OPTIONS = {"index-url": "--index-url", "extra-index-url": "--extra-index-url",
                  "find-links": "--find-links", "constraint": "--constraint", "trusted-host": "--allow-insecure-host"}
_LISTS = {"extra-index-url", "find-links", "constraint", "trusted-host"}
#: pip flags uv takes.
_FLAG_OPTIONS = {"no-index": ("--no-index",), "pre": ("--prerelease", "allow")}
#: pip options that uv reads from the environment instead.
_ENV_OPTIONS = {"cert": ("SSL_CERT_FILE",), "client-cert": ("SSL_CLIENT_CERT",), "timeout": ("UV_HTTP_TIMEOUT",),
                "default-timeout": ("UV_HTTP_TIMEOUT",), "proxy": ("HTTPS_PROXY", "HTTP_PROXY")}
#: pip options that change neither what is resolved nor where it comes from.
NO_EFFECT = frozenset({
    "cache-dir", "no-cache-dir", "disable-pip-version-check", "progress-bar", "quiet", "verbose", "no-input",
    "no-color", "log", "log-file", "local-log", "root-user-action", "require-virtualenv", "require-venv",
    "no-python-version-warning", "exists-action", "config-file", "retries", "isolated", "python",
    "no-warn-script-location", "no-warn-conflicts", "break-system-packages", "user", "src", "use-pep517",
    "no-build-isolation", "progress", "resume-retries",
    # both installers already take wheels only and build a requirement's sdist only when it has no wheel
    "prefer-binary", "only-binary",
})
#: pip command-line spellings of the options above (``pip_args``).
_SHORT = {"-i": "index-url", "-f": "find-links", "-c": "constraint"}


def _normalise(name: str) -> str:
    """A key as pip stores it: lower case, ``_`` as ``-``, no leading ``--``."""
    name = name.lower().replace("_", "-")
    return name[2:] if name.startswith("--") else name


class PipConfigError(Exception):
    """pip's configuration cannot be read as pip reads it (a file configparser refuses, an unknown pip)."""


def config_files(environ: Mapping[str, str]) -> list[str]:
    """The files pip reads, lowest precedence first (an absent file is skipped when read)."""
    env_file = environ.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:  # pip: no configuration files at all
        return []
    try:
        # lazy: pip is not loaded by a build that does not resolve (appdirs alone is light: pip's location rules)
        from pip._internal.utils import appdirs
    except ImportError as error:  # a pip that moved them: where pip looks is unknown, so pip must resolve
        raise PipConfigError(f"pip's configuration locations are unknown ({error})") from None

    basename = "pip.ini" if sys.platform == "win32" else "pip.conf"
    files = [os.path.join(path, basename) for path in appdirs.site_config_dirs("pip")]
    if not (env_file and os.path.exists(env_file)):  # pip skips the user's files when PIP_CONFIG_FILE exists
        legacy = os.path.join(os.path.expanduser("~"), "pip" if sys.platform == "win32" else ".pip", basename)
        files += [legacy, os.path.join(appdirs.user_config_dir("pip"), basename)]
    files.append(os.path.join(sys.prefix, basename))
    if env_file:
        files.append(env_file)
    return files


def pip_settings(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every option ``pip download`` takes from its configuration: normalised name -> value as written."""
    environ = os.environ if environ is None else environ
    merged: dict[tuple[str, str], str] = {}
    for path in config_files(environ):
        if not os.path.isfile(path):
            continue
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError) as error:
            raise PipConfigError(f"{path}: {error}") from None
        for section in parser.sections():
            for name, value in parser.items(section):
                merged[(section, _normalise(name))] = value
    for key, value in environ.items():
        if key.startswith("PIP_") and key[4:].lower() not in ("version", "help"):
            merged[(":env:", _normalise(key[4:]))] = value
    settings: dict[str, str] = {}
    for section in SECTIONS:
        for (where, name), value in merged.items():
            if where == section and value:
                settings[name] = value
    return settings


@dataclass(frozen=True)
class UvOptions:
    """pip's options in uv's spelling: arguments, environment, and what uv cannot take."""

    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    untranslated: tuple[str, ...] = ()


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "y", "yes", "t", "true", "on"}


def command_line_settings(pip_args: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """``pip_args`` as settings (they override the configuration), and the arguments not understood here."""
    settings: dict[str, str] = {}
    unknown: list[str] = []
    items = list(pip_args)
    index = 0
    while index < len(items):
        item = items[index]
        option, has_value, inline = item.partition("=")
        name = _SHORT.get(option) or (_normalise(option) if option.startswith("--") else "")
        if name in _VALUE_OPTIONS or name in _ENV_OPTIONS:
            value = inline if has_value else (items[index + 1] if index + 1 < len(items) else "")
            index += 0 if has_value else 1
            settings[name] = f"{settings[name]} {value}" if name in _LISTS and name in settings else value
        elif name in _FLAG_OPTIONS and not has_value:
            settings[name] = "1"
        elif item.startswith("-") and name not in NO_EFFECT:
            unknown.append(option)
        index += 1
    return settings, unknown


def uv_options(settings: Mapping[str, str], pip_args: Sequence[str] = ()) -> UvOptions:
    """The uv arguments and environment that mean what ``settings`` (pip's configuration) and ``pip_args`` mean."""
    given, unknown = command_line_settings(pip_args)
    merged = {**settings, **given}
    args: list[str] = []
    env: dict[str, str] = {}
    untranslated = list(unknown)
    for name, value in merged.items():
        if name in _VALUE_OPTIONS:
            for item in value.split() if name in _LISTS else [value.strip()]:
                args += [_VALUE_OPTIONS[name], item]
        elif name in _FLAG_OPTIONS:
            if _truthy(value):
                args += _FLAG_OPTIONS[name]
        elif name in _ENV_OPTIONS:
            for variable in _ENV_OPTIONS[name]:
                env[variable] = value.strip()
        elif name not in NO_EFFECT:
            untranslated.append(name)
    return UvOptions(tuple(args), env, tuple(untranslated))
