"""What an app declares around its functions: the REST API's routes and authorizers, and its event sources (pure
data). ``sources/`` reads them (from a Chalice app.py); ``deploy/`` and ``iac/`` make them in AWS or a template.

A function is named by its ``short_name`` (Chalice's name: ``api_handler`` for the routes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: API Gateway's default binary media types in a Chalice app (chalice/app.py, APIGateway._DEFAULT_BINARY_TYPES)
DEFAULT_BINARY_TYPES = (
    "application/octet-stream", "application/x-tar", "application/zip", "audio/basic", "audio/ogg", "audio/mp4",
    "audio/mpeg", "audio/wav", "audio/webm", "image/png", "image/jpg", "image/jpeg", "image/gif", "video/ogg",
    "video/mpeg", "video/webm",
)
#: the headers every CORS preflight allows (chalice/app.py, CORSConfig._REQUIRED_HEADERS)
CORS_REQUIRED_HEADERS = ("Content-Type", "X-Amz-Date", "Authorization", "X-Api-Key", "X-Amz-Security-Token")


@dataclass(frozen=True)
class Cors:
    """A route's CORS configuration (Chalice's CORSConfig)."""

    allow_origin: str = "*"
    allow_headers: tuple[str, ...] = ()  # added to CORS_REQUIRED_HEADERS
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool | None = None

    def headers(self) -> dict[str, str]:
        """CORSConfig.get_access_control_headers."""
        found = {"Access-Control-Allow-Origin": self.allow_origin,
                 "Access-Control-Allow-Headers": ",".join(sorted({*self.allow_headers, *CORS_REQUIRED_HEADERS}))}
        if self.expose_headers:
            found["Access-Control-Expose-Headers"] = ",".join(self.expose_headers)
        if self.max_age is not None:
            found["Access-Control-Max-Age"] = str(self.max_age)
        if self.allow_credentials is True:
            found["Access-Control-Allow-Credentials"] = "true"
        return found


@dataclass(frozen=True)
class Authorizer:
    """An authorizer of the REST API: ``chalice`` (a function of the app), ``cognito``, ``iam`` or ``custom``."""

    name: str
    kind: str
    header: str = "Authorization"
    ttl_seconds: int | None = None
    credentials: str | None = None  # the role API Gateway invokes it with (execution_role, invoke_role_arn)
    provider_arns: tuple[str, ...] = ()  # cognito
    uri: str = ""  # custom: its authorizer_uri


@dataclass(frozen=True)
class Route:
    """One method of one path of the REST API."""

    path: str
    method: str
    view: str  # the Python function
    api_key_required: bool = False
    content_types: tuple[str, ...] = ("application/json",)
    cors: Cors | None = None
    authorizer: str | None = None  # an Authorizer's name
    scopes: tuple[str, ...] = ()
    doc: str = ""  # the view's docstring, cleaned

    @property
    def parameters(self) -> list[str]:
        """The path's ``{name}`` parts, in order."""
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{") and part.endswith("}")]


@dataclass(frozen=True)
class EventSource:
    """What invokes a function besides the REST API; unused fields keep their default.

    kinds: ``schedule`` (expression, description), ``cloudwatch_event`` (pattern: JSON), ``s3`` (bucket, events,
    prefix, suffix), ``sns`` (topic: a name or an ARN), ``sqs`` (queue or arn), ``kinesis`` (stream),
    ``dynamodb`` (arn), ``websocket`` (route: $connect, $default or $disconnect)."""

    kind: str
    function: str  # the function's short name
    expression: str = ""
    description: str = ""
    pattern: str = ""
    bucket: str = ""
    events: tuple[str, ...] = ()
    prefix: str = ""
    suffix: str = ""
    topic: str = ""
    queue: str = ""
    stream: str = ""
    arn: str = ""
    batch_size: int | None = None
    batching_window: int = 0
    starting_position: str = "LATEST"
    maximum_concurrency: int | None = None
    route: str = ""
    problem: str = ""  # what could not be read (deploying this source then fails with it)


@dataclass(frozen=True)
class WebApp:
    """The app's routes, authorizers and event sources; ``problems`` are what of the REST API could not be read (one
    line each; an event source's own are its ``problem``)."""

    title: str
    routes: tuple[Route, ...] = ()
    authorizers: tuple[Authorizer, ...] = ()
    binary_types: tuple[str, ...] = DEFAULT_BINARY_TYPES
    events: tuple[EventSource, ...] = ()
    problems: tuple[str, ...] = ()

    def authorizer(self, name: str) -> Authorizer | None:
        return next((a for a in self.authorizers if a.name == name), None)


@dataclass(frozen=True)
class ApiSettings:
    """The REST API's settings for a stage (config.json's ``api_gateway_*`` keys, or our settings)."""

    stage: str = "api"
    endpoint_type: str = "EDGE"
    minimum_compression_size: int | None = None


@dataclass(frozen=True)
class FunctionUrl:
    """A function URL's configuration (Lambda's FunctionUrlConfig)."""

    auth: str = "NONE"  # NONE (public) or AWS_IAM
    invoke_mode: str = "BUFFERED"  # or RESPONSE_STREAM
    cors_origins: tuple[str, ...] = ()

    def config(self) -> dict[str, object]:
        """CreateFunctionUrlConfig's arguments (without the function)."""
        found: dict[str, object] = {"AuthType": self.auth, "InvokeMode": self.invoke_mode}
        if self.cors_origins:
            found["Cors"] = {"AllowOrigins": list(self.cors_origins), "AllowMethods": ["*"], "AllowHeaders": ["*"]}
        return found


@dataclass(frozen=True)
class CustomDomain:
    """A custom domain name for the REST API (config.json's ``api_gateway_custom_domain``)."""

    domain_name: str
    certificate_arn: str
    url_prefix: str = ""  # the base path; none: the API at the domain's root
    tls_version: str = "TLS_1_2"
    tags: tuple[tuple[str, str], ...] = ()


#: Chalice's event source configurations (chalice/app.py) -> our kind
_DUMPED_KINDS = {"ScheduledEventConfig": "schedule", "CloudWatchEventConfig": "cloudwatch_event", "S3EventConfig": "s3",
                 "SNSEventConfig": "sns", "SQSEventConfig": "sqs", "KinesisEventConfig": "kinesis",
                 "DynamoDBEventConfig": "dynamodb"}


def web_from_dump(data: dict[str, Any], read: WebApp) -> WebApp:
    """The app as importing it showed it (verify/app_dump.py's JSON); websockets as ``read`` from the syntax."""
    authorizers: dict[str, Authorizer] = {}
    routes = []
    for r in data.get("routes", []):
        auth = r.get("authorizer")
        if auth:
            authorizers.setdefault(auth["name"], Authorizer(
                auth["name"], auth["kind"], auth.get("header") or "Authorization", auth.get("ttl_seconds"),
                auth.get("credentials"), tuple(auth.get("provider_arns") or ()), auth.get("uri") or ""))
        cors = r.get("cors")
        routes.append(Route(r["path"], r["method"], r["view"], bool(r.get("api_key_required")),
                            tuple(r.get("content_types") or ()),
                            Cors(cors["allow_origin"], tuple(cors["allow_headers"]), tuple(cors["expose_headers"]),
                                 cors.get("max_age"), cors.get("allow_credentials")) if cors else None,
                            auth["name"] if auth else None, tuple(r.get("scopes") or ()), r.get("doc") or ""))
    events = [_dumped_event(e) for e in data.get("events", []) if e.get("type") in _DUMPED_KINDS]
    events += [e for e in read.events if e.kind == "websocket"]
    return WebApp(str(data.get("title") or read.title), tuple(routes), tuple(authorizers.values()),
                  tuple(data.get("binary_types") or ()), tuple(events))


def _dumped_event(e: dict[str, Any]) -> EventSource:
    kind = _DUMPED_KINDS[e["type"]]
    pattern = json.dumps(e.get("event_pattern")) if kind == "cloudwatch_event" else ""
    return EventSource(kind, e["function"], expression=str(e.get("schedule_expression") or ""),
                       description=str(e.get("description") or ""), pattern=pattern, bucket=e.get("bucket") or "",
                       events=tuple(e.get("events") or ()), prefix=e.get("prefix") or "", suffix=e.get("suffix") or "",
                       topic=e.get("topic") or "", queue=e.get("queue") or "", stream=e.get("stream") or "",
                       arn=e.get("queue_arn") or e.get("stream_arn") or "", batch_size=e.get("batch_size"),
                       batching_window=e.get("maximum_batching_window_in_seconds") or 0,
                       starting_position=e.get("starting_position") or "LATEST",
                       maximum_concurrency=e.get("maximum_concurrency"))
