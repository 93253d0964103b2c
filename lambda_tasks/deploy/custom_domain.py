"""The REST API's custom domain name (config.json's ``api_gateway_custom_domain``), as ``chalice deploy`` makes
it: the domain name in API Gateway with its ACM certificate (``certificateArn`` for an EDGE API, which needs a
us-east-1 certificate; ``regionalCertificateArn`` otherwise) and TLS policy, and the base path mapping
(``url_prefix``, else the root) to the API's stage. DNS is the user's: deploy prints the name to point an alias
or CNAME at. Read first, written only where it differs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..app_model import CustomDomain
from ..aws import clients as aws

ROOT = "(none)"  # API Gateway's base path for the domain's root


@dataclass
class DomainStep:
    region: str
    domain: str
    target: str = ""  # the name DNS must point at
    changed: list[str] = field(default_factory=list)

    def describe(self, planned: bool) -> str:
        head = f"custom domain {self.domain} [{self.region}]"
        what = f": {'would ' if planned else ''}{', '.join(self.changed)}" if self.changed else ": up to date"
        return head + what + (f"; point its DNS at {self.target}" if self.target else "")


class DomainDeployer:
    def __init__(self, clients: aws.Clients, call: Callable[..., Any], plan: bool) -> None:
        self.clients, self.call, self.plan = clients, call, plan

    def deploy(self, region: str, domain: CustomDomain, api_id: str, stage: str, endpoint_type: str) -> DomainStep:
        client = self.clients.client("apigateway", region)
        name = domain.domain_name
        step = DomainStep(region, name)
        current = self.call(client.get_domain_name, f"read custom domain {name}", missing_ok=True, domainName=name)
        fresh = current is None  # a new domain has no mappings to read
        if current is None:
            step.changed.append("create the domain name")
            if not self.plan:
                certificate = "certificateArn" if endpoint_type == "EDGE" else "regionalCertificateArn"
                current = self.call(client.create_domain_name, f"create custom domain {name}", domainName=name,
                                    endpointConfiguration={"types": [endpoint_type]},
                                    securityPolicy=domain.tls_version, **{certificate: domain.certificate_arn},
                                    **({"tags": dict(domain.tags)} if domain.tags else {}))
        current = current or {}
        step.target = str(current.get("distributionDomainName") if endpoint_type == "EDGE"
                          else current.get("regionalDomainName") or "")
        base = domain.url_prefix or ROOT
        mappings = [] if fresh else self.call(
            client.get_base_path_mappings, f"read the base paths of {name}", domainName=name).get("items", [])
        mapping = next((m for m in mappings if m.get("basePath") == base), None)
        if mapping is None:
            step.changed.append(f"map /{domain.url_prefix} to the API")
            if not self.plan:
                self.call(client.create_base_path_mapping, f"map {name}/{domain.url_prefix}", domainName=name,
                          restApiId=api_id, stage=stage, **({"basePath": base} if domain.url_prefix else {}))
        elif (mapping.get("restApiId"), mapping.get("stage")) != (api_id, stage):
            step.changed.append(f"map /{domain.url_prefix} to this API")
            if not self.plan:
                self.call(client.update_base_path_mapping, f"remap {name}/{domain.url_prefix}", domainName=name,
                          basePath=base, patchOperations=[
                              {"op": "replace", "path": "/restapiId", "value": api_id},
                              {"op": "replace", "path": "/stage", "value": stage}])
        return step

    def delete(self, region: str, name: str, base_path: str) -> None:
        """The mapping, then the domain name when no other mapping is left on it."""
        client = self.clients.client("apigateway", region)
        self.call(client.delete_base_path_mapping, f"delete the base path of {name}", missing_ok=True,
                  domainName=name, basePath=base_path or ROOT)
        left = self.call(client.get_base_path_mappings, f"read the base paths of {name}", missing_ok=True,
                         domainName=name)
        if left is not None and not left.get("items"):
            self.call(client.delete_domain_name, f"delete custom domain {name}", missing_ok=True, domainName=name)
