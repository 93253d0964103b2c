"""A function's URL (``function_url``): an HTTPS endpoint of the function itself, for any web app behind an
adapter (Mangum for ASGI, apig-wsgi or awsgi for WSGI). Created or updated where it differs; with auth type
``NONE`` the function's policy lets anyone invoke it through the URL (``lambda:InvokeFunctionUrl``, as the
console and SAM add it). Removed again when the setting goes (``remove``) or the function is deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..app_model import FunctionUrl
from ..aws import clients as aws
from . import permissions

PUBLIC = "*"
ACTION = "lambda:InvokeFunctionUrl"
PUBLIC_CHANGE = "let anyone invoke it through the URL"  # the permission for anyone, added


@dataclass
class UrlStep:
    region: str
    function: str  # the function's name
    url: str = ""
    changed: list[str] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)

    def describe(self, planned: bool) -> str:
        head = f"function URL {self.function} [{self.region}]"
        shown = f", {self.url}" if self.url else ""
        if not self.changed:
            return f"{head}: up to date{shown}"
        done = self.changed if planned else [_DONE.get(change, change) for change in self.changed]
        return f"{head}: {'would ' if planned else ''}{', '.join(done)}{shown}"


#: What a step did, said as done (the plan says "would create, let anyone ...").
_DONE = {"create": "created", "update": "updated", PUBLIC_CHANGE: "anyone may invoke it through the URL"}


def _same(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    def cors(config: dict[str, Any]) -> dict[str, Any]:
        return {k: sorted(v) if isinstance(v, list) else v for k, v in (config.get("Cors") or {}).items() if v}

    return (current.get("AuthType") == wanted["AuthType"]
            and (current.get("InvokeMode") or "BUFFERED").upper() == wanted["InvokeMode"]
            and cors(current) == cors(wanted))


class UrlDeployer:
    def __init__(self, clients: aws.Clients, call: Callable[..., Any], plan: bool) -> None:
        self.clients, self.call, self.plan = clients, call, plan

    def deploy(self, region: str, arn: str, url: FunctionUrl) -> UrlStep:
        client = self.clients.lambda_(region)
        name = arn.rsplit(":", 1)[-1]
        step = UrlStep(region, name)
        wanted = url.config()
        current = self.call(client.get_function_url_config, f"read the function URL of {name}", missing_ok=True,
                            FunctionName=arn)
        if current is None:
            step.changed.append("create")
            if not self.plan:
                current = self.call(client.create_function_url_config, f"create the function URL of {name}",
                                    FunctionName=arn, **wanted)
        elif not _same(current, wanted):
            step.changed.append("update")
            if not self.plan:
                current = self.call(client.update_function_url_config, f"update the function URL of {name}",
                                    FunctionName=arn, **{**wanted, "Cors": wanted.get("Cors") or {}})
        step.url = str((current or {}).get("FunctionUrl") or "")
        step.entries.append({"kind": "url", "function": arn})
        if url.auth == "NONE":
            sid = permissions.ensure(client, self.call, arn, PUBLIC, f"url:{arn}", plan=self.plan, action=ACTION,
                                     url_auth_type="NONE")
            if sid is not None:
                step.changed.append(PUBLIC_CHANGE)
            step.entries.append({"kind": "permission", "function": arn,
                                 "sid": permissions.statement_id(PUBLIC, f"url:{arn}")})
        return step

    def remove(self, region: str, entry: dict[str, Any]) -> None:
        self.call(self.clients.lambda_(region).delete_function_url_config,
                  f"delete the function URL of {entry['function']}", missing_ok=True, FunctionName=entry["function"])
