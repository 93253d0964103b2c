"""``invoke delete --stage S``: take away everything the deploys of a stage made, from the deploy record, in
the order that leaves nothing dangling: in each region the event sources (subscriptions, mappings, bucket
notifications, rules), then the REST API, then the functions (their permissions go with them), then the layer
versions (unless ``keep_layers``); last the IAM role deploy created (IAM is global).

What is gone already counts as removed. A failure does not stop the rest; the record then keeps what is left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..aws import clients as aws
from ..errors import DeployError, LambdaTasksError
from ..report import Reporter
from . import deploy_record
from .custom_domain import DomainDeployer
from .deploy_record import DeployRecord, RegionRecord
from .event_sources import EventDeployer
from .function_urls import UrlDeployer
from .rest_api import RestApiDeployer
from .websocket_api import WebsocketDeployer

_EVENT_ORDER = {"subscription": 0, "mapping": 1, "s3": 2, "rule": 3, "url": 4, "permission": 5}


@dataclass
class DeleteResult:
    removed: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Removal:
    region: str
    what: str
    run: Callable[[], None]
    forget: Callable[[], None]  # takes it out of the record once removed


def removals(record: DeployRecord, clients: aws.Clients, call: Callable[..., Any], keep_layers: bool) -> list[Removal]:
    """Every removal, in order (pure but for the closures, which call AWS when run)."""
    events = EventDeployer(clients, call, False, f"{record.app}-{record.stage}")
    apis, urls = RestApiDeployer(clients, call, False), UrlDeployer(clients, call, False)
    sockets, domains = WebsocketDeployer(clients, call, False), DomainDeployer(clients, call, False)
    found: list[Removal] = []
    for region, kept in sorted(record.regions.items()):
        for entry in sorted(kept.events, key=lambda e: _EVENT_ORDER.get(e.get("kind", ""), 9)):
            if entry.get("kind") in ("permission", "url") and entry.get("function") in kept.functions.values():
                kept_entry = entry  # goes with its function
                found.append(Removal(region, "", lambda: None, _dropper(kept.events, kept_entry)))
                continue
            remover = urls.remove if entry.get("kind") == "url" else events.remove
            found.append(Removal(region, _event_line(entry), _bind(remover, region, entry),
                                 _dropper(kept.events, entry)))
        if kept.websocket_api.get("id"):
            socket_id = kept.websocket_api["id"]
            found.append(Removal(region, f"the websocket API {socket_id}", _bind(sockets.delete, region, socket_id),
                                 kept.websocket_api.clear))
        if kept.rest_api.get("domain"):
            domain, base = kept.rest_api["domain"], kept.rest_api.get("base_path", "")
            found.append(Removal(region, f"the custom domain {domain}", _bind(domains.delete, region, domain, base),
                                 _popper(kept.rest_api, "domain")))
        if kept.rest_api.get("id"):
            api_id = kept.rest_api["id"]
            found.append(Removal(region, f"the REST API {api_id}", _bind(apis.delete, region, api_id),
                                 _clearer(kept)))
        for short, arn in sorted(kept.functions.items()):
            found.append(Removal(region, f"function {arn.rsplit(':', 1)[-1]}",
                                 _bind(_delete_function, clients, call, region, arn), _popper(kept.functions, short)))
        if not keep_layers:
            for arn in list(kept.layers):
                found.append(Removal(region, f"layer version {':'.join(arn.split(':')[-2:])}",
                                     _bind(_delete_layer, clients, call, region, arn), _dropper(kept.layers, arn)))
    if record.role:
        region = next(iter(sorted(record.regions)), "us-east-1")
        found.append(Removal("global", f"IAM role {record.role}", _bind(_delete_role, clients, call, region,
                                                                         record.role), lambda: _forget_role(record)))
    return found


def delete(record_path: Path, stage: str, *, clients: aws.Clients, reporter: Reporter, plan: bool,
           keep_layers: bool, call: Callable[..., Any] = aws.call) -> DeleteResult:
    record = deploy_record.load(record_path)
    if record is None:
        raise DeployError(f"no deploy record for stage {stage!r} at {record_path}: nothing deploy made is known\n"
                          "  run delete where deploy ran (the same output directory and --stage)")
    result = DeleteResult()
    for removal in removals(record, clients, call, keep_layers):
        if not removal.what:
            removal.forget()
            continue
        label = f"{removal.what} [{removal.region}]"
        if plan:
            reporter.info(f"would delete {label}")
            result.removed.append(label)
            continue
        try:
            removal.run()
        except LambdaTasksError as exc:
            result.failures.append(f"{label}: {str(exc).splitlines()[0]}")
            reporter.info(f"{label}: not deleted: {str(exc).splitlines()[0]}")
            continue
        removal.forget()
        result.removed.append(label)
        reporter.info(f"deleted {label}")
    if plan:
        reporter.info(f"plan only: {len(result.removed)} resources would be deleted")
        return result
    if result.failures:
        deploy_record.save(record, record_path)
        raise DeployError(f"{len(result.failures)} resource(s) of stage {stage} were not deleted: "
                          f"{result.failures[0]}" + "".join(f"\n  {line}" for line in result.failures[1:])
                          + f"\n  {record_path} keeps them: run delete again")
    deploy_record.remove(record_path)
    reporter.info(f"delete: stage {stage}: {len(result.removed)} resources deleted")
    return result


def _bind(fn: Callable[..., Any], *args: Any) -> Callable[[], None]:
    return lambda: fn(*args)


def _dropper(items: list[Any], item: Any) -> Callable[[], None]:
    return lambda: items.remove(item) if item in items else None


def _popper(table: dict[str, Any], key: str) -> Callable[[], None]:
    return lambda: table.pop(key, None) and None


def _clearer(region: RegionRecord) -> Callable[[], None]:
    return lambda: region.rest_api.clear()


def _forget_role(record: DeployRecord) -> None:
    record.role = ""


def _event_line(entry: dict[str, Any]) -> str:
    kind = entry.get("kind")
    return {"rule": f"EventBridge rule {entry.get('name')}", "s3": f"S3 notification {entry.get('id')} on bucket "
            f"{entry.get('bucket')}", "mapping": f"event source mapping {entry.get('uuid')}",
            "subscription": f"SNS subscription {entry.get('arn')}",
            "permission": f"permission {entry.get('sid')} of {str(entry.get('function', '')).rsplit(':', 1)[-1]}",
            "url": f"the function URL of {str(entry.get('function', '')).rsplit(':', 1)[-1]}"}.get(str(kind), str(kind))


def _delete_function(clients: aws.Clients, call: Callable[..., Any], region: str, arn: str) -> None:
    client = clients.lambda_(region)
    urls = call(client.get_function_url_config, f"read the function URL of {arn}", missing_ok=True, FunctionName=arn)
    if urls:
        call(client.delete_function_url_config, f"delete the function URL of {arn}", missing_ok=True,
             FunctionName=arn)
    call(client.delete_function, f"delete function {arn}", missing_ok=True, FunctionName=arn)


def _delete_layer(clients: aws.Clients, call: Callable[..., Any], region: str, arn: str) -> None:
    parts = arn.split(":")
    call(clients.lambda_(region).delete_layer_version, f"delete layer version {arn}", missing_ok=True,
         LayerName=":".join(parts[:-1]), VersionNumber=int(parts[-1]))


def _delete_role(clients: aws.Clients, call: Callable[..., Any], region: str, name: str) -> None:
    iam = clients.iam(region)
    attached = call(iam.list_attached_role_policies, f"list the policies of IAM role {name}", missing_ok=True,
                    RoleName=name)
    if attached is None:
        return
    for policy in attached.get("AttachedPolicies", []):
        call(iam.detach_role_policy, f"detach {policy['PolicyName']} from {name}", RoleName=name,
             PolicyArn=policy["PolicyArn"])
    call(iam.delete_role, f"delete IAM role {name}", missing_ok=True, RoleName=name)
