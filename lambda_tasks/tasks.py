"""The Invoke tasks, made from the commands declared in ``frontend.py``. A project's own tasks.py is one line:
``from lambda_tasks.tasks import ns``.

Each task's arguments are made from its flags (``flags.py``): typed, with the same short flags everywhere. The
task runs the command through ``frontend.run``; our errors become a one-line ``error: ...`` on stderr and exit
code 1, Ctrl-C exit code 130, with no traceback; anything else is a bug and keeps its traceback. The console
script and the Nox sessions parse with these same arguments (:func:`parser_context`).
"""

from __future__ import annotations

import difflib
import inspect
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from . import up_to_date

# `invoke build` imports this module first: a no-op the last build's stamp decides ends here, before the settings
# and the command layer load (start-up time)
if os.path.basename(sys.argv[0]) in ("invoke", "inv") and up_to_date.fast_path("invoke", sys.argv[1:],
                                                                                     up_to_date.importer()):
    sys.exit(0)

from invoke.collection import Collection
from invoke.config import Config
from invoke.context import Context
from invoke.exceptions import Exit, ParseError
from invoke.parser.argument import Argument
from invoke.parser.context import ParserContext
from invoke.program import Program
from invoke.tasks import Task

from . import framework, frontend, stamp_commit
from .config import Settings, setting_names, table_settings
from .errors import SettingsError
from .flags import COMMANDS, Command, Flag
from .pyproject_table import near_name


class FlagArgument(Argument):
    """An Invoke argument made from a Flag. A whole-number flag refuses anything else with a one-line parse
    error (Invoke's own int() would raise a traceback); a repeatable flag is Invoke's list kind, whose help
    Invoke prints without a value, so its help text starts with the placeholder."""

    def __init__(self, flag: Flag) -> None:
        names = (flag.key, flag.short) if flag.short else (flag.key,)  # Invoke writes project_dir as --project-dir
        text = f"{flag.placeholder}, repeatable: {flag.help}" if flag.repeat else flag.help
        super().__init__(names=names, kind=list if flag.repeat else flag.kind, default=flag.default, help=text)
        self.flag = flag

    def set_value(self, value: Any, cast: bool = True) -> None:
        if self.flag.kind is int and cast:
            try:
                value = int(value)
            except ValueError:
                raise ParseError(f"--{self.flag.name} takes a whole number ({self.flag.placeholder}), "
                                 f"not {value!r}") from None
        super().set_value(value, cast)

    def __deepcopy__(self, memo: dict[int, Any]) -> FlagArgument:
        """Invoke's parser deep-copies every context it is given (twice a run): a copy of the attributes is
        enough, all immutable but a list value (of a repeatable flag), which is copied."""
        clone = object.__new__(type(self))
        lists: dict[int, list[Any]] = {}  # raw_value and _value start as the same list: they stay one
        clone.__dict__.update({key: lists.setdefault(id(value), list(value)) if isinstance(value, list) else value
                               for key, value in vars(self).items()})
        return clone

    def __repr__(self) -> str:  # Invoke's parse errors name the flag by its repr: "Flag '--runtime' needed value"
        return repr(f"--{self.flag.name}")


class FlagContext(ParserContext):
    """A parser context whose help shows each flag's placeholder (``-p DIR, --project-dir=DIR``) where Invoke
    shows STRING or INT. The console script and the Nox sessions use it; the ``invoke`` command copies our
    tasks into its own Collection and prints Invoke's STRING/INT."""

    def help_for(self, flag: str) -> tuple[str, str]:
        names, text = super().help_for(flag)
        argument = self.flags[flag]
        if isinstance(argument, FlagArgument) and argument.flag.placeholder:
            found = argument.flag
            names = ", ".join([f"-{found.short} {found.placeholder}"] * bool(found.short)
                              + [f"--{found.name}={found.placeholder}"])
            text = found.help
        return names, text


def parser_context(name: str) -> FlagContext:
    """A fresh parser context for command ``name`` (parsing fills it in)."""
    return FlagContext(name=name, args=[FlagArgument(flag) for flag in COMMANDS[name].flags])


class FlagTask(Task):  # type: ignore[type-arg]  # Invoke's Task is generic over its body in its stubs only
    """An Invoke task made from a Command: its arguments are the command's flags, its docstring the help."""

    def __init__(self, declared: Command) -> None:
        def body(c: Context, **values: Any) -> None:
            try:
                check_config_keys(list(c.config.keys()))
            except SettingsError as exc:
                raise Exit(f"error: {exc}", code=1) from None
            configured = plain(c.config.get("lambda_tasks") or {})
            outcome = frontend.run(declared.name, values, configured)
            if outcome.code:
                raise Exit(outcome.message, code=outcome.code)
            # a build from the command line succeeded: its stamp, with what Invoke parsed (up_to_date.py)
            stamp_commit.commit((declared.name, values, configured))

        body.__name__ = body.__qualname__ = declared.name.replace("-", "_")
        body.__doc__ = declared.doc
        # Invoke reads the body's signature: every flag is a keyword with a default (none is positional)
        keyword = inspect.Parameter.KEYWORD_ONLY
        body.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter("c", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
            + [inspect.Parameter(flag.key, keyword, default=flag.default) for flag in declared.flags])
        super().__init__(body, name=body.__name__)
        self.command = declared

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        return [FlagArgument(flag) for flag in self.command.flags]


class FlagCollection(Collection):
    """Our tasks, whose parser contexts print placeholders in help (the console script runs it as is)."""

    def to_contexts(self, ignore_unknown_help: bool | None = None) -> list[ParserContext]:
        return [FlagContext(name=primary, aliases=aliases,
                            args=self[primary].get_arguments(ignore_unknown_help=ignore_unknown_help))
                for primary, aliases in self.task_names.items()]


def plain(value: Any) -> Any:
    """Invoke's DataProxy -> plain dicts, so settings see ordinary values."""
    if hasattr(value, "items"):
        return {k: plain(v) for k, v in value.items()}
    return value


def check_config_keys(config: Iterable[str]) -> None:
    """A near miss of ``lambda_tasks`` in Invoke's config (``lambda-tasks:`` in invoke.yaml) is an error: its
    settings would be ignored without a word."""
    for key in config:
        if near_name(str(key), "lambda_tasks"):
            raise SettingsError(f"{key!r} in Invoke's config (invoke.yaml) is not read; did you mean 'lambda_tasks'?"
                                "\n  rename it: lambda-tasks' settings go under lambda_tasks:")
    for name in table_settings():  # Invoke reads no variable for a key it was not given: say so, not ignore it
        if f"INVOKE_LAMBDA_TASKS_{name.upper()}" in os.environ:
            raise SettingsError(f"INVOKE_LAMBDA_TASKS_{name.upper()} is not read: {name} is a table\n"
                                f"  set {name} in invoke.yaml (lambda_tasks:) or in [tool.lambda-tasks]")


def invoke_config(cwd: Path) -> dict[str, Any]:
    """The ``lambda_tasks`` values of Invoke's config as the ``invoke`` command run in ``cwd`` reads them: the
    system, user and project invoke.yaml files and INVOKE_LAMBDA_TASKS_<KEY> variables (for the Nox sessions)."""
    config = Config(project_location=cwd)
    config.load_collection(ns.configuration())
    config.load_project()
    config.load_shell_env()
    values: dict[str, Any] = plain(config.get("lambda_tasks") or {})
    return values


# -- for tasks written with Invoke's @task that are not yet declared in frontend.py (declare them there instead)


def settings_for(c: Any, *, sticky: bool = False, **flags: Any) -> Settings:
    """Settings from a task's flags over Invoke's config (``lambda_tasks``) over pyproject.toml."""
    return framework.project_settings(Path.cwd(), plain(c.config.get("lambda_tasks") or {}), flags, sticky=sticky)


def collection(declared: Mapping[str, Command] = COMMANDS) -> FlagCollection:
    """A task per command, in declaration order; the first is the default collection's first."""
    made = FlagCollection()
    # Every setting is declared (as None: "not given") so that Invoke also reads INVOKE_LAMBDA_TASKS_<KEY> variables;
    # but not a table (environment, tags, ...): Invoke cannot merge invoke.yaml's table onto None, nor read a table
    # from a variable.
    made.configure({"lambda_tasks": dict.fromkeys(sorted(set(setting_names()) - set(table_settings())))})
    for one in declared.values():
        made.add_task(FlagTask(one))
    return made


ns = collection()
build, verify, publish_layer, deploy, lock = (ns.tasks[name] for name in
                                              ("build", "verify", "publish-layer", "deploy", "lock"))


# -- parse errors in our one-line format, with "did you mean" (the console script, the Nox sessions, and the
# `invoke` command over our tasks)

_UNKNOWN = re.compile(r"No idea what '(.*)' is!")
_NO_VALUE = re.compile(r"Flag '(.*)' needed value and was not given one!")


def explain(exc: ParseError, commands: Mapping[str, Command], names: list[str]) -> str:
    """Invoke's parse error as our first line (no ``error:``), with the nearest flag or command: ``commands``
    maps task names to our commands, ``names`` are every task's names (for an unknown command)."""
    message = str(exc)
    context = getattr(exc, "context", None)
    declared = commands.get(getattr(context, "name", None) or "")
    if missing := _NO_VALUE.fullmatch(message):
        flag = declared.flag(missing.group(1).lstrip("-")) if declared else None
        return f"{missing.group(1)} needs a value" + (f" ({flag.placeholder})" if flag else "")
    unknown = _UNKNOWN.fullmatch(message)
    if unknown is None:
        return message
    token = unknown.group(1)
    if token.startswith("-"):
        if declared is None:
            flags = {f"--{flag.name}" for command in commands.values() for flag in command.flags}
            where = "flags go after the command: " if token.split("=")[0] in flags else ""
            return f"unknown option {token}; {where}see --help"
        near = difflib.get_close_matches(token.split("=")[0], [f"--{flag.name}" for flag in declared.flags], n=2)
        hint = f"; did you mean {' or '.join(near)}?" if near else ""
        return f"unknown flag {token} for {context.name}{hint}\n  its flags: --help {context.name}"  # type: ignore[union-attr]
    if declared is not None:
        near = difflib.get_close_matches(token, names, n=1)
        hint = f"; did you mean the command {near[0]!r}?" if near else ""
        return f"{context.name} takes no argument {token!r}, only flags{hint}"  # type: ignore[union-attr]
    near = difflib.get_close_matches(token, names, n=2)
    hint = f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
    return f"unknown command {token!r}{hint}\n  commands: {', '.join(names)}"


def _ours(program: Program) -> tuple[dict[str, Command], list[str]] | None:
    """The program's tasks made from our commands (by task name) and every task name; None when it has none."""
    collection = getattr(program, "collection", None)
    if collection is None:
        return None
    names = list(collection.task_names)
    found = {name: collection[name].command for name in names if isinstance(collection[name], FlagTask)}
    return (found, names) if found else None


def _explaining(method: Any) -> Any:
    def run(program: Program) -> None:
        try:
            method(program)
        except ParseError as exc:
            ours = _ours(program)
            if ours is None:
                raise
            raise ParseError("error: " + explain(exc, *ours), getattr(exc, "context", None)) from None
        except BrokenPipeError:  # `invoke --list | head`: the reader left; nothing more to say, no traceback
            if _ours(program) is None:
                raise
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise Exit(code=1) from None

    run.explains = True  # type: ignore[attr-defined]
    return run


def explain_parse_errors(program: type[Program] = Program) -> None:
    """Make Invoke's Program word parse errors as ours, and end quietly on a closed pipe, when the tasks are ours:
    the `invoke` command loads our tasks.py before parsing the tasks' flags, so this runs in time; a program whose
    tasks are not ours keeps Invoke's words. Done once, when this module is imported."""
    for name in ("parse_tasks", "parse_cleanup"):
        method = getattr(program, name)
        if not getattr(method, "explains", False):
            setattr(program, name, _explaining(method))


explain_parse_errors()
