"""A function's whole configuration, from the settings and its FunctionSpec, and how it differs from the deployed
one (pure: values in, values out; boto3 lives in deploy.py).

What the settings say is what the function gets, as Chalice does it: an unset VPC is no VPC (empty lists, which
is how Lambda is told to leave one), X-Ray off is ``PassThrough``, no ``ephemeral_storage`` is Lambda's 512 MB,
no ``reserved_concurrency`` removes a reservation, and the function's tags become exactly ``tags`` (those under
``aws:``, which AWS sets and nobody may remove, are kept). The role is the one exception: see deploy.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import limits
from ..config import FunctionSpec, Settings
from ..errors import LimitError

#: The fields of UpdateFunctionConfiguration we own; anything else on the function is left alone.
CONFIG_FIELDS = ("Role", "Runtime", "Handler", "MemorySize", "Timeout", "Environment", "Layers", "VpcConfig",
                 "TracingConfig", "EphemeralStorage")
#: Lambda's /tmp size when none is asked for.
DEFAULT_EPHEMERAL_MB = 512
#: Tag keys AWS itself sets (CloudFormation, Service Catalog ...): users can neither set nor remove them.
AWS_TAG_PREFIX = "aws:"


def pick(spec: FunctionSpec, settings: Settings, key: str) -> Any:
    """The function's own value of ``key``, else the setting's (``None`` on a FunctionSpec means "the setting")."""
    own = getattr(spec, key)
    return own if own is not None else getattr(settings, key)


def explicit_role(settings: Settings, spec: FunctionSpec) -> str | None:
    """The role the user named for this function, if any (``functions[].role``, else ``role``)."""
    return spec.role or settings.role or None


def managed_role_name(settings: Settings) -> str:
    """The role deploy creates when none is named: one per app and stage, as Chalice names it."""
    return f"{settings.app_name}-{settings.stage}"


def layer_list(settings: Settings, built: Sequence[str], spec: FunctionSpec | None = None) -> list[str]:
    """The built layers in order, then the function's own ``layers``, then ``extra_layers``; at most five."""
    own = list(spec.layers or ()) if spec is not None else []
    layers = [*built, *own, *settings.extra_layers]
    if len(layers) > limits.MAX_LAYERS:
        mine = f" + {len(own)} of function {spec.name}'s layers" if spec is not None and own else ""
        raise LimitError(
            f"the function would get {len(layers)} layers ({len(built)} built{mine} + {len(settings.extra_layers)} "
            f"extra_layers); Lambda allows {limits.MAX_LAYERS}: lower max_layers, layers or extra_layers"
        )
    return layers


def vpc_config(settings: Settings, spec: FunctionSpec) -> dict[str, list[str]]:
    """Both lists, or two empty ones (which takes an existing VPC configuration off, as Chalice does)."""
    subnets, groups = pick(spec, settings, "subnet_ids"), pick(spec, settings, "security_group_ids")
    if subnets and groups:
        return {"SubnetIds": list(subnets), "SecurityGroupIds": list(groups)}
    return {"SubnetIds": [], "SecurityGroupIds": []}


def desired_config(settings: Settings, spec: FunctionSpec, layers: Sequence[str],
                   role: str | None = None) -> dict[str, Any]:
    """The configuration the function should have. ``Role`` is there only when one is known: the function's own
    or ``role``, else ``role`` given here (the managed one); without it an existing function keeps its role."""
    environment = pick(spec, settings, "environment")
    storage = pick(spec, settings, "ephemeral_storage")
    config: dict[str, Any] = {
        "Runtime": settings.runtime,
        "Handler": pick(spec, settings, "handler"),
        "MemorySize": pick(spec, settings, "memory"),
        "Timeout": pick(spec, settings, "timeout"),
        "Environment": {"Variables": dict(environment)},
        "Layers": list(layers),
        "VpcConfig": vpc_config(settings, spec),
        "TracingConfig": {"Mode": "Active" if pick(spec, settings, "xray") else "PassThrough"},
        "EphemeralStorage": {"Size": storage if storage is not None else DEFAULT_EPHEMERAL_MB},
    }
    chosen = explicit_role(settings, spec) or role
    if chosen:
        config["Role"] = chosen
    return config


def desired_tags(settings: Settings, spec: FunctionSpec) -> dict[str, str]:
    return dict(pick(spec, settings, "tags"))


def desired_concurrency(settings: Settings, spec: FunctionSpec) -> int | None:
    value = pick(spec, settings, "reserved_concurrency")
    return int(value) if value is not None else None


def _current_value(current: Mapping[str, Any], key: str) -> Any:
    """The deployed value of ``key`` in the shape we ask for it (what Lambda omits is its default)."""
    if key == "Layers":
        return [layer["Arn"] for layer in current.get("Layers") or []]
    if key == "Environment":
        return {"Variables": dict((current.get("Environment") or {}).get("Variables") or {})}
    if key == "VpcConfig":
        vpc = current.get("VpcConfig") or {}
        return {"SubnetIds": sorted(vpc.get("SubnetIds") or []), "SecurityGroupIds": sorted(vpc.get("SecurityGroupIds")
                                                                                             or [])}
    if key == "TracingConfig":
        return {"Mode": (current.get("TracingConfig") or {}).get("Mode") or "PassThrough"}
    if key == "EphemeralStorage":
        return {"Size": (current.get("EphemeralStorage") or {}).get("Size") or DEFAULT_EPHEMERAL_MB}
    return current.get(key)


def _desired_value(desired: Mapping[str, Any], key: str) -> Any:
    if key == "VpcConfig":  # Lambda keeps neither order: compare as sets
        vpc = desired[key]
        return {"SubnetIds": sorted(vpc["SubnetIds"]), "SecurityGroupIds": sorted(vpc["SecurityGroupIds"])}
    return desired[key]


def config_changes(current: Mapping[str, Any], desired: Mapping[str, Any]) -> list[str]:
    """The configuration fields whose deployed value differs from the desired one."""
    return [key for key in CONFIG_FIELDS
            if key in desired and _current_value(current, key) != _desired_value(desired, key)]


def tag_changes(current: Mapping[str, str], desired: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """(tags to set, keys to remove) so the function's tags become ``desired``; ``aws:`` tags are kept."""
    add = {key: value for key, value in desired.items() if current.get(key) != value}
    remove = sorted(key for key in current if key not in desired and not key.lower().startswith(AWS_TAG_PREFIX))
    return add, remove


def concurrency_change(current: int | None, desired: int | None) -> str:
    """``put``, ``delete`` or '' (nothing to do)."""
    if current == desired:
        return ""
    return "delete" if desired is None else "put"


def code_changed(current: Mapping[str, Any], code_sha256: str, arch: str) -> bool:
    return current.get("CodeSha256") != code_sha256 or list(current.get("Architectures") or ["x86_64"]) != [arch]
