"""A Chalice app's websocket API in one region (API Gateway v2), as ``chalice deploy`` makes it: an API named
``<app>-<stage>-websocket-api`` (route selection ``$request.body.action``), a Lambda proxy integration and a route
for each of ``$connect``, ``$default`` (the message handler) and ``$disconnect``, the stage ``api_gateway_stage``
and API Gateway's permission to invoke each function.

Routes and integrations are read and compared; when they differ they are replaced (as Chalice does). The stage
deploys by itself (``AutoDeploy``), so a changed route is live without a deployment call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..aws import clients as aws
from . import permissions
from .rest_api import APIGATEWAY, dns_suffix
from .rest_api_doc import invocation_uri

#: the route a websocket handler serves -> Chalice's name for its function
ROUTES = {"$connect": "websocket_connect", "$default": "websocket_message", "$disconnect": "websocket_disconnect"}


@dataclass
class WebsocketStep:
    region: str
    action: Literal["create", "update", "none"] = "none"
    api_id: str = ""
    url: str = ""
    entries: list[dict[str, Any]] = field(default_factory=list)

    def describe(self, planned: bool) -> str:
        label = f"websocket API [{self.region}]"
        if self.action == "none":
            return f"{label}: up to date, {self.url}"
        verb = {"create": ("would create", "created"), "update": ("would update", "updated")}[self.action]
        return f"{label}: {verb[0] if planned else verb[1]}" + (f", {self.url}" if self.url else "")


class WebsocketDeployer:
    def __init__(self, clients: aws.Clients, call: Callable[..., Any], plan: bool) -> None:
        self.clients, self.call, self.plan = clients, call, plan

    def deploy(self, region: str, name: str, arns: Mapping[str, str], stage: str, known_id: str | None
               ) -> WebsocketStep:
        """``arns``: route key -> the function serving it."""
        client = self.clients.client("apigatewayv2", region)
        step = WebsocketStep(region)
        step.api_id = self._find(client, name, known_id)
        if not step.api_id:
            step.action = "create"
            if self.plan:
                return step
            step.api_id = self.call(client.create_api, f"create the websocket API {name}", Name=name,
                                    ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")["ApiId"]
        wanted = {key: invocation_uri(arn, region) for key, arn in arns.items()}
        if self._routes(client, step.api_id) != wanted:
            step.action = step.action if step.action == "create" else "update"
            if not self.plan:
                self._replace_routes(client, step.api_id, wanted)
        found = self.call(client.get_stage, f"read stage {stage} of {name}", missing_ok=True, ApiId=step.api_id,
                          StageName=stage)
        if found is None or not found.get("AutoDeploy"):
            step.action = step.action if step.action != "none" else "update"
            if not self.plan and found is None:
                self.call(client.create_stage, f"create stage {stage} of {name}", ApiId=step.api_id,
                          StageName=stage, AutoDeploy=True)
            elif not self.plan:
                self.call(client.update_stage, f"update stage {stage} of {name}", ApiId=step.api_id,
                          StageName=stage, AutoDeploy=True)
        step.url = f"wss://{step.api_id}.execute-api.{region}.{dns_suffix(region)}/{stage}"
        for arn in dict.fromkeys(arns.values()):
            source = f"arn:{permissions.partition_of(arn)}:execute-api:{region}:{permissions.account_of(arn)}:" \
                     f"{step.api_id}/*"
            sid = permissions.ensure(self.clients.lambda_(region), self.call, arn, APIGATEWAY, source, plan=self.plan)
            if sid is not None and step.action == "none":
                step.action = "update"
            step.entries.append({"kind": "permission", "function": arn,
                                 "sid": permissions.statement_id(APIGATEWAY, source)})
        return step

    def _find(self, client: Any, name: str, known_id: str | None) -> str:
        if known_id and self.call(client.get_api, f"read the websocket API {known_id}", missing_ok=True,
                                  ApiId=known_id) is not None:
            return known_id
        token: str | None = None
        while True:
            page = self.call(client.get_apis, "list the API Gateway v2 APIs", **({"NextToken": token} if token else {}))
            for item in page.get("Items", []):
                if item.get("Name") == name and item.get("ProtocolType") == "WEBSOCKET":
                    return str(item["ApiId"])
            token = page.get("NextToken")
            if not token:
                return ""

    def _routes(self, client: Any, api_id: str) -> dict[str, str]:
        """Route key -> the URI its integration invokes."""
        integrations = {i["IntegrationId"]: i.get("IntegrationUri", "") for i in self.call(
            client.get_integrations, f"read the integrations of {api_id}", ApiId=api_id).get("Items", [])}
        routes = self.call(client.get_routes, f"read the routes of {api_id}", ApiId=api_id).get("Items", [])
        return {r["RouteKey"]: integrations.get(str(r.get("Target", "")).removeprefix("integrations/"), "")
                for r in routes}

    def _replace_routes(self, client: Any, api_id: str, wanted: Mapping[str, str]) -> None:
        for route in self.call(client.get_routes, f"read the routes of {api_id}", ApiId=api_id).get("Items", []):
            self.call(client.delete_route, f"delete route {route['RouteKey']}", ApiId=api_id, RouteId=route["RouteId"])
        for integration in self.call(client.get_integrations, f"read the integrations of {api_id}",
                                     ApiId=api_id).get("Items", []):
            self.call(client.delete_integration, "delete an integration", ApiId=api_id,
                      IntegrationId=integration["IntegrationId"])
        for key, uri in wanted.items():
            integration = self.call(client.create_integration, f"integrate route {key}", ApiId=api_id,
                                    ConnectionType="INTERNET", ContentHandlingStrategy="CONVERT_TO_TEXT",
                                    IntegrationType="AWS_PROXY", IntegrationUri=uri)["IntegrationId"]
            self.call(client.create_route, f"create route {key}", ApiId=api_id, RouteKey=key,
                      RouteResponseSelectionExpression="$default", Target=f"integrations/{integration}")

    def delete(self, region: str, api_id: str) -> None:
        self.call(self.clients.client("apigatewayv2", region).delete_api, f"delete the websocket API {api_id}",
                  missing_ok=True, ApiId=api_id)
