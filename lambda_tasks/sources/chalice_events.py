"""A Chalice app's REST API and event sources as data (app_model.py), from its registrations, as chalice/app.py
records them: a route's methods, CORS, content types, API key and authorizer; ``app.api.cors`` and
``app.api.binary_types``; each event decorator's arguments with Chalice's defaults.

What is not a literal here cannot be read without running the app: it becomes one line in ``WebApp.problems``
(deploying the API or that event source then stops with it; building does not).
"""

from __future__ import annotations

import ast
import json
from dataclasses import replace
from typing import Any

from ..app_model import DEFAULT_BINARY_TYPES, Authorizer, Cors, EventSource, Route, WebApp
from .chalice_module import EXPR, NOT_LITERAL, Module, Registration

_WEBSOCKET_ROUTES = {"on_ws_connect": "$connect", "on_ws_message": "$default", "on_ws_disconnect": "$disconnect"}
_WEBSOCKET_NAMES = {"on_ws_connect": "websocket_connect", "on_ws_message": "websocket_message",
                    "on_ws_disconnect": "websocket_disconnect"}
_BUILT_IN = {"CognitoUserPoolAuthorizer": "cognito", "IAMAuthorizer": "iam", "CustomAuthorizer": "custom"}


class _Problems(list[str]):
    def value(self, reg: Registration, key: str, kinds: type | tuple[type, ...], default: Any = None) -> Any:
        """A literal argument of the registration (``default`` when absent); a problem when not a literal."""
        node = reg.args.get(key)
        if node is None:
            return default
        value = reg.module_ref.literal(node)
        if value is None:
            return default
        if value is NOT_LITERAL or not isinstance(value, kinds) or isinstance(value, bool) != (kinds is bool):
            self.append(f"{reg.module_ref.label} line {reg.line}: {key}= of @{reg.decorator} ({ast.unparse(node)}) "
                        "is not a literal lambda-tasks can read")
            return default
        return value


def web_app(title: str, modules: list[tuple[Module, str]], registrations: list[Registration]) -> WebApp:
    """The routes, authorizers and event sources of the app; ``modules``: each module and its name for the app."""
    problems = _Problems()
    default_cors: Cors | None = None
    binary_types = list(DEFAULT_BINARY_TYPES)
    for module, variable in reversed(modules):  # imported modules run first, as at import time
        default_cors = _api_config(module, variable, problems, binary_types) or default_cors
    chalice_auth = {(r.module, r.python_name): r for r in registrations if r.decorator == "authorizer"}
    authorizers: dict[str, Authorizer] = {}
    routes: list[Route] = []
    events: list[EventSource] = []
    seen: dict[tuple[str, str], str] = {}
    for reg in registrations:
        if reg.decorator == "route":
            for route in _routes(reg, default_cors, chalice_auth, authorizers, problems):
                if (route.path, route.method) in seen:
                    problems.append(f"{reg.module_ref.label} line {reg.line}: {route.method} {route.path} is also "
                                    f"routed to {seen[(route.path, route.method)]} (Chalice refuses this)")
                seen[(route.path, route.method)] = route.view
                routes.append(route)
        elif reg.decorator not in ("lambda_function", "authorizer"):
            before = len(problems)
            source = _event(reg, problems)
            if len(problems) > before:  # this source's own: it alone is not deployed
                source = replace(source, problem="; ".join(problems[before:]))
                del problems[before:]
            events.append(source)
    return WebApp(title, tuple(routes), tuple(authorizers.values()), tuple(binary_types), tuple(events),
                  tuple(problems))


def _api_config(module: Module, variable: str, problems: _Problems, types: list[str]) -> Cors | None:
    """``app.api.cors = ...`` (returned) and ``app.api.binary_types`` (assigned, appended to or extended: ``types``
    changed in place) at module level."""
    cors: Cors | None = None
    for stmt in module.statements():
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and _is_api(stmt.targets[0], variable):
            target = stmt.targets[0]
            assert isinstance(target, ast.Attribute)
            if target.attr == "cors":
                cors = _cors(module, stmt.value, stmt.lineno, problems)
            elif target.attr == "binary_types":
                _set_binary_types(module, stmt, problems, types)
        elif isinstance(stmt, ast.Expr) and (call := _binary_types_call(stmt, variable)) is not None:
            value = module.literal(call.args[0])
            added = [value] if isinstance(call.func, ast.Attribute) and call.func.attr == "append" else value
            if isinstance(added, list) and all(isinstance(v, str) for v in added):
                types += added
            else:
                problems.append(f"{module.label} line {stmt.lineno}: app.api.binary_types gets a value that is not "
                                "a literal")
    return cors


def _set_binary_types(module: Module, stmt: ast.Assign, problems: _Problems, types: list[str]) -> None:
    value = module.literal(stmt.value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        types[:] = value
    else:
        problems.append(f"{module.label} line {stmt.lineno}: app.api.binary_types is not a literal list")


def _binary_types_call(stmt: ast.Expr, variable: str) -> ast.Call | None:
    """``app.api.binary_types.append(...)`` or ``.extend(...)``, with an argument."""
    call = stmt.value
    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in ("append", "extend")
            and isinstance(owner := call.func.value, ast.Attribute) and owner.attr == "binary_types"
            and _is_api(owner, variable) and call.args):
        return call
    return None


def _is_api(node: ast.expr, variable: str) -> bool:
    """``app.api.<something>``."""
    return (isinstance(node, ast.Attribute) and isinstance(api := node.value, ast.Attribute) and api.attr == "api"
            and isinstance(api.value, ast.Name) and api.value.id == variable)


def _assigned(module: Module, name: str) -> ast.expr | None:
    """The value last assigned to ``name`` at module level."""
    found = None
    for stmt in module.statements():
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
            found = stmt.value
    return found


def _called(node: ast.expr) -> str:
    func = node.func if isinstance(node, ast.Call) else None
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _cors(module: Module, node: ast.expr | None, line: int, problems: _Problems) -> Cors | None:
    if isinstance(node, ast.Name) and (value := _assigned(module, node.id)) is not None:
        node = value
    if node is None or (isinstance(node, ast.Constant) and node.value in (False, None)):
        return None
    if isinstance(node, ast.Constant) and node.value is True:
        return Cors()
    if isinstance(node, ast.Call) and _called(node) == "CORSConfig":
        names = ("allow_origin", "allow_headers", "expose_headers", "max_age", "allow_credentials")
        bound = {**dict(zip(names, node.args, strict=False)), **{k.arg: k.value for k in node.keywords if k.arg}}
        values: dict[str, Any] = {key: module.literal(value) for key, value in bound.items()}
        if all(v is not NOT_LITERAL for v in values.values()):
            return Cors(str(values.get("allow_origin") or "*"), tuple(values.get("allow_headers") or ()),
                        tuple(values.get("expose_headers") or ()), values.get("max_age"),
                        values.get("allow_credentials"))
    problems.append(f"{module.label} line {line}: cors={ast.unparse(node)} is not True, False or a CORSConfig(...) "
                    "of literals")
    return None


def _routes(reg: Registration, default_cors: Cors | None, chalice_auth: dict[tuple[str, str], Registration],
            authorizers: dict[str, Authorizer], problems: _Problems) -> list[Route]:
    path = problems.value(reg, "path", str, "/")
    if reg.url_prefix is not None:  # as Chalice's _register_route joins them
        path = "/".join([reg.url_prefix.rstrip("/"), path.strip("/")]).rstrip("/")
    methods = problems.value(reg, "methods", list, ["GET"])
    content_types = problems.value(reg, "content_types", list, ["application/json"])
    cors = default_cors if reg.args.get("cors") is None else _cors(reg.module_ref, reg.args["cors"], reg.line,
                                                                    problems)
    authorizer, scopes = None, tuple[str, ...]()
    if (node := reg.args.get("authorizer")) is not None:
        found = _authorizer(reg, node, chalice_auth, problems)
        if found is not None:
            auth, scopes = found
            authorizers.setdefault(auth.name, auth)
            authorizer = auth.name
    return [Route(path, str(method).upper(), reg.python_name, bool(problems.value(reg, "api_key_required", bool)),
                  tuple(content_types), cors, authorizer, scopes, reg.doc) for method in methods]


def _authorizer(reg: Registration, node: ast.expr, chalice_auth: dict[tuple[str, str], Registration],
                problems: _Problems) -> tuple[Authorizer, tuple[str, ...]] | None:
    module, scopes = reg.module_ref, tuple[str, ...]()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "with_scopes":
        value = module.literal(node.args[0]) if node.args else NOT_LITERAL
        scopes = tuple(value) if isinstance(value, list) else ()
        node = node.func.value
    if isinstance(node, ast.Name) and (module.dotted, node.id) in chalice_auth:
        auth = chalice_auth[(module.dotted, node.id)]
        ttl = problems.value(auth, "ttl_seconds", int)
        return Authorizer(auth.name, "chalice", problems.value(auth, "header", str, "Authorization"), ttl,
                          problems.value(auth, "execution_role", str)), scopes
    call = _assigned(module, node.id) if isinstance(node, ast.Name) else node
    kind = _BUILT_IN.get(_called(call)) if isinstance(call, ast.Call) else None
    if isinstance(call, ast.Call) and kind is not None and (found := _built_in(module, call, kind)) is not None:
        return found[0], scopes or found[1]
    problems.append(f"{module.label} line {reg.line}: authorizer={ast.unparse(node)} is neither an @authorizer "
                    "function nor a Cognito/IAM/Custom authorizer made of literals in this module")
    return None


def _built_in(module: Module, call: ast.Call, kind: str) -> tuple[Authorizer, tuple[str, ...]] | None:
    """A Cognito, IAM or custom authorizer made of literals, and its own scopes; None when one is not a literal."""
    names = {"cognito": ("name", "provider_arns", "header", "scopes"), "iam": (),
             "custom": ("name", "authorizer_uri", "ttl_seconds", "header", "invoke_role_arn", "scopes")}[kind]
    bound = {**dict(zip(names, call.args, strict=False)), **{k.arg: k.value for k in call.keywords if k.arg}}
    values: dict[str, Any] = {key: module.literal(value) for key, value in bound.items()}
    if any(v is NOT_LITERAL for v in values.values()):
        return None
    return Authorizer(str(values.get("name") or "sigv4"), kind, str(values.get("header") or "Authorization"),
                      values.get("ttl_seconds"), values.get("invoke_role_arn"),
                      tuple(values.get("provider_arns") or ()),
                      str(values.get("authorizer_uri") or "")), tuple(values.get("scopes") or ())


def _event(reg: Registration, problems: _Problems) -> EventSource:
    """One event decorator's source, with Chalice's defaults."""
    value, name, kind = problems.value, reg.name, reg.decorator
    if kind == "schedule":
        node = reg.args.get("expression")
        expression = reg.module_ref.show(node) if node is not None else EXPR
        if expression == EXPR:
            problems.append(f"{reg.module_ref.label} line {reg.line}: the schedule is not a literal, Rate or Cron")
        return EventSource("schedule", name, expression=expression, description=value(reg, "description", str, ""))
    if kind == "on_cw_event":
        return EventSource("cloudwatch_event", name, pattern=json.dumps(value(reg, "event_pattern", dict, {})))
    if kind == "on_s3_event":
        return EventSource("s3", name, bucket=value(reg, "bucket", str, ""),
                           events=tuple(value(reg, "events", list, ["s3:ObjectCreated:*"])),
                           prefix=value(reg, "prefix", str, ""), suffix=value(reg, "suffix", str, ""))
    if kind == "on_sns_message":
        return EventSource("sns", name, topic=value(reg, "topic", str, ""))
    window = value(reg, "maximum_batching_window_in_seconds", int, 0)
    if kind == "on_sqs_message":
        return EventSource("sqs", name, queue=value(reg, "queue", str, ""), arn=value(reg, "queue_arn", str, ""),
                           batch_size=value(reg, "batch_size", int, 1), batching_window=window,
                           maximum_concurrency=value(reg, "maximum_concurrency", int))
    if kind in ("on_kinesis_record", "on_dynamodb_record"):
        kinesis = kind == "on_kinesis_record"
        return EventSource("kinesis" if kinesis else "dynamodb", name,
                           stream=value(reg, "stream", str, "") if kinesis else "",
                           arn="" if kinesis else value(reg, "stream_arn", str, ""),
                           batch_size=value(reg, "batch_size", int, 100), batching_window=window,
                           starting_position=value(reg, "starting_position", str, "LATEST"))
    return EventSource("websocket", _WEBSOCKET_NAMES[kind], route=_WEBSOCKET_ROUTES[kind])
