""".chalice/config.json for one stage, with Chalice's precedence (chalice/config.py), as our settings.

A value is looked up in the stage's ``lambda_functions`` entry for the function, then the stage, then the
top-level ``lambda_functions`` entry, then the top level (``Config._chain_lookup``); ``environment_variables``
and ``tags`` are merged top level < stage < the stage's entry for the function (``Config._chain_merge``, which
leaves out the top-level entry). A ``null`` value counts as absent, as in Chalice.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import project_paths
from ..config import FunctionSpec
from ..errors import ProjectError, SettingsError, file_system_error
from .chalice_app import API_HANDLER, ChaliceApp, ChaliceFunction

CONFIG_FILE = ".chalice/config.json"
_TOP, _STAGE, _FUNCTION = "top level", "stage", "lambda_functions"
_ALL = (_TOP, _STAGE, _FUNCTION)
_API = "not supported yet: lambda-tasks deploys the REST API without it"
_POLICY = "not supported: the role deploy creates gets basic execution rights only (use iam_role_arn)"


@dataclass(frozen=True)
class ConfigKey:
    """A config.json key: where Chalice reads it, its JSON type, our setting (None: not supported), what we do."""

    levels: tuple[str, ...]
    kind: str  # text, whole, boolean, texts, variables, table, version, texts_or_text
    setting: str | None
    effect: str


#: Every key Chalice reads from config.json (chalice/config.py, docs/source/topics/configfile.rst) and ours.
CONFIG_KEYS: dict[str, ConfigKey] = {
    "version": ConfigKey((_TOP,), "version", None, "checked: 1.0 or 2.0, as Chalice does"),
    "app_name": ConfigKey((_TOP,), "text", "app_name",
                          "`app_name`: functions are named `<app_name>-<stage>[-<name>]` (else Chalice(app_name=...))"),
    "stages": ConfigKey((_TOP,), "table", None, "the stage chosen by `--stage` / `stage` (default `dev`)"),
    "lambda_functions": ConfigKey((_TOP, _STAGE), "table", "functions",
                                  "per-function configuration, keyed by Chalice's name (`api_handler` for the routes)"),
    "environment_variables": ConfigKey(_ALL, "variables", "environment",
                                       "`environment`, merged: top level < stage < the stage's lambda_functions entry"),
    "tags": ConfigKey(_ALL, "variables", "tags", "`tags`, merged as environment_variables; deploy adds `aws-chalice`"),
    "lambda_memory_size": ConfigKey(_ALL, "whole", "memory", "`memory`"),
    "lambda_timeout": ConfigKey(_ALL, "whole", "timeout", "`timeout`"),
    "lambda_ephemeral_storage": ConfigKey(_ALL, "whole", "ephemeral_storage",
                                          "`ephemeral_storage` (a lambda-tasks extension: Chalice ignores this key)"),
    "manage_iam_role": ConfigKey(_ALL, "boolean", "manage_iam_role", "`manage_iam_role`"),
    "iam_role_arn": ConfigKey(_ALL, "text", "role", "`role`, used only when manage_iam_role is false (as in Chalice)"),
    "layers": ConfigKey(_ALL, "texts", "extra_layers", "`extra_layers` (stage), the function's `layers` (entry)"),
    "subnet_ids": ConfigKey(_ALL, "texts", "subnet_ids", "`subnet_ids` (with security_group_ids, as in Chalice)"),
    "security_group_ids": ConfigKey(_ALL, "texts", "security_group_ids", "`security_group_ids`"),
    "reserved_concurrency": ConfigKey(_ALL, "whole", "reserved_concurrency", "`reserved_concurrency`"),
    "xray": ConfigKey(_ALL, "boolean", "xray", "`xray` (Lambda active tracing; the API's tracing is not deployed)"),
    "autogen_policy": ConfigKey(_ALL, "boolean", None, _POLICY),
    "iam_policy_file": ConfigKey(_ALL, "text", None, _POLICY),
    "log_retention_in_days": ConfigKey(_ALL, "whole", None, "not supported: set the log group's retention yourself"),
    "automatic_layer": ConfigKey((_TOP, _STAGE), "boolean", None,
                                 "not needed: lambda-tasks always puts the dependencies in layers"),
    "api_gateway_stage": ConfigKey((_TOP, _STAGE), "text", "api_gateway_stage", "`api_gateway_stage` (default `api`)"),
    "api_gateway_endpoint_type": ConfigKey((_TOP, _STAGE), "text", "api_gateway_endpoint_type",
                                           "`api_gateway_endpoint_type`: EDGE (default), REGIONAL or PRIVATE"),
    "api_gateway_endpoint_vpce": ConfigKey((_TOP, _STAGE), "texts_or_text", None, _API),
    "api_gateway_policy_file": ConfigKey((_TOP, _STAGE), "text", None, _API),
    "api_gateway_custom_domain": ConfigKey((_TOP, _STAGE), "table", "api_gateway_custom_domain",
                                           "the REST API's custom domain name and its base path mapping"),
    "minimum_compression_size": ConfigKey((_TOP, _STAGE), "whole", "minimum_compression_size",
                                          "`minimum_compression_size` (bytes; none: compression off)"),
    "websocket_api_custom_domain": ConfigKey((_TOP, _STAGE), "table", None, _API),
    "profile": ConfigKey((_TOP,), "text", None, "not used: choose the AWS profile with AWS_PROFILE"),
}
#: config.json key -> our setting, for the values that map one to one
_SIMPLE = {"lambda_memory_size": "memory", "lambda_timeout": "timeout", "lambda_ephemeral_storage": "ephemeral_storage",
           "subnet_ids": "subnet_ids", "security_group_ids": "security_group_ids", "xray": "xray",
           "reserved_concurrency": "reserved_concurrency"}
#: stage-level keys that map one to one (not per function)
_STAGE_ONLY = ("api_gateway_stage", "api_gateway_endpoint_type", "minimum_compression_size")
_SEQUENCES = {"layers", "subnet_ids", "security_group_ids"}
#: the kinds of function whose surroundings deploy makes (deploy/app_wiring.py): the rest is "not deployed here"
WIRED_KINDS = frozenset({"rest_api", "authorizer", "lambda_function", "schedule", "cloudwatch_event", "s3", "sns",
                         "sqs", "kinesis", "dynamodb", "websocket"})


def readme_table() -> str:
    """The table of config.json keys, from CONFIG_KEYS: docs/guides/chalice-projects.md's (docs/_hooks/reference.py
    fills it in)."""
    rows = ["| config.json key | Read from | lambda-tasks |", "|---|---|---|"]
    rows += [f"| `{key}` | {', '.join(k.levels)} | {k.effect} |" for key, k in CONFIG_KEYS.items()]
    return "\n".join(rows)


def read_config(project_dir: Path) -> dict[str, Any] | None:
    """``.chalice/config.json`` as data, its types checked; None when absent."""
    path = project_dir / CONFIG_FILE
    found = project_paths.file(project_dir, CONFIG_FILE, "Chalice's configuration")
    if found is None:
        return None
    try:
        text = found.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise SettingsError(f"{CONFIG_FILE} is not UTF-8 text\n  in {path}") from None
    except OSError as exc:
        raise file_system_error(exc) from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise SettingsError(f"{CONFIG_FILE} is nested too deeply to be read as JSON\n  in {path}") from None
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{CONFIG_FILE} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}\n"
                            f"  in {path}") from None
    _check(data, (), _TOP, path)
    version = data.get("version")
    if version is not None and not (isinstance(version, (str, int, float)) and _version_ok(version)):
        raise SettingsError(f"{CONFIG_FILE}: version {version!r} is not one Chalice knows (1.0 or 2.0)\n  in {path}")
    return dict(data)


def _version_ok(version: str | float) -> bool:
    try:
        return not isinstance(version, bool) and float(version) <= 2.0
    except ValueError:
        return False


def _check(table: Any, where: tuple[str, ...], level: str, path: Path) -> None:
    """The JSON types of every key Chalice reads, at every level (all stages, not only the chosen one)."""
    if not isinstance(table, dict):
        raise _type_error(where, "an object ({...})", table, path)
    for key, value in table.items():
        spec, here = CONFIG_KEYS.get(key), (*where, key)
        if value is None or spec is None:
            continue
        if key == "stages" and level == _TOP:
            _check(value, here, "", path)
            for stage, values in value.items():
                _check(values, (*here, stage), _STAGE, path)
        elif key == "lambda_functions" and level in (_TOP, _STAGE):
            _check(value, here, "", path)
            for name, values in value.items():
                _check(values, (*here, name), _FUNCTION, path)
        elif not _KIND_OK[spec.kind](value):
            raise _type_error(here, _KIND_SHOWN[spec.kind], value, path)


_KIND_OK: dict[str, Callable[[Any], bool]] = {
    "text": lambda v: isinstance(v, str),
    "whole": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "texts": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
    "texts_or_text": lambda v: isinstance(v, str) or (isinstance(v, list) and all(isinstance(i, str) for i in v)),
    "variables": lambda v: isinstance(v, dict) and all(isinstance(i, str) for i in v.values()),
    "table": lambda v: isinstance(v, dict),
    "version": lambda v: True,
}
_KIND_SHOWN = {"text": "a string", "whole": "a whole number", "boolean": "true or false",
               "texts": "a list of strings", "texts_or_text": "a string or a list of strings",
               "variables": "an object of string values", "table": "an object ({...})", "version": ""}


def _type_error(where: tuple[str, ...], expected: str, value: Any, path: Path) -> SettingsError:
    key = ".".join(where) or "the file"
    shown = json.dumps(value)
    shown = shown if len(shown) < 40 else shown[:37] + "..."
    return SettingsError(f"{CONFIG_FILE}: {key} must be {expected}, not {shown}\n  in {path}")


def _levels(config: Mapping[str, Any], stage: str, function: str | None) -> list[tuple[str, Mapping[str, Any]]]:
    """The dictionaries Chalice searches, first match wins: stage entry, stage, top-level entry, top level."""
    stage_table = (config.get("stages") or {}).get(stage) or {}
    found: list[tuple[str, Mapping[str, Any]]] = []
    if function is not None:
        found.append((f"stages.{stage}.lambda_functions.{function}",
                      (stage_table.get("lambda_functions") or {}).get(function) or {}))
    found.append((f"stages.{stage}", stage_table))
    if function is not None:
        found.append((f"lambda_functions.{function}", (config.get("lambda_functions") or {}).get(function) or {}))
    found.append(("", config))
    return found


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _lookup(levels: list[tuple[str, Mapping[str, Any]]], key: str) -> tuple[str, Any] | None:
    return next(((where, table[key]) for where, table in levels if table.get(key) is not None), None)


def _merge(config: Mapping[str, Any], stage: str, function: str | None, key: str) -> dict[str, str]:
    """``Config._chain_merge``: top level, then the stage, then the stage's entry for the function."""
    levels = _levels(config, stage, function)
    order = [levels[-1][1], levels[1 if function else 0][1], *([levels[0][1]] if function else [])]
    merged: dict[str, str] = {}
    for table in order:
        merged.update(table.get(key) or {})
    return merged


def stage_values(config: Mapping[str, Any], stage: str) -> tuple[dict[str, Any], list[str]]:
    """The stage's values as our settings (only those config.json gives) and one note per key we do not use."""
    stages = config.get("stages") or {}
    new_stage: list[str] = []
    if stages and stage not in stages:  # as chalice deploy does: a new stage, with the top-level values
        new_stage.append(f"stage {stage!r} is not in {CONFIG_FILE} (its stages: {', '.join(sorted(stages))}): "
                         "a new stage with the top-level values, as chalice deploy makes it")
    levels = _levels(config, stage, None)
    values: dict[str, Any] = {}
    if isinstance(config.get("app_name"), str):
        values["app_name"] = config["app_name"]
    for key, setting in _SIMPLE.items():
        found = _lookup(levels, key)
        if found is not None:
            values[setting] = tuple(found[1]) if key in _SEQUENCES else found[1]
    for key in _STAGE_ONLY:
        if (found := _lookup(levels[-2:], key)) is not None:
            values[key] = found[1]
    layers = _lookup(levels, "layers")
    if layers is not None:
        values["extra_layers"] = tuple(layers[1])
    for key, setting in (("environment_variables", "environment"), ("tags", "tags")):
        if any(table.get(key) for _, table in levels):
            values[setting] = _merge(config, stage, None, key)
    role, notes = _role(levels, f"stage {stage!r}")
    notes = new_stage + notes
    values.update(role)
    _check_vpc(values.get("subnet_ids"), values.get("security_group_ids"), f"stage {stage!r}")
    for where, table in levels:
        notes += _notes(table, where, _STAGE if where else _TOP)
    return values, notes


def _role(levels: list[tuple[str, Mapping[str, Any]]], who: str) -> tuple[dict[str, Any], list[str]]:
    """Chalice uses iam_role_arn only when manage_iam_role is false (appgraph._create_role_reference)."""
    manage, arn = _lookup(levels, "manage_iam_role"), _lookup(levels, "iam_role_arn")
    if manage is not None and manage[1] is False:
        if arn is None:
            raise SettingsError(f"{CONFIG_FILE}: {_at(manage[0], 'manage_iam_role')} is false but {who} has no "
                                "iam_role_arn\n"
                                "  give the role's ARN in iam_role_arn (Chalice refuses this too)")
        return {"manage_iam_role": False, "role": arn[1]}, []
    notes = []
    if arn is not None:
        notes.append(f"{CONFIG_FILE}: {_at(arn[0], 'iam_role_arn')} is not used because manage_iam_role is not false "
                     "(as in Chalice); set \"manage_iam_role\": false to use it")
    return ({"manage_iam_role": True} if manage is not None else {}), notes


def _check_vpc(subnets: Any, groups: Any, who: str) -> None:
    if bool(subnets) != bool(groups):
        raise SettingsError(f"{CONFIG_FILE}: {who} has {'subnet_ids' if subnets else 'security_group_ids'} "
                            f"without {'security_group_ids' if subnets else 'subnet_ids'}\n"
                            "  a function in a VPC needs both (Chalice refuses this too)")


def _notes(table: Mapping[str, Any], where: str, level: str) -> list[str]:
    """One line per key at ``where`` that lambda-tasks does not use, or that Chalice does not read there."""
    notes = []
    for key, value in table.items():
        spec = CONFIG_KEYS.get(key)
        if value is None or key in ("stages", "lambda_functions", "version"):
            continue
        if spec is None:
            near = difflib.get_close_matches(key, CONFIG_KEYS, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            notes.append(f"{CONFIG_FILE}: {_at(where, key)} is not a Chalice key: ignored, as Chalice does{hint}")
        elif level not in spec.levels:
            notes.append(f"{CONFIG_FILE}: {_at(where, key)}: Chalice reads {key} only at the "
                         f"{' or '.join(spec.levels)}: ignored, as Chalice does")
        elif spec.setting is None:
            notes.append(f"{CONFIG_FILE}: {_at(where, key)}: {spec.effect}")
    return notes


def function_specs(app: ChaliceApp, config: Mapping[str, Any] | None, stage: str, *,
                   app_name: str | None = None) -> tuple[FunctionSpec, ...]:
    """The app's functions as Chalice names and configures them for ``stage``.

    ``app_name`` (our setting, when the user gave one) wins over config.json's, which wins over app.py's. A
    field is set only where a ``lambda_functions`` entry for that function decides it; None elsewhere, so the
    stage-level settings (from :func:`stage_values`, or the user's own) apply.
    """
    config = config or {}
    name = app_name or config.get("app_name") or app.app_name
    if not name:
        raise ProjectError("the Chalice app has no app_name: neither .chalice/config.json nor Chalice(app_name=...) "
                           "gives one as a string\n  set \"app_name\" in .chalice/config.json or the app_name setting")
    specs = []
    for index, function in enumerate(app.functions):
        deployed = f"{name}-{stage}" if function.kind == "rest_api" else f"{name}-{stage}-{function.short_name}"
        around = [] if function.kind in WIRED_KINDS else list(function.not_deployed)
        extra = around + _config_not_deployed(app, config, stage, function, index)
        specs.append(FunctionSpec(deployed, function.handler, short_name=function.short_name,
                                  not_deployed=tuple(extra), **_overrides(config, stage, function.short_name)))
    return tuple(specs)


def _overrides(config: Mapping[str, Any], stage: str, short_name: str) -> dict[str, Any]:
    levels = _levels(config, stage, short_name)
    entries = (levels[0][0], levels[2][0])
    values: dict[str, Any] = {}
    for key, field in (*_SIMPLE.items(), ("layers", "layers")):
        found = _lookup(levels, key)
        if found is not None and found[0] in entries:
            values[field] = tuple(found[1]) if key in _SEQUENCES else found[1]
    for key, field in (("environment_variables", "environment"), ("tags", "tags")):
        if levels[0][1].get(key) is not None:  # only the stage's entry is merged (Config._chain_merge)
            values[field] = _merge(config, stage, short_name, key)
    decided = [_lookup(levels, k) for k in ("manage_iam_role", "iam_role_arn")]
    if any(found is not None and found[0] in entries for found in decided):
        role, _ = _role(levels, f"function {short_name!r}")
        if role.get("role"):
            values["role"] = role["role"]
    if "subnet_ids" in values or "security_group_ids" in values:
        subnets, groups = _lookup(levels, "subnet_ids"), _lookup(levels, "security_group_ids")
        _check_vpc(subnets and subnets[1], groups and groups[1], f"function {short_name!r}")
    return values


def _config_not_deployed(app: ChaliceApp, config: Mapping[str, Any], stage: str, function: ChaliceFunction,
                         index: int) -> list[str]:
    """What config.json adds around a function that deploy does not create."""
    levels = _levels(config, stage, None)
    lines: list[str] = []
    first_socket = next((i for i, f in enumerate(app.functions) if f.kind == "websocket"), None)
    if index == first_socket:
        lines += app.not_deployed
        domain = _lookup(levels, "websocket_api_custom_domain")
        if domain is not None:
            lines.append(f"custom domain {domain[1].get('domain_name', '<no domain_name>')} for the websocket API")
    elif index == 0 and first_socket is None:
        lines += app.not_deployed
    retention = _lookup(_levels(config, stage, function.short_name), "log_retention_in_days")
    if retention is not None:
        lines.append(f"log group retention of {retention[1]} days")
    return lines


def function_notes(app: ChaliceApp, config: Mapping[str, Any] | None, stage: str) -> list[str]:
    """Notes on ``lambda_functions`` entries: unknown names, keys Chalice ignores there, what we cannot mirror."""
    config = config or {}
    return [*_entry_notes(app, config, stage), *_override_notes(app, config, stage)]


def _entry_notes(app: ChaliceApp, config: Mapping[str, Any], stage: str) -> list[str]:
    """Per entry: a name that is no function of the app, keys Chalice ignores at the top level."""
    notes: list[str] = []
    known = {f.short_name for f in app.functions} | {API_HANDLER}
    for where, table in (("lambda_functions", config.get("lambda_functions") or {}),
                         (f"stages.{stage}.lambda_functions",
                          ((config.get("stages") or {}).get(stage) or {}).get("lambda_functions") or {})):
        for name, entry in table.items():
            if name not in known:
                near = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                notes.append(f"{CONFIG_FILE}: {where}.{name} names no function of the app: ignored{hint}")
                continue
            notes += _notes(entry or {}, f"{where}.{name}", _FUNCTION)
            for key in ("environment_variables", "tags"):
                if where == "lambda_functions" and (entry or {}).get(key):
                    notes.append(f"{CONFIG_FILE}: {where}.{name}.{key} is ignored, as Chalice ignores it there; "
                                 f"put it under stages.<stage>.lambda_functions.{name}")
    return notes


def _override_notes(app: ChaliceApp, config: Mapping[str, Any], stage: str) -> list[str]:
    """Per function: layers, role and manage_iam_role set for it where we do not do what Chalice does."""
    notes: list[str] = []
    stage_levels = _levels(config, stage, None)
    for function in app.functions:
        levels = _levels(config, stage, function.short_name)
        layers = _lookup(levels, "layers")
        if layers is not None and "lambda_functions" in layers[0] and _lookup(stage_levels, "layers"):
            notes.append(f"function {function.short_name!r}: its layers are added to the stage's (Chalice would "
                         "use only the function's)")
        arn = _lookup(levels, "iam_role_arn")
        if arn is not None and "lambda_functions" in arn[0]:
            notes += _role(levels, f"function {function.short_name!r}")[1]
        manage = _lookup(levels, "manage_iam_role")
        stage_manage = _lookup(stage_levels, "manage_iam_role")
        if manage is not None and manage[1] and stage_manage is not None and not stage_manage[1]:
            notes.append(f"function {function.short_name!r}: manage_iam_role true for one function is not supported: "
                         "it gets the stage's iam_role_arn")
    return notes
