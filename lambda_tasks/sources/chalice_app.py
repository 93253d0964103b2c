"""A Chalice app's Lambda functions, read from app.py's syntax tree: the app is never imported on the host.

As Chalice registers (chalice/app.py) and names (deploy/appgraph.py) them: the routes share ``api_handler``
(handler ``app.app``); every other decorated function is its own, named by ``name=`` or its Python name
(``websocket_connect``/``_message``/``_disconnect`` for websockets), handler ``<module>.<python name>``.
Blueprints registered in app.py are read from their modules in the project.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from dataclasses import replace as _replace
from pathlib import Path

from ..app_model import WebApp
from ..errors import ProjectError
from .chalice_events import web_app
from .chalice_module import DECORATORS, EXPR, Module, Registration

API_HANDLER = "api_handler"
_DEFAULTS = {"header": "Authorization", "events": "s3:ObjectCreated:*", "batch_size": "100",
             "starting_position": "LATEST", "prefix": "", "suffix": "", "ttl_seconds": "", "queue": "", "queue_arn": ""}
_SHOWN_AS = {"prefix": ", prefix {}", "suffix": ", suffix {}", "ttl_seconds": ", ttl {} s"}
#: websocket decorator -> (route key, Chalice's fixed function name)
_WEBSOCKET = {"on_ws_connect": ("$connect", "websocket_connect"), "on_ws_message": ("$default", "websocket_message"),
              "on_ws_disconnect": ("$disconnect", "websocket_disconnect")}


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
    not_deployed: tuple[str, ...] = ()  # app-wide: blueprints that could not be read
    notes: tuple[str, ...] = ()  # one line each: what differs from Chalice or could not be read
    web: WebApp | None = None  # the REST API's routes and the event sources


def read_app(path: Path) -> ChaliceApp | None:
    """app.py's Chalice app and functions; None when app.py is absent or does not import chalice."""
    module = Module.load(path, "app", path.parent)
    if module is None:
        return None
    helper = None if module.imports_chalice else _helper_app(module, path.parent)
    if not module.imports_chalice and helper is None:
        return None
    if helper is not None:  # app.py imports the app object from a module of the project (which imports chalice)
        return _from_helper(module, path.parent, *helper)
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
    modules = _Linker(path.parent).linked(module, ("app", variable))
    registrations = [r for linked, name in modules for r in reader.collect(linked, name)]
    title = app_name if isinstance(app_name, str) else None
    found = _assemble(variable, title, registrations, notes, tuple(reader.unread))
    return _replace(found, web=web_app(title or "", modules, registrations))


def _helper_app(module: Module, project_dir: Path) -> tuple[str, Module, str, ast.Call] | None:
    """``from chalicelib.core import app``: the name app.py binds, the project module that makes the Chalice object,
    its name there and the call; ``app`` first, as Chalice looks for it."""
    linker = _Linker(project_dir)
    found = [(local, *made) for local, (source, attribute) in module.imports.items() if attribute
             and (made := linker.maker(source, attribute)) is not None]
    return next((f for f in found if f[0] == "app"), found[0] if found else None)


class _Linker:
    """The project's modules reachable by imports from app.py, and the names each binds to the app object."""

    def __init__(self, project_dir: Path) -> None:
        self.project_dir = project_dir
        self.modules: dict[str, Module | None] = {}

    def load(self, dotted: str) -> Module | None:
        if dotted not in self.modules:
            base = self.project_dir.joinpath(*dotted.split("."))
            file = next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)
            self.modules[dotted] = Module.load(file, dotted, self.project_dir) if file else None
        return self.modules[dotted]

    def maker(self, source: str, name: str, depth: int = 0) -> tuple[Module, str, ast.Call] | None:
        """The module that makes ``source.name`` a Chalice object (following re-exports), its name there, the call."""
        module = self.load(source) if depth < 4 else None
        if module is None:
            return None
        made = dict(module.assigned("Chalice"))
        if module.imports_chalice and name in made:
            return module, name, made[name]
        origin = module.origin(ast.Name(name))
        return self.maker(*origin, depth + 1) if origin else None

    def linked(self, start: Module, identity: tuple[str, str]) -> list[tuple[Module, str]]:
        """(module, the name it binds to the app ``identity`` = (maker module, name)), app.py's first."""
        self.modules.setdefault(start.dotted, start)
        found: list[tuple[Module, str]] = []
        queue, seen = [start], {start.dotted}
        while queue:
            module = queue.pop(0)
            names = [identity[1]] if module.dotted == identity[0] else []
            names += [local for local, (source, attribute) in module.imports.items() if attribute and local not in
                      names and self._is(source, attribute, identity)]
            found += [(module, name) for name in names]
            for dotted in _imported(module):
                if dotted not in seen and self.load(dotted) is not None:
                    seen.add(dotted)
                    queue.append(self.modules[dotted])  # type: ignore[arg-type]
        return found

    def _is(self, source: str, attribute: str, identity: tuple[str, str]) -> bool:
        if (source, attribute) == identity:
            return True
        made = self.maker(source, attribute)
        return made is not None and (made[0].dotted, made[1]) == identity


def _imported(module: Module) -> list[str]:
    """The dotted names of the modules ``module`` may import (``from a import b``: ``a`` and ``a.b``)."""
    found: list[str] = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    for source, attribute in module.imports.values():
        found += [source, *([f"{source}.{attribute}"] if attribute else [])]
    return [name for name in dict.fromkeys(found) if name and name != "chalice" and not name.startswith("chalice.")]


def _from_helper(module: Module, project_dir: Path, variable: str, helper: Module, name: str,
                 call: ast.Call) -> ChaliceApp:
    """The app whose object ``helper`` makes as ``name`` and app.py imports as ``variable``: the functions decorated
    in either (handlers in the module that defines them)."""
    notes: list[str] = []
    if variable != "app":
        notes.append(f"app.py imports the Chalice object as {variable!r}, not 'app': chalice deploy would not find "
                     f"it; lambda-tasks uses the handler app.{variable}")
    name_node = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "app_name"), None)
    app_name = helper.literal(name_node) if name_node is not None else None
    title = app_name if isinstance(app_name, str) else None
    reader = _Reader(project_dir, notes)
    modules = _Linker(project_dir).linked(module, (helper.dotted, name))
    registrations = [r for linked, bound in modules for r in reader.collect(linked, bound)]
    found = _assemble(variable, title, registrations, notes, tuple(reader.unread))
    return _replace(found, web=web_app(title or "", modules, registrations))


def _assemble(variable: str, app_name: str | None, registrations: list[Registration], notes: list[str],
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
    return ChaliceApp(app_name, variable, tuple(functions), tuple(unread), tuple(notes))


def _registers(node: ast.AST, variable: str) -> bool:
    """``<variable>.register_blueprint(...)``."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "register_blueprint" and isinstance(node.func.value, ast.Name)
            and node.func.value.id == variable)


class _Reader:
    """Collects the registrations on the app, following ``register_blueprint`` into the project's modules."""

    def __init__(self, project_dir: Path, notes: list[str]) -> None:
        self.project_dir, self.notes, self.unread = project_dir, notes, list[str]()

    def collect(self, module: Module, variable: str) -> list[Registration]:
        """The functions decorated at module level and the blueprints registered on ``variable``: at module level
        in order, then those registered anywhere else (inside a function: Chalice registers them when it runs)."""
        found: list[Registration] = []
        top: set[int] = set()
        for stmt in module.statements():
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found += module.registrations(stmt, variable, self.notes)
            elif isinstance(stmt, ast.Expr) and _registers(stmt.value, variable):
                assert isinstance(stmt.value, ast.Call)
                top.add(id(stmt.value))
                found += self._blueprint(module, stmt.value)
        nested = [node for node in ast.walk(module.tree) if isinstance(node, ast.Call) and _registers(node, variable)
                  and id(node) not in top]
        for call in sorted(nested, key=lambda node: (node.lineno, node.col_offset)):
            found += self._blueprint(module, call)
        return found

    def _blueprint(self, module: Module, call: ast.Call) -> list[Registration]:
        args = {**dict(zip(("blueprint", "name_prefix", "url_prefix"), call.args, strict=False)),
                **{k.arg: k.value for k in call.keywords if k.arg}}
        target = args.get("blueprint")
        prefix, url_prefix = (module.literal(args.get(k)) for k in ("name_prefix", "url_prefix"))
        if not isinstance(prefix, (str, type(None))) or not isinstance(url_prefix, (str, type(None))):
            raise ProjectError(f"app.py line {call.lineno}: register_blueprint's prefix is not a literal string\n"
                               "  lambda-tasks reads app.py without running it: write it as a string")
        regs: list[Registration] | None = None
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

    def _external(self, where: tuple[str, str], depth: int) -> list[Registration] | None:
        """The registrations of blueprint ``variable`` defined in (or re-exported by) project module ``dotted``."""
        dotted, variable = where
        base = self.project_dir.joinpath(*dotted.split("."))
        path = next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)
        module = Module.load(path, dotted, self.project_dir) if path and depth < 4 else None
        if module is None:
            return None
        if variable not in dict(module.assigned("Blueprint")):
            origin = module.origin(ast.Name(variable))
            return self._external(origin, depth + 1) if origin else None
        return self._of(module, variable)

    def _of(self, module: Module, variable: str) -> list[Registration]:
        """The functions decorated by blueprint ``variable``; its handlers live in Blueprint(import_name)."""
        call = dict(module.assigned("Blueprint"))[variable]
        import_name = module.literal(call.args[0]) if call.args else None
        regs = [r for stmt in module.statements() if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))
                for r in module.registrations(stmt, variable, self.notes)]
        return [_replace(r, module=import_name if isinstance(import_name, str) else module.dotted) for r in regs]

def _routes_line(routes: list[Registration]) -> str:
    shown: list[str] = []
    for reg in routes:
        path = reg.module_ref.show(reg.args.get("path"), "/")
        if reg.url_prefix is not None:  # as Chalice's _register_route joins them
            path = "/".join([reg.url_prefix.rstrip("/"), path.strip("/")]).rstrip("/")
        methods = reg.module_ref.literal(reg.args["methods"]) if "methods" in reg.args else ["GET"]
        ok = isinstance(methods, list) and all(isinstance(m, str) for m in methods)
        shown.append(f"{','.join(map(str, methods)) if ok and isinstance(methods, list) else EXPR} {path}")
    more = f", ... {len(shown) - 5} more" if len(shown) > 5 else ""
    return f"API Gateway REST API for {len(shown)} route{'s'[:len(shown) - 1]} ({', '.join(shown[:5])}{more})"


def _event_line(reg: Registration) -> str:
    """What Chalice would create around this function, one line; arguments that are not literals as ``<expression>``."""
    shown = _Shown(_DEFAULTS, name=reg.name, **({"batch_size": "1"} if reg.decorator == "on_sqs_message" else {}))
    for key, node in reg.args.items():
        if reg.module_ref.literal(node) is not None:
            shown[key] = _SHOWN_AS.get(key, "{}").format(reg.module_ref.show(node))
    return DECORATORS[reg.decorator][2].format_map(shown)


class _Shown(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return EXPR
