"""The command line, declared once: every flag (name, kind, placeholder, help, short flag, the setting it feeds)
and every command (its name, its flags, its help, what it runs).

The Invoke tasks (``tasks.py``), the ``lambda-tasks`` console script (``cli.py``) and the Nox sessions
(``nox.py``) are all made from :data:`COMMANDS`, so they cannot drift; :func:`check` keeps a short flag meaning
one thing in every command. The commands themselves are declared with :func:`command` in ``frontend.py``.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Flag:
    """One flag. ``kind`` is ``str`` or ``int`` for a flag that takes a value (named ``placeholder`` in help),
    ``bool`` for a switch. ``setting``: the Settings key the value feeds ("" when the command takes it itself;
    a switch that feeds a setting sets it true when given). ``repeat``: given several times, a list."""

    name: str
    help: str
    placeholder: str = ""
    kind: type = str
    short: str = ""
    setting: str = ""
    repeat: bool = False

    def __post_init__(self) -> None:
        if self.kind not in (str, int, bool):
            raise ValueError(f"flag --{self.name}: kind must be str, int or bool")
        if (self.kind is bool) == bool(self.placeholder):
            raise ValueError(f"flag --{self.name}: a switch has no placeholder, a value flag needs one")
        if len(self.short) > 1 or (self.repeat and self.kind is bool):
            raise ValueError(f"flag --{self.name}: a short flag is one letter; a switch cannot repeat")

    def __deepcopy__(self, memo: dict[int, Any]) -> Flag:  # immutable: Invoke's parser deep-copies every context
        return self

    @property
    def key(self) -> str:
        """The Python name, as the task body and the command's options see it: ``project_dir``."""
        return self.name.replace("-", "_")

    @property
    def default(self) -> Any:
        """The value when the flag is not given: off for a switch, an empty list, else None (not given)."""
        return False if self.kind is bool else [] if self.repeat else None

    def but(self, **changes: Any) -> Flag:
        """The same flag with another help text (or setting) in one command: ``HANDLER.but(help=...)``."""
        return dataclasses.replace(self, **changes)


# -- the flags several commands share; a short flag means the same thing in every command that has it
PROJECT_DIR = Flag("project-dir", "the app's directory (app.py, chalicelib/, requirements.txt, vendor/); default: "
                   "settings, or '.'", "DIR", short="p", setting="project_dir")
RUNTIME = Flag("runtime", "Lambda runtime: python3.10 .. python3.14 (default: settings, else the last build's, "
               "else this Python)", "RUNTIME", short="r", setting="runtime")
ARCH = Flag("arch", "Lambda architecture: x86_64 (default) or arm64", "ARCH", short="a", setting="arch")
QUIET = Flag("quiet", "print only warnings and errors", kind=bool, short="q")
JSON = Flag("json", "print one JSON summary on stdout when done; progress and notes go to stderr", kind=bool,
            short="j")
NO_WAIT = Flag("no-wait", "fail at once when another lambda-tasks command is using this output directory "
               "(default: wait)", kind=bool, short="n")
FORCE = Flag("force", "rebuild everything and resolve requirements again, even when nothing changed", kind=bool,
             short="f")
BYTECODE = Flag("bytecode", "ship unchecked-hash .pyc files (needs the runtime's exact Python version on this host)",
                kind=bool, short="b", setting="bytecode")
STAGE = Flag("stage", "the Chalice stage to deploy: names the functions and picks .chalice/config.json's values "
             "(default: settings, else dev)", "STAGE", short="s", setting="stage")
REGION = Flag("region", "an AWS region to publish/deploy in; repeat for several (default: settings' regions, "
              "else AWS_REGION)", "REGION", setting="regions", repeat=True)
S3_BUCKET = Flag("s3-bucket", "upload zips through this S3 bucket (same region; may contain {region}); needed "
                 "over 50 MiB", "BUCKET", setting="s3_bucket")
PLAN = Flag("plan", "print what would be published and updated, change nothing in AWS", kind=bool)
HANDLER = Flag("handler", "the handler, module.function (default: settings, else app.handler; Chalice: the app "
               "object, app.app)", "MODULE.FUNCTION", setting="handler")
EVENT = Flag("event", "a JSON file, or a sample's name (api-rest, api-http, s3, sqs, sns, schedule, websocket ...): "
             "call the handler with it and print the result (default: only load the handler)", "FILE", short="e")
FUNCTION = Flag("function", "the function to verify: its deployed name or short name (Chalice: crunch for "
                "@app.lambda_function(name='crunch')); default: every function, the first called with --event",
                "NAME")
PASS_ENV = Flag("pass-env", "give the handler this variable of your shell (otherwise it gets only the function's "
                "configured environment and dummy credentials)", "NAME", repeat=True)
ALL = Flag("all", "call every function's handler with a sample event of its kind (--event KIND for the others) "
           "and print a table: status, init duration, duration, peak memory", kind=bool)
FUNCTION_NAME = Flag("function-name", "the Lambda function to create or update (or set function_name / functions)",
                     "NAME", setting="function_name")
ROLE = Flag("role", "the IAM role ARN the functions run as (default: settings, else the role deploy creates and "
            "reuses, <app_name>-<stage>; required only with manage_iam_role = false)", "ARN", setting="role")
MEMORY = Flag("memory", "memory size in MB, 128-10240 (default: settings, else 128)", "MB", kind=int,
              setting="memory")
TIMEOUT = Flag("timeout", "timeout in seconds, 1-900 (default: settings, else 60)", "SECONDS", kind=int,
               setting="timeout")
PUBLISH_VERSION = Flag("publish-version", "publish a function version after updating (reused when nothing "
                       "changed)", kind=bool, setting="publish_version")
ALIAS = Flag("alias", "point this alias at the published version (implies --publish-version)", "NAME",
             setting="alias")
MAX_PARALLEL = Flag("max-parallel", "functions x regions deployed at once (default: settings, else 8; 1: one after "
                    "the other)", "N", kind=int, setting="max_parallel")
BREAK_LOCK = Flag("break-lock", "remove the deploy lock of this stage first (a killed runner's; cache_bucket "
                  "keeps it)", kind=bool)
NO_VERIFY = Flag("no-verify", "skip the Lambda-like import check of the handler before deploying", kind=bool)
OUTPUT = Flag("output", "the file to write, pylock.toml or pylock.<name>.toml (default: pylock.toml)", "FILE",
              short="o")
REPOSITORY = Flag("repository", "the repository to push to: an ECR URI <account>.dkr.ecr.<region>.amazonaws.com/"
                  "<name> (created when missing), or a registry on 127.0.0.1 for tests (default: image_repository)",
                  "URI", setting="image_repository")
REPORT = Flag("report", "also write layers/report.html, a treemap of what takes the space (as `invoke report`)",
              kind=bool)
CACHE = Flag("cache", "prune lambda-tasks' cache (~/.cache/lambda-tasks) instead: to cache_max_bytes, or with --keep",
             kind=bool)
KEEP = Flag("keep", "with --cache: keep only what the last N builds used (wheels, resolutions)", "N", kind=int)
MAX_BYTES = Flag("max-bytes", "with --cache: the size to prune the cache to (default: cache_max_bytes, 5 GiB)",
                 "BYTES", kind=int, setting="cache_max_bytes")
FORMAT = Flag("format", "cloudformation (default), sam or terraform (a *.tf.json file)", "FORMAT")
OUT = Flag("out", "the directory to write the template to (default: the layers directory)", "DIR")
KEEP_LAYERS = Flag("keep-layers", "delete: leave the layer versions the deploys published", kind=bool)
UPLOAD = Flag("upload", "upload the zips to s3_bucket at the keys the template names (by content hash)", kind=bool)

TARGET = (PROJECT_DIR, RUNTIME, ARCH)
AWS = (REGION, S3_BUCKET, PLAN)


@dataclass(frozen=True)
class Command:
    """A command of every front end: ``run`` gets a ``frontend.Run`` (settings, options, reporter) and returns
    the ``--json`` summary (a dict) or None. ``sticky``: it acts on what the last build made (its target)."""

    name: str
    flags: tuple[Flag, ...]
    run: Callable[[Any], dict[str, Any] | None]
    doc: str
    sticky: bool = False

    @property
    def summary(self) -> str:
        """The one-line description (``invoke --list``, ``nox --list``)."""
        return self.doc.splitlines()[0]

    def flag(self, name: str) -> Flag | None:
        return next((flag for flag in self.flags if flag.name == name), None)

    def split(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Parsed values by flag key -> (the settings they feed, given ones only; the command's own options, each
        with its default when not given)."""
        settings: dict[str, Any] = {}
        options: dict[str, Any] = {}
        for flag in self.flags:
            value = values.get(flag.key)
            if flag.setting:
                # not given (None, a switch off, no value of a repeatable flag; but 0 is a value): lower sources decide
                if not (value is None or value is False or (isinstance(value, (list, tuple)) and not value)):
                    settings[flag.setting] = value
            else:
                options[flag.key] = flag.default if value is None else value
        return settings, options


#: Every command, by name, in the order they were declared (the order of help and ``nox --list``).
COMMANDS: dict[str, Command] = {}


def command(*flags: Flag, name: str = "", sticky: bool = False) -> Callable[[Callable[[Any], Any]], Command]:
    """Declare a command: ``@command(*TARGET, FORCE, QUIET, JSON)`` over ``def build(run): "Doc."``. The function's
    name (underscores as dashes) is the command's, its docstring the help (first line: the summary)."""

    def declare(function: Callable[[Any], Any]) -> Command:
        doc = inspect.getdoc(function)
        if not doc:
            raise ValueError(f"command {function.__name__} needs a docstring: its help")
        declared = Command(name or function.__name__.replace("_", "-"), flags, function, doc, sticky)
        COMMANDS[declared.name] = declared
        check(COMMANDS.values())
        return declared

    return declare


def check(commands: Any) -> None:
    """A flag name means one flag (kind, placeholder, short flag) and a short flag one name, in every command;
    no command has a flag twice. Raises ValueError naming the clash."""
    seen: dict[str, Flag] = {}
    shorts: dict[str, str] = {"h": "help"}  # -h is Invoke's and Nox's --help
    for declared in commands:
        names = [flag.name for flag in declared.flags]
        if len(set(names)) != len(names):
            raise ValueError(f"command {declared.name} has a flag twice: {names}")
        for flag in declared.flags:
            first = seen.setdefault(flag.name, flag)
            if (first.kind, first.placeholder, first.short, first.repeat) != (
                    flag.kind, flag.placeholder, flag.short, flag.repeat):
                raise ValueError(f"--{flag.name} differs between commands (kind, placeholder, short flag or repeat)")
            if flag.short and shorts.setdefault(flag.short, flag.name) != flag.name:
                raise ValueError(f"-{flag.short} means --{shorts[flag.short]} and --{flag.name}")
