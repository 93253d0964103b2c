"""The REST API in one region, as ``chalice deploy`` makes it: imported from the OpenAPI document
(rest_api_doc.py), deployed to the stage, with the permission for API Gateway to invoke the function (and each
Chalice authorizer).

The API is found by the deploy record's id, else by its name and description (``<app_name>-<stage>
(lambda-tasks)``, which we set: the functions' prefix, so two stages or apps of the same title stay apart).
The stage's current deployment carries the digest of what it deployed (its description, ``lambda-tasks
<digest>``): the same document and settings again make no write call. Else the document replaces
the API's (``put_rest_api`` mode ``overwrite``: a route removed from the app is gone), then a new deployment.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..app_model import ApiSettings, WebApp
from ..aws import clients as aws
from ..errors import DeployError
from . import permissions
from .rest_api_doc import API_HANDLER, digest, invocation_uri, openapi3, swagger

APIGATEWAY = "apigateway.amazonaws.com"
_MARK = "lambda-tasks "


@dataclass
class ApiStep:
    """What happened to the REST API in one region."""

    region: str
    action: Literal["create", "update", "none"] = "none"
    api_id: str = ""
    url: str = ""
    permissions: list[tuple[str, str]] = field(default_factory=list)  # (function ARN, statement id) added

    def describe(self, planned: bool) -> str:
        label = f"REST API [{self.region}]"
        if self.action == "none":
            return f"{label}: up to date, {self.url}"
        verb = {"create": ("would create", "created"), "update": ("would update", "updated")}[self.action]
        return f"{label}: {verb[0] if planned else verb[1]}" + ("" if planned and not self.url else f", {self.url}")


def dns_suffix(region: str) -> str:
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


def api_url(api_id: str, region: str, stage: str) -> str:
    return f"https://{api_id}.execute-api.{region}.{dns_suffix(region)}/{stage}/"


def description(prefix: str) -> str:
    """The API's description (``prefix``: ``<app_name>-<stage>``): how a deploy without a record finds it."""
    return f"{prefix} (lambda-tasks)"


def document(web: WebApp, arns: Mapping[str, str], region: str) -> dict[str, Any]:
    """Chalice's Swagger document with the integrations pointing at ``arns`` (short name -> function ARN)."""
    def uri(short: str) -> str:
        if short not in arns:
            raise DeployError(f"the REST API needs function {short!r}, which was not deployed in {region}")
        return invocation_uri(arns[short], region)

    return swagger(web, uri)


class RestApiDeployer:
    """Brings the REST API in one region in line with the app (``plan``: reads only)."""

    def __init__(self, clients: aws.Clients, call: Callable[..., Any], plan: bool) -> None:
        self.clients, self.call, self.plan = clients, call, plan

    def deploy(self, region: str, web: WebApp, api: ApiSettings, arns: Mapping[str, str], prefix: str,
               known_id: str | None) -> ApiStep:
        if web.problems:
            raise DeployError(f"the REST API cannot be made: {web.problems[0]}\n  lambda-tasks reads app.py without "
                              "running it: write these values as literals in app.py"
                              + "".join(f"\n  also: {p}" for p in web.problems[1:4]))
        client = self.clients.client("apigateway", region)
        marker = description(prefix)
        body = openapi3(document(web, arns, region), marker)
        wanted = digest({"body": body, "endpoint": api.endpoint_type, "compression": api.minimum_compression_size,
                         "stage": api.stage})
        step = ApiStep(region)
        current = self._find(client, known_id, web.title, marker)
        if current is None:
            step.action = "create"
            if not self.plan:
                created = self.call(client.import_rest_api, f"create the REST API in {region}",
                                    body=json.dumps(body, indent=2),
                                    parameters={"endpointConfigurationTypes": api.endpoint_type})
                step.api_id = created["id"]
        else:
            step.api_id = current["id"]
            if self._deployed_digest(client, step.api_id, api.stage) != wanted:
                step.action = "update"
                if not self.plan:
                    self.call(client.put_rest_api, f"update the REST API {step.api_id}", restApiId=step.api_id,
                              mode="overwrite", body=json.dumps(body, indent=2))
        if step.api_id:
            step.url = api_url(step.api_id, region, api.stage)
            self._permissions(step, web, arns)
        if step.action != "none" and not self.plan:
            self._settings(client, step.api_id, api, current)
            self.call(client.create_deployment, f"deploy the REST API {step.api_id} to stage {api.stage}",
                      restApiId=step.api_id, stageName=api.stage, description=_MARK + wanted)
        return step

    def _find(self, client: Any, known_id: str | None, title: str, marker: str) -> dict[str, Any] | None:
        if known_id:
            found = self.call(client.get_rest_api, f"read the REST API {known_id}", missing_ok=True,
                              restApiId=known_id)
            if found is not None:
                return dict(found)
        position: str | None = None
        while True:
            page = self.call(client.get_rest_apis, "list the REST APIs", limit=500,
                             **({"position": position} if position else {}))
            for item in page.get("items", []):
                if item.get("name") == title and item.get("description") == marker:
                    return dict(item)
            position = page.get("position")
            if not position:
                return None

    def _deployed_digest(self, client: Any, api_id: str, stage: str) -> str:
        found = self.call(client.get_stage, f"read stage {stage} of the REST API {api_id}", missing_ok=True,
                          restApiId=api_id, stageName=stage)
        if not found or not found.get("deploymentId"):
            return ""
        deployment = self.call(client.get_deployment, f"read the deployment of the REST API {api_id}",
                               missing_ok=True, restApiId=api_id, deploymentId=found["deploymentId"])
        text = str((deployment or {}).get("description") or "")
        return text[len(_MARK):] if text.startswith(_MARK) else ""

    def _settings(self, client: Any, api_id: str, api: ApiSettings, current: Mapping[str, Any] | None) -> None:
        """minimumCompressionSize, and the endpoint type of an API that has another one (update_rest_api)."""
        size = "" if api.minimum_compression_size is None else str(api.minimum_compression_size)
        patch = [{"op": "replace", "path": "/minimumCompressionSize", "value": size}]
        types = ((current or {}).get("endpointConfiguration") or {}).get("types") or []
        if current is not None and types and types[0] != api.endpoint_type:
            patch.append({"op": "replace", "path": f"/endpointConfiguration/types/{types[0]}",
                          "value": api.endpoint_type})
        self.call(client.update_rest_api, f"configure the REST API {api_id}", restApiId=api_id,
                  patchOperations=patch)

    def _permissions(self, step: ApiStep, web: WebApp, arns: Mapping[str, str]) -> None:
        """API Gateway may invoke the API's function and each Chalice authorizer, from this API only."""
        names = [API_HANDLER, *(a.name for a in web.authorizers if a.kind == "chalice")]
        client = self.clients.lambda_(step.region)
        for name in names:
            arn = arns[name]
            source = f"arn:{permissions.partition_of(arn)}:execute-api:{step.region}:{permissions.account_of(arn)}:" \
                     f"{step.api_id}/*"
            sid = permissions.ensure(client, self.call, arn, APIGATEWAY, source, plan=self.plan)
            if sid is not None:
                step.permissions.append((arn, sid))
                if step.action == "none":
                    step.action = "update"

    def delete(self, region: str, api_id: str) -> None:
        """Delete the API (gone already: nothing to do)."""
        client = self.clients.client("apigateway", region)
        self.call(client.delete_rest_api, f"delete the REST API {api_id}", missing_ok=True, restApiId=api_id)
