"""A Chalice app's Lambda functions, read from app.py's syntax tree: the app is never imported on the host.

As Chalice registers (chalice/app.py) and names (deploy/appgraph.py) them: the routes share ``api_handler``
(handler ``app.app``); every other decorated function is its own, named by ``name=`` or its Python name
(``websocket_connect``/``_message``/``_disconnect`` for websockets), handler ``<module>.<python name>``.
Blueprints registered in app.py are read from their modules in the project.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import replace as _replace
from pathlib import Path

from .. import project_paths
from ..errors import ProjectError

API_HANDLER = "api_handler"
_STREAM = " (batch size {batch_size}, starting position {starting_position})"
#: decorator -> (our kind of function, its parameters in order as in chalice/app.py's DecoratorAPI, what Chalice
#: creates around the function that deploy does not: appgraph.py's models)
DECORATORS = {
    "route": ("rest_api", ("path",), ""),
    "lambda_function": ("lambda_function", ("name",), ""),
    "authorizer": ("authorizer", ("ttl_seconds", "execution_role", "name", "header"),
                   "API Gateway authorizer {name} on the REST API (header {header}{ttl_seconds})"),
    "schedule": ("schedule", ("expression", "name", "description"), "EventBridge rule {expression}"),
    "on_s3_event": ("s3", ("bucket", "events", "prefix", "suffix", "name"),
                    "S3 notification on bucket {bucket} ({events}{prefix}{suffix})"),
    "on_sns_message": ("sns", ("topic", "name"), "SNS subscription to topic {topic}"),
    "on_sqs_message": ("sqs", ("queue", "batch_size", "name"),
                       "SQS event source queue {queue}{queue_arn} (batch size {batch_size})"),
    "on_cw_event": ("cloudwatch_event", ("event_pattern", "name"), "EventBridge rule for events {event_pattern}"),
    "on_kinesis_record": ("kinesis", ("stream", "batch_size", "starting_position", "name"),
                          "Kinesis event source stream {stream}" + _STREAM),
    "on_dynamodb_record": ("dynamodb", ("stream_arn", "batch_size", "starting_position", "name"),
                           "DynamoDB stream event source {stream_arn}" + _STREAM),
    "on_ws_connect": ("websocket", ("name",), "API Gateway websocket API route $connect"),
    "on_ws_message": ("websocket", ("name",), "API Gateway websocket API route $default"),
    "on_ws_disconnect": ("websocket", ("name",), "API Gateway websocket API route $disconnect"),
}
#: Chalice's defaults for the arguments shown, and how optional ones are shown when given
_DEFAULTS = {"header": "Authorization", "events": "s3:ObjectCreated:*", "batch_size": "100",
             "starting_position": "LATEST", "prefix": "", "suffix": "", "ttl_seconds": "", "queue": "", "queue_arn": ""}
_SHOWN_AS = {"prefix": ", prefix {}", "suffix": ", suffix {}", "ttl_seconds": ", ttl {} s"}
#: websocket decorator -> (route key, Chalice's fixed function name)
_WEBSOCKET = {"on_ws_connect": ("$connect", "websocket_connect"), "on_ws_message": ("$default", "websocket_message"),
              "on_ws_disconnect": ("$disconnect", "websocket_disconnect")}
_EXPR = "<expression>"
_NOT_LITERAL = object()


@dataclass(frozen=True)
class ChaliceFunction:
    """One Lambda function Chalice would deploy; ``short_name`` keys ``lambda_functions`` in config.json."""

    short_name: str
    python_name: str | None  # None for the REST API's function (all the routes)
    handler: str
    kind: str  # rest_api, lambda_function, schedule, s3, sns, sqs, cloudwatch_event, kinesis, ...
    not_deployed: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChaliceApp:
    """What app.py declares: the app's name (None when not a literal), its variable and its functions."""

    app_name: str | None
    variable: str
    functions: tuple[ChaliceFunction, ...]
    not_deployed: tuple[str, ...] = ()  # app-wide: the websocket API, blueprints that could not be read
    notes: tuple[str, ...] = ()  # one line each: what differs from Chalice or could not be read


@dataclass(frozen=True)
class _Registration:
    decorator: str
    name: str
    python_name: str
    module: str
    args: dict[str, ast.expr]
    module_ref: _Module
    url_prefix: str | None = None


def read_app(path: Path) -> ChaliceApp | None:
    """app.py's Chalice app and functions; None when app.py is absent or does not import chalice."""
    module = _Module.load(path, "app", path.parent)
    if module is None or not module.imports_chalice:
        return None
    apps = module.assigned("Chalice")
    if not apps:
        return ChaliceApp(None, "", (), notes=(
            "app.py imports chalice but creates no Chalice(...) object that lambda-tasks can read: no functions "
            "found; list them in the functions setting",))
    variable, call = next(((v, c) for v, c in apps if v == "app"), apps[0])
    notes: list[str] = []
    if variable != "app":
        notes.append(f"the Chalice object in app.py is {variable!r}, not 'app': chalice deploy would not find it; "
                     f"lambda-tasks uses the handler app.{variable}")
    name_node = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "app_name"), None)
    app_name = module.literal(name_node) if name_node is not None else None
    reader = _Reader(path.parent, notes)
    registrations = reader.collect(module, variable)
    return _assemble(variable, app_name if isinstance(app_name, str) else None, registrations, notes,
                     tuple(reader.unread))


def _assemble(variable: str, app_name: str | None, registrations: list[_Registration], notes: list[str],
              unread: tuple[str, ...]) -> ChaliceApp:
    routes = [r for r in registrations if r.decorator == "route"]
    functions: list[ChaliceFunction] = []
    if routes:
        functions.append(ChaliceFunction(API_HANDLER, None, f"app.{variable}", "rest_api", (_routes_line(routes),)))
    names: dict[str, str] = {}
    sockets: list[str] = []
    for reg in registrations:
        if reg.decorator == "route":
            continue
        short = reg.name
        if reg.decorator == "authorizer" and not routes:
            notes.append(f"authorizer {reg.name!r} ({reg.module}.{reg.python_name}) is not deployed: Chalice deploys "
                         "authorizers only with the REST API, and the app has no routes")
            continue
        if reg.decorator in _WEBSOCKET:
            route_key, short = _WEBSOCKET[reg.decorator]
            if route_key in sockets:
                raise ProjectError(f"app.py has two @{variable}.{reg.decorator} handlers (the second: {reg.module}."
                                   f"{reg.python_name}); Chalice allows one")
            sockets.append(route_key)
        elif short in names:
            raise ProjectError(f"two Chalice functions are named {short!r}: {names[short]} and {reg.module}."
                               f"{reg.python_name}\n  names must be unique, as in Chalice: give one name=\"...\"")
        else:
            names[short] = f"{reg.module}.{reg.python_name}"
        line = _event_line(reg)
        functions.append(ChaliceFunction(short, reg.python_name, f"{reg.module}.{reg.python_name}",
                                         DECORATORS[reg.decorator][0], (line,) if line else ()))
    app_wide = list(unread)
    if sockets:
        app_wide.insert(0, f"API Gateway websocket API (routes {', '.join(sockets)})")
    return ChaliceApp(app_name, variable, tuple(functions), tuple(app_wide), tuple(notes))


class _Reader:
    """Collects the registrations on the app, following ``register_blueprint`` into the project's modules."""

    def __init__(self, project_dir: Path, notes: list[str]) -> None:
        self.project_dir, self.notes, self.unread = project_dir, notes, list[str]()

    def collect(self, module: _Module, variable: str) -> list[_Registration]:
        found: list[_Registration] = []
        for stmt in module.statements():
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found += module.registrations(stmt, variable, self.notes)
            elif (isinstance(stmt, ast.Expr) and isinstance(call := stmt.value, ast.Call)
                  and isinstance(call.func, ast.Attribute) and call.func.attr == "register_blueprint"
                  and isinstance(call.func.value, ast.Name) and call.func.value.id == variable):
                found += self._blueprint(module, call)
        return found

    def _blueprint(self, module: _Module, call: ast.Call) -> list[_Registration]:
        args = {**dict(zip(("blueprint", "name_prefix", "url_prefix"), call.args, strict=False)),
                **{k.arg: k.value for k in call.keywords if k.arg}}
        target = args.get("blueprint")
        prefix, url_prefix = (module.literal(args.get(k)) for k in ("name_prefix", "url_prefix"))
        if not isinstance(prefix, (str, type(None))) or not isinstance(url_prefix, (str, type(None))):
            raise ProjectError(f"app.py line {call.lineno}: register_blueprint's prefix is not a literal string\n"
                               "  lambda-tasks reads app.py without running it: write it as a string")
        regs: list[_Registration] | None = None
        if isinstance(target, ast.Name) and target.id in dict(module.assigned("Blueprint")):
            regs = self._of(module, target.id)  # a blueprint in app.py itself
        else:
            where = module.origin(target)
            regs = self._external(where, 0) if where else None
        if regs is None:
            self.unread.append(f"the functions of blueprint {ast.unparse(target) if target else '?'} (app.py line "
                               f"{call.lineno}): lambda-tasks could not read its module in the project")
            return []
        return [_replace(r, name=(prefix or "") + r.name, url_prefix=url_prefix) for r in regs]

    def _external(self, where: tuple[str, str], depth: int) -> list[_Registration] | None:
        """The registrations of blueprint ``variable`` defined in (or re-exported by) project module ``dotted``."""
        dotted, variable = where
        base = self.project_dir.joinpath(*dotted.split("."))
        path = next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)
        module = _Module.load(path, dotted, self.project_dir) if path and depth < 4 else None
        if module is None:
            return None
        if variable not in dict(module.assigned("Blueprint")):
            origin = module.origin(ast.Name(variable))
            return self._external(origin, depth + 1) if origin else None
        return self._of(module, variable)

    def _of(self, module: _Module, variable: str) -> list[_Registration]:
        """The functions decorated by blueprint ``variable``; its handlers live in Blueprint(import_name)."""
        call = dict(module.assigned("Blueprint"))[variable]
        import_name = module.literal(call.args[0]) if call.args else None
        regs = [r for stmt in module.statements() if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))
                for r in module.registrations(stmt, variable, self.notes)]
        return [_replace(r, module=import_name if isinstance(import_name, str) else module.dotted) for r in regs]


class _Module:
    """One parsed module: the names it binds to chalice, its string constants and its top-level statements."""

    def __init__(self, tree: ast.Module, dotted: str, label: str) -> None:
        self.tree, self.dotted, self.label = tree, dotted, label
        self.classes: dict[str, set[str]] = {"Chalice": set(), "Blueprint": set()}
        self.chalice_modules: set[str] = set()
        self.imports: dict[str, tuple[str, str | None]] = {}  # local name -> (module, attribute or None)
        self.imports_chalice = False
        package = dotted.split(".")[:-1] if not label.endswith("__init__.py") else dotted.split(".")
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "chalice" or alias.name.startswith("chalice."):
                        self.imports_chalice = True
                        self.chalice_modules.add(alias.asname or "chalice")
                    self.imports[alias.asname or alias.name.split(".")[0]] = (alias.name if alias.asname else
                                                                              alias.name.split(".")[0], None)
            elif isinstance(node, ast.ImportFrom):
                source = ".".join([*package[: len(package) - node.level + 1], node.module or ""]).strip(".") \
                    if node.level else node.module or ""
                if source in ("chalice", "chalice.app"):
                    self.imports_chalice = True
                for alias in node.names:
                    if source in ("chalice", "chalice.app") and alias.name in self.classes:
                        self.classes[alias.name].add(alias.asname or alias.name)
                    elif source in ("chalice", "chalice.app") and alias.name == "*":
                        for cls, names in self.classes.items():
                            names.add(cls)
                    self.imports[alias.asname or alias.name] = (source, alias.name)
        self.constants: dict[str, str] = {}  # NAME = "text", assigned once at module level
        for stmt in self.statements():
            value = stmt.value.value if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant) else None
            for target in stmt.targets if isinstance(stmt, ast.Assign) else ():
                if isinstance(target, ast.Name):  # a second assignment or a non-string: not a constant
                    once = isinstance(value, str) and target.id not in self.constants
                    self.constants[target.id] = value if once and isinstance(value, str) else _EXPR
        self.constants = {k: v for k, v in self.constants.items() if v != _EXPR}

    @classmethod
    def load(cls, path: Path | None, dotted: str, project_dir: Path) -> _Module | None:
        label = path.relative_to(project_dir).as_posix() if path and path.is_relative_to(project_dir) else ""
        found = project_paths.file(project_dir, label, "the module") if label else None  # inside, regular
        if found is None:
            return None
        try:  # (read_bytes says what an OSError means)
            tree = ast.parse(found.read_bytes(), filename=str(path))
        except (RecursionError, MemoryError):
            raise project_paths.too_deep(label) from None
        except SyntaxError as exc:
            raise ProjectError(f"{label} has a syntax error at line {exc.lineno}: {exc.msg}\n"
                               f"  {path}:{exc.lineno}: {(exc.text or '').strip()[:120]}\n"
                               "  Lambda could not import it either: fix the line and build again") from None
        except ValueError as exc:  # null bytes
            raise ProjectError(f"{label} cannot be parsed as Python: {exc}\n  in {path}") from None
        return cls(tree, dotted, label)

    def statements(self, body: list[ast.stmt] | None = None) -> Iterator[ast.stmt]:
        """Module-level statements, in order, including those inside if/try/with blocks (not in defs)."""
        for stmt in self.tree.body if body is None else body:
            yield stmt
            if isinstance(stmt, (ast.If, ast.Try, ast.With)):
                for block in (stmt.body, stmt.orelse, stmt.finalbody, *(h.body for h in stmt.handlers)) \
                        if isinstance(stmt, ast.Try) else (stmt.body, getattr(stmt, "orelse", [])):
                    yield from self.statements(block)

    def is_class(self, node: ast.expr, cls: str) -> bool:
        """``node`` names chalice's ``cls``: ``Chalice``, an alias, ``chalice.Chalice`` or ``chalice.app.Chalice``."""
        if isinstance(node, ast.Name):
            return node.id in self.classes[cls]
        if isinstance(node, ast.Attribute) and node.attr == cls:
            inner = node.value
            if isinstance(inner, ast.Attribute) and inner.attr == "app":
                inner = inner.value
            return isinstance(inner, ast.Name) and inner.id in self.chalice_modules
        return False

    def assigned(self, cls: str) -> list[tuple[str, ast.Call]]:
        """Module-level ``name = cls(...)`` (or ``name: T = cls(...)``), in order."""
        found = []
        for stmt in self.statements():
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] \
                if isinstance(stmt, ast.AnnAssign) else []
            value = getattr(stmt, "value", None)
            if isinstance(value, ast.Call) and self.is_class(value.func, cls):
                found += [(t.id, value) for t in targets if isinstance(t, ast.Name)]
        return found

    def origin(self, node: ast.expr | None) -> tuple[str, str] | None:
        """Where an imported object comes from: ``(module, attribute)``."""
        if isinstance(node, ast.Name) and node.id in self.imports:
            module, attribute = self.imports[node.id]
            return (module, attribute) if attribute else None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in self.imports:
            module, attribute = self.imports[node.value.id]
            return (f"{module}.{attribute}" if attribute else module, node.attr)
        return None

    def literal(self, node: ast.expr | None) -> object:
        """The value of a literal (or of a module-level string constant); ``_NOT_LITERAL`` when it is not one."""
        if node is None:
            return None
        if isinstance(node, ast.Name) and node.id in self.constants:
            return self.constants[node.id]
        try:
            return ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return _NOT_LITERAL

    def show(self, node: ast.expr | None, default: str = "") -> str:
        """An argument as a user reads it: literals shown, ``Rate``/``Cron`` as their expression."""
        if node is None:
            return default
        if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
            called = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            if called in ("Rate", "Cron"):
                return _schedule(called, node, self)
        value = self.literal(node)
        if isinstance(value, str):
            return value
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return ", ".join(value)
        if isinstance(value, dict):
            return json.dumps(value)
        return _EXPR if value is _NOT_LITERAL else str(value)

    def registrations(self, func: ast.FunctionDef | ast.AsyncFunctionDef, owner: str,
                      notes: list[str]) -> list[_Registration]:
        """The Chalice registrations among ``func``'s decorators, innermost first (the order Python applies)."""
        found = []
        for dec in reversed(func.decorator_list):
            target = dec.func if isinstance(dec, ast.Call) else dec
            if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                    and target.value.id == owner):
                continue
            decorator, where = target.attr, f"{self.label} line {dec.lineno}"
            if decorator not in DECORATORS:
                if decorator != "middleware":
                    notes.append(f"{where}: @{owner}.{decorator} is not a Chalice decorator: ignored")
                continue
            if not isinstance(dec, ast.Call):
                notes.append(f"{where}: @{owner}.{decorator} without parentheses registers nothing in Chalice; "
                             f"write @{owner}.{decorator}(...)")
                continue
            args = {**dict(zip(DECORATORS[decorator][1], dec.args, strict=False)),
                    **{k.arg: k.value for k in dec.keywords if k.arg}}
            name = self.literal(args.get("name")) if decorator != "route" else None
            name = func.name if name is None else name
            if not isinstance(name, str) or not name:
                raise ProjectError(f"{where}: the name= of @{owner}.{decorator} is not a literal string\n"
                                   "  lambda-tasks reads app.py without running it and names the function from it: "
                                   "write the name as a string")
            found.append(_Registration(decorator, name, func.name, self.dotted, args, self))
        return found


def _schedule(called: str, node: ast.Call, module: _Module) -> str:
    """``Rate(5, unit=Rate.MINUTES)`` -> ``rate(5 minutes)``; ``Cron(0, 10, '*', '*', '?', '*')`` -> ``cron(...)``."""
    names = ("value", "unit") if called == "Rate" else ("minutes", "hours", "day_of_month", "month", "day_of_week",
                                                        "year")
    bound = {**dict(zip(names, node.args, strict=False)), **{k.arg: k.value for k in node.keywords if k.arg}}
    parts = [n.attr if isinstance(n := bound.get(name), ast.Attribute) else module.literal(n) for name in names]
    if any(isinstance(p, bool) or not isinstance(p, (str, int)) for p in parts):
        return _EXPR
    if called == "Rate":  # Rate.to_string: singular for 1
        return f"rate({parts[0]} {str(parts[1]).lower()[:-1] if parts[0] == 1 else str(parts[1]).lower()})"
    return f"cron({' '.join(str(p) for p in parts)})"


def _routes_line(routes: list[_Registration]) -> str:
    shown: list[str] = []
    for reg in routes:
        path = reg.module_ref.show(reg.args.get("path"), "/")
        if reg.url_prefix is not None:  # as Chalice's _register_route joins them
            path = "/".join([reg.url_prefix.rstrip("/"), path.strip("/")]).rstrip("/")
        methods = reg.module_ref.literal(reg.args["methods"]) if "methods" in reg.args else ["GET"]
        ok = isinstance(methods, list) and all(isinstance(m, str) for m in methods)
        shown.append(f"{','.join(map(str, methods)) if ok and isinstance(methods, list) else _EXPR} {path}")
    more = f", ... {len(shown) - 5} more" if len(shown) > 5 else ""
    return f"API Gateway REST API for {len(shown)} route{'s'[:len(shown) - 1]} ({', '.join(shown[:5])}{more})"


def _event_line(reg: _Registration) -> str:
    """What Chalice would create around this function, one line; arguments that are not literals as ``<expression>``."""
    shown = _Shown(_DEFAULTS, name=reg.name, **({"batch_size": "1"} if reg.decorator == "on_sqs_message" else {}))
    for key, node in reg.args.items():
        if reg.module_ref.literal(node) is not None:
            shown[key] = _SHOWN_AS.get(key, "{}").format(reg.module_ref.show(node))
    return DECORATORS[reg.decorator][2].format_map(shown)


class _Shown(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return _EXPR
