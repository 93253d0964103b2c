"""One module of a Chalice project read from its syntax tree: the names it binds to chalice, its string
constants, its top-level statements and the Chalice registrations (decorators) on its functions.

Nothing is imported: values are read where they are literals (or module-level string constants).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .. import project_paths
from ..errors import ProjectError

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
EXPR = "<expression>"
NOT_LITERAL = object()


@dataclass(frozen=True)
class Registration:
    decorator: str
    name: str
    python_name: str
    module: str
    args: dict[str, ast.expr]
    module_ref: Module
    url_prefix: str | None = None
    line: int = 0
    doc: str = ""  # the function's docstring (a route's summary and description)


class Module:
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
                self._add_import(node)
            elif isinstance(node, ast.ImportFrom):
                self._add_import_from(node, package)
        self.constants = _constants(self.statements())  # NAME = "text", assigned once at module level

    def _add_import(self, node: ast.Import) -> None:
        """Record ``import a.b [as c]``: the local name it binds, and whether it is chalice."""
        for alias in node.names:
            if alias.name == "chalice" or alias.name.startswith("chalice."):
                self.imports_chalice = True
                self.chalice_modules.add(alias.asname or "chalice")
            self.imports[alias.asname or alias.name.split(".")[0]] = (alias.name if alias.asname else
                                                                      alias.name.split(".")[0], None)

    def _add_import_from(self, node: ast.ImportFrom, package: list[str]) -> None:
        """Record ``from m import x [as y]`` (``m`` relative to ``package`` where dotted), chalice's classes too."""
        source = ".".join([*package[: len(package) - node.level + 1], node.module or ""]).strip(".") \
            if node.level else node.module or ""
        from_chalice = source in ("chalice", "chalice.app")
        self.imports_chalice = self.imports_chalice or from_chalice
        for alias in node.names:
            if from_chalice and alias.name in self.classes:
                self.classes[alias.name].add(alias.asname or alias.name)
            elif from_chalice and alias.name == "*":
                for cls, names in self.classes.items():
                    names.add(cls)
            self.imports[alias.asname or alias.name] = (source, alias.name)

    @classmethod
    def load(cls, path: Path | None, dotted: str, project_dir: Path) -> Module | None:
        label = path.relative_to(project_dir).as_posix() if path and path.is_relative_to(project_dir) else ""
        found = project_paths.file(project_dir, label, "the module") if label else None  # inside, regular
        if found is None or path is None:
            return None
        try:  # (read_bytes says what an OSError means)
            tree = _parsed(found.read_bytes(), str(path))
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
        """The value of a literal (or of a module-level string constant); ``NOT_LITERAL`` when it is not one."""
        if node is None:
            return None
        if isinstance(node, ast.Name) and node.id in self.constants:
            return self.constants[node.id]
        try:
            return ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return NOT_LITERAL

    def show(self, node: ast.expr | None, default: str = "") -> str:
        """An argument as a user reads it: literals shown, ``Rate``/``Cron`` as their expression."""
        if node is None:
            return default
        if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
            called = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            if called in ("Rate", "Cron"):
                return schedule_expression(called, node, self)
        value = self.literal(node)
        if isinstance(value, str):
            return value
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return ", ".join(value)
        if isinstance(value, dict):
            return json.dumps(value)
        return EXPR if value is NOT_LITERAL else str(value)

    def registrations(self, func: ast.FunctionDef | ast.AsyncFunctionDef, owner: str,
                      notes: list[str]) -> list[Registration]:
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
            found.append(Registration(decorator, name, func.name, self.dotted, args, self, line=dec.lineno,
                                      doc=ast.get_docstring(func) or ""))
        return found


def schedule_expression(called: str, node: ast.Call, module: Module) -> str:
    """``Rate(5, unit=Rate.MINUTES)`` -> ``rate(5 minutes)``; ``Cron(0, 10, '*', '*', '?', '*')`` -> ``cron(...)``."""
    names = ("value", "unit") if called == "Rate" else ("minutes", "hours", "day_of_month", "month", "day_of_week",
                                                        "year")
    bound = {**dict(zip(names, node.args, strict=False)), **{k.arg: k.value for k in node.keywords if k.arg}}
    parts = [n.attr if isinstance(n := bound.get(name), ast.Attribute) else module.literal(n) for name in names]
    if any(isinstance(p, bool) or not isinstance(p, (str, int)) for p in parts):
        return EXPR
    if called == "Rate":  # Rate.to_string: singular for 1
        return f"rate({parts[0]} {str(parts[1]).lower()[:-1] if parts[0] == 1 else str(parts[1]).lower()})"
    return f"cron({' '.join(str(p) for p in parts)})"


#: Syntax trees by (file name, exact bytes): a build reads app.py's modules up to three times (the settings, the
#: functions, the build); the same bytes are parsed once. Never mutated (the readers only walk them).
_TREES: dict[tuple[str, bytes], ast.Module] = {}


def _parsed(data: bytes, filename: str) -> ast.Module:
    key = (filename, data)
    tree = _TREES.get(key)
    if tree is None:
        tree = ast.parse(data, filename=filename)
        if len(_TREES) >= 64:  # a long-lived process (the tests) reading many projects
            _TREES.clear()
        _TREES[key] = tree
    return tree


def _constants(statements: Iterable[ast.stmt]) -> dict[str, str]:
    """The module-level names assigned a string once (a second assignment or a non-string: not a constant)."""
    found: dict[str, str] = {}
    for stmt in statements:
        value = stmt.value.value if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant) else None
        for target in stmt.targets if isinstance(stmt, ast.Assign) else ():
            if isinstance(target, ast.Name):
                once = isinstance(value, str) and target.id not in found
                found[target.id] = value if once and isinstance(value, str) else EXPR
    return {k: v for k, v in found.items() if v != EXPR}
