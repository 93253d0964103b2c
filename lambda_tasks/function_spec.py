"""One Lambda function made from the app zip and the layers (the ``functions`` setting): its own configuration,
each value unset meaning "the setting of the same name"."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import SettingsError

#: The configuration a function takes, each either set per function (``FunctionSpec``) or for all (the setting of
#: the same name). ``None`` on a FunctionSpec means "the setting's value".
PER_FUNCTION = ("handler", "memory", "timeout", "environment", "role", "tags", "layers", "subnet_ids",
                "security_group_ids", "reserved_concurrency", "xray", "ephemeral_storage")


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function made from the app zip and the layers.

    ``short_name`` is how a user may pick it (``verify --function``), for Chalice the name given in app.py;
    ``not_deployed`` lists what belongs to it in its framework that deploy does not create (an API Gateway,
    an event source), one line each.
    """

    name: str
    handler: str | None = None  # None: the ``handler`` setting
    memory: int | None = None
    timeout: int | None = None
    environment: Mapping[str, str] | None = None
    role: str | None = None
    tags: Mapping[str, str] | None = None
    layers: tuple[str, ...] | None = None  # layer ARNs added after the built ones, before ``extra_layers``
    subnet_ids: tuple[str, ...] | None = None
    security_group_ids: tuple[str, ...] | None = None
    reserved_concurrency: int | None = None
    xray: bool | None = None
    ephemeral_storage: int | None = None  # MB of /tmp
    function_url: bool | None = None  # None: the ``function_url`` setting
    regions: tuple[str, ...] | None = None  # None: the ``regions`` setting
    short_name: str | None = None
    not_deployed: tuple[str, ...] = ()


def function_specs(value: Any, where: str) -> tuple[FunctionSpec, ...]:
    if not isinstance(value, (list, tuple)):
        raise SettingsError(f"{where} must be a list of tables, not {value!r}")
    if all(isinstance(item, FunctionSpec) for item in value):
        return tuple(value)
    known = {f.name for f in dataclasses.fields(FunctionSpec)} - {"not_deployed"}
    specs = []
    for item in value:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise SettingsError(f"{where}: each function needs at least name = \"...\" (got {item!r})")
        unknown = sorted(set(item) - known)
        if unknown:
            raise SettingsError(f"{where}: unknown function key {unknown[0]!r}; known: {', '.join(sorted(known))}")
        values: dict[str, Any] = {
            k: dict(v) if isinstance(v, Mapping) else tuple(v) if isinstance(v, list) else v for k, v in item.items()
        }
        specs.append(FunctionSpec(**values))
    return tuple(specs)
