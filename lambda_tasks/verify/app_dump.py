"""Where reading app.py cannot decide (a route's CORS or an event's queue computed at import time): the app's
routes, authorizers and event sources read by importing app.py in the verify sandbox, as Chalice itself does at
package time: the built function zip as /var/task, the layers as /opt, the target's interpreter, the API
function's environment. Only when static reading left problems, and only for deploy and package.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..app_model import WebApp, web_from_dump
from ..manifest import require
from ..report import Reporter
from ..sections import FunctionSettings, Shipping
from . import VerifyResult, _function, _stage, choose_plan, execution, lay_out
from .calls import every_call

MODULE = "_lambda_tasks_app_dump"
#: Runs inside the sandbox (the target's Python, standard library and the app's own chalice runtime only).
SOURCE = '''"""Written by lambda-tasks: the Chalice app's routes and event sources as JSON (verify/app_dump.py)."""
import inspect


def _cors(cors):
    if not cors:
        return None
    return {"allow_origin": cors.allow_origin, "allow_headers": sorted(getattr(cors, "_allow_headers", ())),
            "expose_headers": list(getattr(cors, "_expose_headers", None) or ()),
            "max_age": getattr(cors, "_max_age", None), "allow_credentials": getattr(cors, "_allow_credentials", None)}


def _authorizer(auth):
    kind = type(auth).__name__
    config = getattr(auth, "config", None)
    if kind == "ChaliceAuthorizer":
        return {"name": auth.name, "kind": "chalice", "header": config.header, "ttl_seconds": config.ttl_seconds,
                "credentials": config.execution_role}
    found = {"name": auth.name, "header": getattr(auth, "_header", "Authorization")}
    if kind == "CognitoUserPoolAuthorizer":
        return {**found, "kind": "cognito", "provider_arns": list(auth._provider_arns)}
    if kind == "CustomAuthorizer":
        return {**found, "kind": "custom", "uri": auth._authorizer_uri, "ttl_seconds": auth._ttl_seconds,
                "credentials": auth._invoke_role_arn}
    return {**found, "kind": "iam"}


def dump(event, context):
    import app as module

    app = module.app
    routes = []
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            auth = entry.authorizer
            routes.append({"path": path, "method": method, "view": entry.view_name,
                           "api_key_required": bool(entry.api_key_required), "content_types": entry.content_types,
                           "cors": _cors(entry.cors), "authorizer": _authorizer(auth) if auth else None,
                           "scopes": list(getattr(auth, "scopes", None) or ()),
                           "doc": inspect.getdoc(entry.view_function) or ""})
    events = []
    for source in app.event_sources:
        found = {"type": type(source).__name__, "function": source.name}
        for key, value in vars(source).items():
            value = value.to_string() if hasattr(value, "to_string") else value
            if key not in ("name", "handler_string") and isinstance(value, (str, int, float, list, dict, type(None))):
                found[key] = value
        events.append(found)
    return {"title": app.app_name, "routes": routes, "binary_types": list(app.api.binary_types), "events": events}
'''


def needed(web: WebApp | None) -> bool:
    """Static reading left something to decide."""
    return web is not None and (bool(web.problems) or any(e.problem for e in web.events))


def read_by_import(settings: Shipping, functions: FunctionSettings, web: WebApp, reporter: Reporter, *,
                   regions: Sequence[str] = ()) -> WebApp:
    """``web`` completed by importing app.py in the sandbox (the artifacts ``settings`` names, as the first of
    ``functions`` runs); as it was when the import fails (its problems stand)."""
    manifest = require(settings.manifest_path, settings.output_dir)
    if manifest.image is not None or not functions.function_specs():
        return web
    plan = choose_plan(settings.target, settings.bytecode_python)
    call = dataclasses.replace(every_call(functions)[0], handler=f"{MODULE}.dump")
    region = regions[0] if regions else "us-east-1"
    with tempfile.TemporaryDirectory(prefix="lambda-tasks-app-dump-") as scratch:
        layout = lay_out(Path(scratch), settings.output_dir / manifest.app.path,
                         [settings.output_dir / layer.path for layer in manifest.layers])
        (layout.task / f"{MODULE}.py").write_text(SOURCE, encoding="utf-8")
        stage = _stage(layout, plan, settings.target, region, {}, Reporter(quiet=True), "app.py",
                       VerifyResult([call.handler], " ".join(plan.command), plan.compiled))
        outcome = execution.run(stage, _function(call), b"{}", lambda line: None)
    answer: Any = outcome.answer
    if not outcome.answered or not isinstance(answer, dict):
        error = outcome.error or {}
        reporter.info(f"app.py: importing it to read what its syntax does not say failed: "
                      f"{error.get('errorType', outcome.stopped or 'no answer')}: {error.get('errorMessage', '')}")
        return web
    reporter.info("app.py: what its syntax does not say was read by importing it (as Chalice does), with "
                  f"{' '.join(plan.command)}")
    return web_from_dump(answer, web)
