"""The functions verify runs: each one's handler and what Lambda gives it (name, memory, timeout, /tmp size,
its configured environment), from the settings' functions (or Chalice's) or the one ``--function``/``--handler``
names."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from ..config import FunctionSpec
from ..errors import VerifyError
from ..sections import FunctionSettings


@dataclass(frozen=True)
class Call:
    """One function as verify runs it: its handler and what Lambda would give it."""

    handler: str
    function_name: str
    memory: int
    timeout: int
    environment: Mapping[str, str]
    ephemeral_mb: int = 512
    short_name: str = ""


def calls_of(settings: FunctionSettings, function: str | None = None, handler: str | None = None) -> list[Call]:
    """The functions to verify: the one ``function`` names (its deployed name or short name), or the one
    ``handler`` names, else every function (the first is the one an event is given to); functions with the
    same handler and environment once."""
    specs = settings.function_specs()
    if handler is not None:
        spec = next((s for s in specs if (s.handler or settings.handler) == handler), FunctionSpec("verify"))
        return [_call(settings, dataclasses.replace(spec, handler=handler))]
    if function is not None:
        chosen = [spec for spec in specs if function in (spec.name, spec.short_name)]
        if not chosen:
            known = ", ".join(spec.short_name or spec.name for spec in specs) or "none (set functions)"
            raise VerifyError(f"no function named {function!r}\n  the functions: {known}")
        return [_call(settings, chosen[0])]
    if not specs:
        return [_call(settings, FunctionSpec(settings.function_name or "verify"))]
    calls: dict[object, Call] = {}
    for spec in specs:
        call = _call(settings, spec)
        calls.setdefault((call.handler, tuple(sorted(call.environment.items()))), call)
    return list(calls.values())


def every_call(settings: FunctionSettings) -> list[Call]:
    """Every function, each with its own environment (``verify --all``)."""
    specs = settings.function_specs() or (FunctionSpec(settings.function_name or "verify"),)
    return [_call(settings, spec) for spec in specs]


def _call(settings: FunctionSettings, spec: FunctionSpec) -> Call:
    storage = spec.ephemeral_storage or settings.ephemeral_storage or 512
    return Call(spec.handler or settings.handler, spec.name,
                spec.memory if spec.memory is not None else settings.memory,
                spec.timeout if spec.timeout is not None else settings.timeout,
                dict(spec.environment if spec.environment is not None else settings.environment),
                storage, spec.short_name or "")
