"""The stage's ``api_gateway_custom_domain`` in .chalice/config.json, checked as Chalice checks it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..app_model import CustomDomain
from ..errors import SettingsError
from .chalice_config import CONFIG_FILE, _at, _levels, _lookup


def custom_domain(config: Mapping[str, Any] | None, stage: str) -> CustomDomain | None:
    """The stage's ``api_gateway_custom_domain`` (domain_name and certificate_arn required, as in Chalice)."""
    found = _lookup(_levels(config or {}, stage, None), "api_gateway_custom_domain")
    if found is None:
        return None
    where, table = _at(found[0], "api_gateway_custom_domain"), found[1]
    for key in ("domain_name", "certificate_arn"):
        if not isinstance(table.get(key), str) or not table[key]:
            raise SettingsError(f"{CONFIG_FILE}: {where} needs {key} (a string)\n  as Chalice does: "
                                '{"domain_name": "api.example.com", "certificate_arn": "arn:aws:acm:..."}')
    tags = table.get("tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise SettingsError(f"{CONFIG_FILE}: {where}.tags must be an object of string values")
    prefix, tls = table.get("url_prefix") or "", table.get("tls_version") or "TLS_1_2"
    if not isinstance(prefix, str) or tls not in ("TLS_1_0", "TLS_1_2"):
        raise SettingsError(f"{CONFIG_FILE}: {where}: url_prefix must be a string, tls_version TLS_1_0 or TLS_1_2")
    return CustomDomain(table["domain_name"], table["certificate_arn"], prefix.strip("/"), tls,
                        tuple(sorted(tags.items())))
