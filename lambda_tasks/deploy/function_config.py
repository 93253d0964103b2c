"""A function's whole configuration, from the settings and its FunctionSpec, and how it differs from the deployed
one (pure: values in, values out; boto3 lives in deploy.py). Zip and image functions share all of it but the
code: an image function has no runtime, handler or layers (the image has them) and may override its command.

What the settings say is what the function gets, as Chalice does it: an unset VPC is no VPC (empty lists, which
is how Lambda is told to leave one), X-Ray off is ``PassThrough``, no ``ephemeral_storage`` is Lambda's 512 MB,
no ``reserved_concurrency`` removes a reservation, and the function's tags become exactly ``tags`` (those under
``aws:``, which AWS sets and nobody may remove, are kept). The role is the one exception: see deploy.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import limits
from ..config import FunctionSpec
from ..errors import LimitError
from ..sections import DeploySettings, FunctionSettings

#: The fields of UpdateFunctionConfiguration we own; anything else on the function is left alone.
CONFIG_FIELDS = ("Role", "Runtime", "Handler", "MemorySize", "Timeout", "Environment", "Layers", "VpcConfig",
                 "TracingConfig", "EphemeralStorage", "ImageConfig")
#: Lambda's /tmp size when none is asked for.
DEFAULT_EPHEMERAL_MB = 512
#: Tag keys AWS itself sets (CloudFormation, Service Catalog ...): users can neither set nor remove them.
AWS_TAG_PREFIX = "aws:"


def pick(spec: FunctionSpec, settings: FunctionSettings, key: str) -> Any:
    """The function's own value of ``key``, else the setting's (``None`` on a FunctionSpec means "the setting")."""
    own = getattr(spec, key)
    return own if own is not None else getattr(settings, key)


def explicit_role(settings: FunctionSettings, spec: FunctionSpec) -> str | None:
    """The role the user named for this function, if any (``functions[].role``, else ``role``)."""
    return spec.role or settings.role or None


def managed_role_name(settings: DeploySettings) -> str:
    """The role deploy creates when none is named: one per app and stage, as Chalice names it."""
    return f"{settings.app_name}-{settings.stage}"


def layer_list(extra_layers: Sequence[str], built: Sequence[str], spec: FunctionSpec | None = None) -> list[str]:
    """The built layers in order, then the function's own ``layers``, then ``extra_layers``; at most five."""
    own = list(spec.layers or ()) if spec is not None else []
    layers = [*built, *own, *extra_layers]
    if len(layers) > limits.MAX_LAYERS:
        mine = f" + {len(own)} of function {spec.name}'s layers" if spec is not None and own else ""
        raise LimitError(
            f"the function would get {len(layers)} layers ({len(built)} built{mine} + {len(extra_layers)} "
            f"extra_layers); Lambda allows {limits.MAX_LAYERS}: lower max_layers, layers or extra_layers"
        )
    return layers


def vpc_config(settings: FunctionSettings, spec: FunctionSpec) -> dict[str, list[str]]:
    """Both lists, or two empty ones (which takes an existing VPC configuration off, as Chalice does)."""
    subnets, groups = pick(spec, settings, "subnet_ids"), pick(spec, settings, "security_group_ids")
    if subnets and groups:
        return {"SubnetIds": list(subnets), "SecurityGroupIds": list(groups)}
    return {"SubnetIds": [], "SecurityGroupIds": []}


def desired_config(settings: FunctionSettings, spec: FunctionSpec, layers: Sequence[str],
                   role: str | None = None) -> dict[str, Any]:
    """The configuration a zip function should have: the runtime, the handler and the layers, then
    :func:`common_config`."""
    return {"Runtime": settings.runtime, "Handler": pick(spec, settings, "handler"),
            **common_config(settings, spec, role), "Layers": list(layers)}


#: The ImageConfig fields lambda-tasks sets, in Lambda's order.
IMAGE_OVERRIDES = ("EntryPoint", "Command", "WorkingDirectory")


def desired_image_config(settings: FunctionSettings, spec: FunctionSpec, cmd: Sequence[str],
                         role: str | None = None) -> dict[str, Any]:
    """The configuration an image function should have: :func:`common_config`, and ``ImageConfig`` with only
    the overrides: ``Command`` when the handler is not the image's Cmd, ``EntryPoint`` and ``WorkingDirectory``
    when set (``{}``, no override, otherwise: an override removed goes back to the image's own). No runtime,
    handler or layers: the image has them."""
    handler = pick(spec, settings, "handler")
    overrides: dict[str, Any] = {"Command": [handler]} if [handler] != list(cmd) else {}
    if settings.image_entry_point:
        overrides["EntryPoint"] = list(settings.image_entry_point)
    if settings.image_working_directory:
        overrides["WorkingDirectory"] = settings.image_working_directory
    return {**common_config(settings, spec, role), "ImageConfig": overrides}


def common_config(settings: FunctionSettings, spec: FunctionSpec, role: str | None = None) -> dict[str, Any]:
    """What zip and image functions both take. ``Role`` is there only when one is known: the function's own or
    ``role``, else ``role`` given here (the managed one); without it an existing function keeps its role."""
    environment = pick(spec, settings, "environment")
    storage = pick(spec, settings, "ephemeral_storage")
    config: dict[str, Any] = {
        "MemorySize": pick(spec, settings, "memory"),
        "Timeout": pick(spec, settings, "timeout"),
        "Environment": {"Variables": dict(environment)},
        "VpcConfig": vpc_config(settings, spec),
        "TracingConfig": {"Mode": "Active" if pick(spec, settings, "xray") else "PassThrough"},
        "EphemeralStorage": {"Size": storage if storage is not None else DEFAULT_EPHEMERAL_MB},
    }
    chosen = explicit_role(settings, spec) or role
    if chosen:
        config["Role"] = chosen
    return config


def desired_tags(settings: FunctionSettings, spec: FunctionSpec) -> dict[str, str]:
    return dict(pick(spec, settings, "tags"))


def desired_concurrency(settings: FunctionSettings, spec: FunctionSpec) -> int | None:
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
    if key == "ImageConfig":  # the overrides only (an empty one is none: the image's own)
        deployed = (current.get("ImageConfigResponse") or {}).get("ImageConfig") or {}
        return {name: list(value) if isinstance(value, list) else value
                for name in IMAGE_OVERRIDES if (value := deployed.get(name))}
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
    """A zip function: other code (by CodeSha256), or another architecture."""
    return current.get("CodeSha256") != code_sha256 or arch_changed(current, arch)


def image_changed(current: Mapping[str, Any], image_uri: str, arch: str) -> bool:
    """An image function: another image (``Code.ImageUri``, repository@digest: Lambda's CodeSha256 for an image is
    its own), or another architecture."""
    return (current.get("Code") or {}).get("ImageUri") != image_uri or arch_changed(current, arch)


def arch_changed(current: Mapping[str, Any], arch: str) -> bool:
    return list(current.get("Architectures") or ["x86_64"]) != [arch]


def package_type_problem(current: Mapping[str, Any], package_type: str) -> str | None:
    """Lambda cannot turn a zip function into an image function or back: what to say when asked to (after the
    function's name and region)."""
    deployed = current.get("PackageType") or "Zip"
    if deployed == package_type:
        return None
    now, wanted, keep = ("an image", "zip", "image") if deployed == "Image" else ("a zip", "image", "zip")
    return (f"is {now} function; Lambda cannot change a function's package type\n  deploy the {wanted} under a "
            f"new function name, delete the function first, or deploy it as before (package_type = \"{keep}\")")
