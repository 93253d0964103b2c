"""The commands as Nox sessions. A project's noxfile.py needs one line:

    from lambda_tasks.nox import add_sessions; add_sessions(globals())

``nox -s build -- --runtime python3.12 --arch arm64``: the flags after ``--`` are parsed by the same Invoke
arguments as the tasks' (``tasks.parser_context``), the settings are the same (pyproject.toml, invoke.yaml,
INVOKE_LAMBDA_TASKS_<KEY>), and a failing session ends with our one-line error, not a traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

try:
    import nox
except ImportError:  # one line, and the way out
    raise ImportError("lambda_tasks.nox needs Nox in the environment Nox runs in: pip install nox (lambda-tasks "
                      "is not on PyPI: pip install '<path to a lambda-tasks clone>[nox]')", name="nox") from None

import textwrap

from invoke.exceptions import ParseError
from invoke.parser import Parser

from . import frontend
from .flags import COMMANDS
from .tasks import explain, invoke_config, parser_context

#: The sessions add_sessions() registers when not told which: every command but ``lock``, a one-off.
SESSIONS = ("build", "verify", "publish-layer", "deploy")


def add_sessions(namespace: MutableMapping[str, Any] | None = None, *, prefix: str = "",
                 commands: Iterable[str] = SESSIONS, names: Mapping[str, str] | None = None) -> list[str]:
    """Register a Nox session for each command: named ``prefix + command`` (``names`` maps a command to another
    name), run in Nox's own environment (lambda-tasks is installed there: no virtualenv of their own), and not
    run by a bare ``nox`` (``default=False``: a deploy runs only when asked for). The session functions are also
    put in ``namespace`` (pass ``globals()``), so a noxfile can call them. Returns the session names."""
    made = []
    for name in commands:
        if name not in COMMANDS:
            raise ValueError(f"no lambda-tasks command {name!r}; commands: {', '.join(COMMANDS)}")
        session_name = (names or {}).get(name, prefix + name)
        function = nox.session(name=session_name, venv_backend="none", default=False)(_session(name))
        if namespace is not None:
            namespace[session_name.replace("-", "_")] = function
        made.append(session_name)
    return made


def _session(name: str) -> Callable[[nox.Session], None]:
    def session(session: nox.Session) -> None:
        run_session(session, name)

    session.__name__ = session.__qualname__ = name.replace("-", "_")
    session.__doc__ = COMMANDS[name].doc  # nox --list shows its first line
    return session


def run_session(session: nox.Session, name: str) -> None:
    """Parse the session's arguments (after ``--``) as command ``name``'s flags and run it: an error aborts
    the session with its first line (the rest on stderr), Ctrl-C is Nox's (exit code 130)."""
    if not os.environ.get("INVOKE_DEBUG"):  # Nox logs at debug level: Invoke's parser would narrate every token
        logging.getLogger("invoke").setLevel(logging.INFO)
    if any(arg in ("-h", "--help") for arg in session.posargs):
        sys.stdout.write(help_text(name))
        return
    try:
        values = parse(name, session.posargs)
    except ParseError as exc:  # our words, with "did you mean" (tasks.explain)
        session.error(explain(exc, {name: COMMANDS[name]}, list(COMMANDS)))
    outcome = frontend.run(name, values, invoke_config(Path.cwd()))
    if outcome.code == 130:
        sys.stderr.write(outcome.message + "\n")
        raise KeyboardInterrupt
    if outcome.code:
        first, _, rest = outcome.message.removeprefix("error: ").partition("\n")
        if rest:
            sys.stderr.write(rest + "\n")
        session.error(first)


def parse(name: str, args: Iterable[str]) -> dict[str, Any]:
    """Command ``name``'s flag values (by key) from ``args``, by Invoke's parser over the tasks' arguments;
    ParseError for what it does not take."""
    context = parser_context(name)
    result = Parser(contexts=[context]).parse_argv([name, *args])
    parsed: dict[str, Any] = result[0].as_kwargs
    return parsed


def help_text(name: str) -> str:
    """What ``nox -s <name> -- --help`` prints: the command's help and its flags, as ``lambda-tasks --help``."""
    rows = parser_context(name).help_tuples()
    width = max(len(flags) for flags, _ in rows) + 2
    lines = [f"Usage: nox -s <session> -- [--options]   (lambda-tasks {name})", "",
             textwrap.indent(COMMANDS[name].doc, "  "), "", "Options:"]
    for flags, text in rows:
        wrapped = textwrap.wrap(text or "", 100 - width - 2) or [""]
        lines.append(f"  {flags:<{width}}{wrapped[0]}")
        lines += [" " * (width + 2) + more for more in wrapped[1:]]
    return "\n".join(lines) + "\n"
