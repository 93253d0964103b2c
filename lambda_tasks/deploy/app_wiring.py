"""What deploy wires around the functions once they are deployed: the REST API (rest_api.py) and the event
sources (event_sources.py) in each region, side by side (``max_parallel``), each failing on its own; then what
the last deploy made and the app no longer declares is taken away, and the deploy record is written.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..app_model import ApiSettings, CustomDomain, EventSource, FunctionUrl, WebApp
from ..aws import clients as aws
from ..errors import DeployError, LambdaTasksError
from ..report import Reporter
from . import deploy_record, roles
from .custom_domain import DomainDeployer, DomainStep
from .deploy_record import DeployRecord
from .deployer import DeployResult
from .event_sources import EventDeployer, EventStep, entry_key
from .function_urls import UrlDeployer, UrlStep
from .parallel import Scheduler
from .rest_api import ApiStep, RestApiDeployer
from .rest_api_doc import API_HANDLER
from .websocket_api import ROUTES, WebsocketDeployer, WebsocketStep


@dataclass(frozen=True)
class AppWiring:
    """What deploy needs to wire an app: its routes and event sources, the API's settings, the names."""

    web: WebApp | None
    api: ApiSettings
    app_name: str
    stage: str
    record_path: Path
    max_parallel: int = 8
    urls: Mapping[str, FunctionUrl] = field(default_factory=dict)  # function name -> its URL's configuration
    domain: CustomDomain | None = None  # the REST API's custom domain name

    @property
    def prefix(self) -> str:
        return f"{self.app_name}-{self.stage}"


@dataclass
class AppResult:
    apis: list[ApiStep] = field(default_factory=list)
    events: list[EventStep] = field(default_factory=list)
    function_urls: list[UrlStep] = field(default_factory=list)
    websockets: list[WebsocketStep] = field(default_factory=list)
    domains: list[DomainStep] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def urls(self) -> dict[str, str]:
        return {step.region: step.url for step in self.apis if step.url}

    @property
    def changed(self) -> bool:
        return (any(s.action != "none" for s in self.apis) or any(s.changed for s in self.events)
                or any(s.changed for s in self.function_urls) or any(s.action != "none" for s in self.websockets)
                or any(s.changed for s in self.domains)
                or bool(self.removed))


def function_arns(result: DeployResult) -> dict[str, dict[str, str]]:
    """region -> short name -> function ARN, of what the deploy made or found (planned new ones: a stand-in)."""
    found: dict[str, dict[str, str]] = {}
    for step in result.functions:
        arn = step.arn or f"arn:aws:lambda:{step.region}:000000000000:function:{step.spec.name}"
        found.setdefault(step.region, {})[step.spec.short_name or step.spec.name] = arn
    return found


def deploy_app(wiring: AppWiring, result: DeployResult, *, clients: aws.Clients, reporter: Reporter,
               plan: bool, call: Callable[..., Any] = aws.call) -> AppResult:
    """Wire the REST API and the event sources in each region the functions are in; then prune and record."""
    old = deploy_record.load(wiring.record_path)
    arns = function_arns(result)
    app = AppResult()
    lock = threading.Lock()
    apis, events = RestApiDeployer(clients, call, plan), EventDeployer(clients, call, plan, wiring.prefix)
    function_urls = UrlDeployer(clients, call, plan)
    sockets = WebsocketDeployer(clients, call, plan)
    web = wiring.web
    scheduler = Scheduler(wiring.max_parallel)

    def guarded(label: str, job: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                job()
            except LambdaTasksError as exc:
                with lock:
                    app.failures.append(f"{label}: {str(exc).splitlines()[0]}")
                    reporter.info(f"{label}: failed: {str(exc).splitlines()[0]}")
        return run

    def rest_api(region: str) -> None:
        known = old.regions[region].rest_api.get("id") if old and region in old.regions else None
        assert web is not None
        step = apis.deploy(region, web, wiring.api, arns[region], wiring.prefix, known)
        with lock:
            app.apis.append(step)
            reporter.info(step.describe(plan))
        if wiring.domain is not None and step.api_id:
            domain = DomainDeployer(clients, call, plan).deploy(region, wiring.domain, step.api_id, wiring.api.stage,
                                                                wiring.api.endpoint_type)
            with lock:
                app.domains.append(domain)
                reporter.info(domain.describe(plan))

    def event(region: str, source: EventSource) -> None:
        step = events.deploy(region, source, arns[region][source.function])
        with lock:
            app.events.append(step)
            reporter.info(step.describe(plan))

    if web is not None and result.role is not None and arns:
        _role_policies(web, result.role, clients.iam(sorted(arns)[0]), call, plan, reporter)
    def url(region: str, arn: str, config: FunctionUrl) -> None:
        step = function_urls.deploy(region, arn, config)
        with lock:
            app.function_urls.append(step)
            reporter.info(step.describe(plan))

    for step in result.functions:
        if step.spec.name in wiring.urls:
            arn = arns[step.region][step.spec.short_name or step.spec.name]
            scheduler.submit(guarded(f"function URL {step.spec.name} [{step.region}]",
                                     functools.partial(url, step.region, arn, wiring.urls[step.spec.name])))
    def websocket(region: str, routes: dict[str, str]) -> None:
        known = old.regions[region].websocket_api.get("id") if old and region in old.regions else None
        step = sockets.deploy(region, f"{wiring.prefix}-websocket-api", routes, wiring.api.stage, known)
        with lock:
            app.websockets.append(step)
            reporter.info(step.describe(plan))

    for region in sorted(arns):
        routes = {key: arns[region][name] for key, name in ROUTES.items() if name in arns[region]
                  and web is not None and any(e.route == key for e in web.events)}
        if routes:
            scheduler.submit(guarded(f"websocket API [{region}]", functools.partial(websocket, region, routes)))
        if web is not None and web.routes and API_HANDLER in arns[region]:
            scheduler.submit(guarded(f"REST API [{region}]", functools.partial(rest_api, region)))
        for source in web.events if web is not None else ():
            if source.kind != "websocket" and source.function in arns[region]:
                scheduler.submit(guarded(f"{source.kind} -> {source.function} [{region}]",
                                         functools.partial(event, region, source)))
    try:
        scheduler.run()
    except KeyboardInterrupt:  # what was made so far goes into the record (the rest as the last deploy left it)
        if not plan:
            app.failures.append("interrupted")
            deploy_record.save(_record(wiring, result, app, old, arns), wiring.record_path)
        raise
    record = _record(wiring, result, app, old, arns)
    if old is not None and not app.failures:
        _prune(old, record, sorted(arns), apis, _Remover(events, function_urls, sockets), clients, call, plan, app,
               reporter)
    if not plan:
        deploy_record.save(record, wiring.record_path)
    for region, address in sorted(app.urls.items()):
        reporter.info(f"REST API URL [{region}]: {address}")
    for socket in app.websockets:
        if socket.url:
            reporter.info(f"websocket URL [{socket.region}]: {socket.url}")
    if app.failures:
        raise DeployError(f"{len(app.failures)} part(s) of the app were not wired: {app.failures[0]}"
                          + "".join(f"\n  {line}" for line in app.failures[1:]))
    return app


#: event source kind -> the AWS-managed policy that lets the function read it (as Chalice's autogen policy does)
_READ_POLICIES = {"sqs": "service-role/AWSLambdaSQSQueueExecutionRole",
                  "kinesis": "service-role/AWSLambdaKinesisExecutionRole",
                  "dynamodb": "service-role/AWSLambdaDynamoDBExecutionRole"}


def _role_policies(web: WebApp, role: roles.ManagedRole, iam: Any, call: Callable[..., Any], plan: bool,
                   reporter: Reporter) -> None:
    """The managed role may read the queues and streams the app's mappings poll (attached when missing)."""
    kinds = sorted({e.kind for e in web.events if e.kind in _READ_POLICIES})
    if not kinds:
        return
    wanted = [roles.policy_arn(_READ_POLICIES[kind], iam.meta.region_name) for kind in kinds]
    if role.planned and role.action == "create":  # not there yet: nothing to read
        names = ", ".join(_READ_POLICIES[kind].rsplit("/", 1)[-1] for kind in kinds)
        reporter.info(f"role {role.name}: would attach {names}")
        return
    found = roles.RoleKeeper(iam, call, plan).ensure(role.name, wanted)
    if found.attached:
        reporter.info(found.describe())


def _record(wiring: AppWiring, result: DeployResult, app: AppResult, old: DeployRecord | None,
            arns: dict[str, dict[str, str]]) -> DeployRecord:
    record = DeployRecord(wiring.app_name, wiring.stage, old.role if old else "")
    if result.role is not None and result.role.action == "create":
        record.role = result.role.name
    for region, last in (old.regions.items() if old else ()):
        if region not in arns:  # a region this deploy did not cover keeps what the last one made there
            record.regions[region] = copy.deepcopy(last)
    for region, functions in arns.items():
        record.region(region).functions = dict(functions)
    for step in app.apis:
        if step.api_id:
            record.region(step.region).rest_api = {"id": step.api_id, "url": step.url}
            if wiring.domain is not None:
                record.region(step.region).rest_api.update(domain=wiring.domain.domain_name,
                                                           base_path=wiring.domain.url_prefix)
    for socket in app.websockets:
        if socket.api_id:
            record.region(socket.region).websocket_api = {"id": socket.api_id, "url": socket.url}
    made = [(e.region, e.entries) for e in app.events] + [(u.region, u.entries) for u in app.function_urls] \
        + [(w.region, w.entries) for w in app.websockets]
    for region, entries in made:
        record.region(region).events += entries
    if app.failures and old is not None:  # what could not be checked again stays recorded, for the next run
        for region in arns:
            previous, now = old.regions.get(region), record.region(region)
            if previous is not None:
                now.rest_api = now.rest_api or dict(previous.rest_api)
                now.websocket_api = now.websocket_api or dict(previous.websocket_api)
                known = {entry_key(e) for e in now.events}
                now.events += [e for e in previous.events if entry_key(e) not in known]
    published = [s for s in result.layers.steps if s.arn and s.action == "publish"]
    for region in {*(s.region for s in published), *(old.regions if old else ())}:
        kept = old.regions[region].layers if old and region in old.regions else []
        record.region(region).layers = list(dict.fromkeys([*kept, *(s.arn or "" for s in published
                                                                    if s.region == region)]))
    return record


class _Remover:
    """Takes a recorded entry away, whichever deployer made it."""

    def __init__(self, events: EventDeployer, urls: UrlDeployer, sockets: WebsocketDeployer) -> None:
        self.events, self.urls, self.sockets = events, urls, sockets

    def remove(self, region: str, entry: dict[str, Any]) -> None:
        (self.urls if entry["kind"] == "url" else self.events).remove(region, entry)


def _prune(old: DeployRecord, new: DeployRecord, regions: Sequence[str], apis: RestApiDeployer, events: _Remover,
           clients: aws.Clients, call: Callable[..., Any], plan: bool, app: AppResult, reporter: Reporter) -> None:
    """Take away what the last deploy made in ``regions`` and this one did not: event sources, the APIs,
    functions. Other regions are left as they are (a deploy to one region says nothing about the others)."""
    verb = "would remove" if plan else "removed"
    for region, before in sorted(old.regions.items()):
        if region not in regions:
            continue
        now = new.regions.get(region) or deploy_record.RegionRecord()
        keep = {entry_key(e) for e in now.events}
        for entry in _removal_order(e for e in before.events if entry_key(e) not in keep):
            if not plan:
                events.remove(region, entry)
            _removed(app, reporter, f"{verb} {_what(entry)} [{region}]")
        if before.websocket_api.get("id") and not now.websocket_api:
            if not plan:
                events.sockets.delete(region, before.websocket_api["id"])
            _removed(app, reporter, f"{verb} the websocket API {before.websocket_api['id']} [{region}]")
        if before.rest_api.get("domain") and (before.rest_api.get("domain"), before.rest_api.get("base_path")) != (
                now.rest_api.get("domain"), now.rest_api.get("base_path")):
            if not plan:
                DomainDeployer(clients, call, plan).delete(region, before.rest_api["domain"],
                                                           before.rest_api.get("base_path", ""))
            _removed(app, reporter, f"{verb} the custom domain {before.rest_api['domain']} [{region}]")
        if before.rest_api.get("id") and not now.rest_api:
            if not plan:
                apis.delete(region, before.rest_api["id"])
            _removed(app, reporter, f"{verb} the REST API {before.rest_api['id']} (the app has no routes) [{region}]")
        for short, arn in sorted(before.functions.items()):
            if short not in now.functions:
                if not plan:
                    call(clients.lambda_(region).delete_function, f"delete function {arn}", missing_ok=True,
                         FunctionName=arn)
                _removed(app, reporter, f"{verb} function {arn.rsplit(':', 1)[-1]} (gone from the app) [{region}]")


def _removed(app: AppResult, reporter: Reporter, line: str) -> None:
    app.removed.append(line)
    reporter.info(line)


def _removal_order(entries: Any) -> Sequence[dict[str, Any]]:
    """Sources before the permissions that let them invoke."""
    return sorted(entries, key=lambda e: e["kind"] == "permission")


def _what(entry: dict[str, Any]) -> str:
    kind = str(entry["kind"])
    return {"rule": f"EventBridge rule {entry.get('name')}", "s3": f"S3 notification {entry.get('id')} on "
            f"{entry.get('bucket')}", "mapping": f"event source mapping {entry.get('uuid')}",
            "subscription": f"SNS subscription {entry.get('arn')}",
            "permission": f"permission {entry.get('sid')} of {str(entry.get('function', '')).rsplit(':', 1)[-1]}",
            "url": f"the function URL of {str(entry.get('function', '')).rsplit(':', 1)[-1]}"}.get(kind, kind)


def record_functions(wiring: AppWiring, result: DeployResult) -> None:
    """After a deploy that failed part way: the functions (and role, layers) it made go into the record, so that
    ``invoke delete`` finds them; the rest of the record stays as it was."""
    old = deploy_record.load(wiring.record_path)
    record = old or DeployRecord(wiring.app_name, wiring.stage)
    if result.role is not None and result.role.action == "create":
        record.role = result.role.name
    for region, functions in function_arns(result).items():
        record.region(region).functions.update({k: v for k, v in functions.items() if ":000000000000:" not in v})
    for step in result.layers.steps:
        if step.arn and step.action == "publish" and step.arn not in record.region(step.region).layers:
            record.region(step.region).layers.append(step.arn)
    deploy_record.save(record, wiring.record_path)
