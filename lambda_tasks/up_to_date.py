"""The no-op decided before the settings load, as make does: a stamp of what the last successful build depended on.

After a build from the command line, ``layers/.up-to-date.json`` (written by ``stamp_commit.py``) records the
lambda-tasks version, the Python running it and its sys.path, the command line, the working directory and where
--project-dir leads, the environment variables that can change a setting or a resolution (credentials left
out), and the (size, mtime_ns, inode, mode, ctime_ns) of every file and directory of the trees the build read
(the project, the outputs, the settings' paths, the find-links locations, every file the dependency source read
or looked for) and of the config files it may read (Invoke's, pip's, uv's). The next ``build`` with the same
command line stats exactly those; all equal: it prints the last build's "up to date" line and exits, before
``config`` or the command layer is imported. Any difference, a missing or unreadable stamp, ``--force``,
``--json``, ``--report``: the normal build runs (and decides by content). What stats cannot see: a change that
keeps size, mtime, inode and ctime.

When only the build's own inputs changed (an edit of app.py) and the command line, the environment, every
config file Invoke reads and lambda-tasks' own files are as recorded, Invoke would parse the same flag values
and the same ``lambda_tasks`` config again: the console script runs the recorded command with them without
loading Invoke (``cli.replay``), and the build reads the project anew as always.

This module imports only the standard library: it runs first.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from types import FrameType

from . import __version__

STAMP = ".up-to-date.json"
#: directories no build reads (version control, environments, caches): their churn does not defeat the stamp.
#: Skipped anywhere in the trees, but below the app's roots and vendor/ only what the build skips there too
#: (:data:`JUNK`: a chalicelib/static/node_modules/ ships)
SKIPPED = frozenset({".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache",
                     ".pytest_cache", ".ruff_cache", ".tox", ".nox", ".idea", ".vscode"})
#: what the app's and vendor/'s walk never ships, at any depth (within assemble/tree.py's JUNK_DIRS: a test says so)
JUNK = frozenset({".git", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".idea", ".vscode"})
#: the environment that can change a setting, a resolution, a path or the bytes: by prefix, and by name
ENV_PREFIXES = ("INVOKE_", "LAMBDA_TASKS_", "PIP_", "UV_", "AWS_", "PYTHON", "XDG_", "PYENV_", "CONDA_")
ENV_NAMES = ("HOME", "PATH", "VIRTUAL_ENV", "SOURCE_DATE_EPOCH", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CI", "TERM")
#: credentials a build does not read (a no-op never calls AWS): their rotation does not defeat the stamp
CREDENTIALS = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"})
#: nor any variable named as one holds (UV_INDEX_<NAME>_PASSWORD, LAMBDA_TASKS_REGISTRY_PASSWORD), nor the
#: user and password of a URL (PIP_INDEX_URL=https://user:token@host/): the index serves the same (the layers'
#: fingerprint leaves them out too), and a hash of them is one an attacker could test guesses against
CREDENTIAL_WORDS = ("PASSWORD", "TOKEN", "SECRET")
#: a tree this big is not walked at every start: no stamp (nor one with a link to a directory)
MOST_ENTRIES = 20_000


class Invocation:
    """The command line a build runs for: the stamp is written for it, and only it takes the stamp. (Not a
    dataclass: importing dataclasses costs more than this whole check.)"""

    def __init__(self, program: str, argv: tuple[str, ...], cwd: str, tasks_file: str | None = None) -> None:
        self.program, self.argv, self.cwd = program, argv, cwd
        self.tasks_file = tasks_file  # `invoke`: the project's tasks.py (stamp_commit.plain_tasks)
        # where this interpreter finds pip, uv and the rest: a .pth file edited in place changes it unseen
        self.sys_path = list(sys.path)
        # when the command started: the settings are read before the build does (an edit between them is racy too)
        self.started_ns = time.time_ns()
        self.replay: Command | None = None  # the last build's parsed command, when nothing it was parsed from changed


#: a command as the front end runs it (``frontend.run``): its name, its flag values, Invoke's lambda_tasks config
Command = tuple[str, dict[str, Any], dict[str, Any]]


#: set by :func:`fast_path` when it falls through: the build that follows writes the stamp for this command line
pending: Invocation | None = None


def stamp_path(cwd: str) -> Path:
    return Path(cwd) / "layers" / STAMP


def config_files(cwd: str) -> list[str]:
    """Invoke's, pip's and uv's config files outside the project, whether there or not (a new one counts), and
    the directories tools and installers are found in."""
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    venv = os.environ.get("VIRTUAL_ENV")
    found = [f"{base}.{ext}" for base in ("/etc/invoke", os.path.join(home, ".invoke"))
             for ext in ("yaml", "yml", "json", "py")]
    found += ["/etc/pip.conf", "/etc/xdg/pip/pip.conf", os.path.join(home, ".pip", "pip.conf"),
              os.path.join(xdg, "pip", "pip.conf"), os.path.join(sys.prefix, "pip.conf"),
              "/etc/uv/uv.toml", os.path.join(xdg, "uv", "uv.toml")]
    found += [os.path.join(venv, "pip.conf")] if venv else []
    here = Path(cwd)  # Invoke's project config and tasks.py, searched from here upwards
    found += [str(where / name) for where in (here, *here.parents)
              for name in ("tasks.py", "invoke.yaml", "invoke.yml", "invoke.json", "invoke.py")]
    # the directories of sys.path (pip's and uv's versions are read off their .dist-info names there) and of
    # PATH (the interpreters and tools found there): a package or a tool added or removed changes their mtime
    found += [entry for entry in sys.path if entry and os.path.isdir(entry)]
    found += [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry]
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")  # interpreters (host.py)
    found += [os.path.join(os.environ.get("PYENV_ROOT") or os.path.join(home, ".pyenv"), "versions"),
              os.environ.get("UV_PYTHON_INSTALL_DIR") or os.path.join(data, "uv", "python")]
    found += [os.environ[name] for name in ("PIP_CONFIG_FILE", "INVOKE_RUNTIME_CONFIG", "UV_CONFIG_FILE")
              if os.environ.get(name)]
    return found


def environment(names: Iterable[str] = ()) -> str:
    """The variables that matter, as one sha256: the stamp holds no value (a token, a password in a URL)."""
    # lazy: after the cheap checks (version, command line) have passed
    import hashlib

    def credential(name: str) -> bool:
        return name in CREDENTIALS or any(word in name for word in CREDENTIAL_WORDS)

    chosen: dict[str, str | None] = {k: v for k, v in os.environ.items()
                                     if (k.startswith(ENV_PREFIXES) or k in ENV_NAMES) and not credential(k)}
    chosen.update({name: os.environ.get(name) for name in names if not credential(name)})
    for name, value in chosen.items():
        if value and "@" in value:
            # lazy: only for a value that may hold a URL's user and password (the fast path seldom loads re)
            import re

            chosen[name] = re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@", r"\1", value)
    return hashlib.sha256(json.dumps(sorted(chosen.items())).encode()).hexdigest()


def stat_of(path: str) -> list[int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return [found.st_size, found.st_mtime_ns, found.st_ino, found.st_mode, found.st_ctime_ns]


def tree(root: str, stamp_dir: str, skipped: frozenset[str] = SKIPPED) -> dict[str, Any]:
    """Every file and directory below ``root`` (``skipped`` names left out), by path: its stat; the stamp's own
    directory by its listing (writing the stamp changes its mtime)."""
    found: dict[str, Any] = {}
    todo = [root]
    while todo:
        directory = todo.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            found[directory] = None
            continue
        if directory == stamp_dir:
            found[directory] = {"listing": [e.name for e in entries if not e.name.startswith(STAMP)]}
        else:
            found[directory] = stat_of(directory)
        for entry in entries:
            if entry.name in skipped or (directory == stamp_dir and entry.name.startswith(STAMP)):
                continue
            if entry.is_dir(follow_symlinks=False):
                todo.append(entry.path)
            elif entry.is_symlink() and entry.is_dir():  # what it links to is not walked: no stamp
                raise OverflowError(entry.path)
            else:
                found[entry.path] = stat_of(entry.path)
        if len(found) > MOST_ENTRIES:
            raise OverflowError(root)
    return found


def snapshot(roots: Sequence[str], paths: Sequence[str], stamp_dir: str, shipped: Sequence[str] = ()) -> dict[str, Any]:
    """``shipped``: the trees the build ships whole (the app's roots, vendor/), walked with only :data:`JUNK`
    left out."""
    found = {path: stat_of(path) for path in paths}
    for root in roots:
        found.update(tree(root, stamp_dir))
    for root in shipped:
        found.update(tree(root, stamp_dir, JUNK))
    return found


def _compare(recorded: dict[str, Any], invocation: Invocation) -> str:
    """``same``: nothing the build depended on changed. ``settled``: the version, the command line, the
    environment, the config files (Invoke's among them) and lambda-tasks' own files are as recorded, some other
    input is not. Else ``""``."""
    now = [__version__, [sys.version, sys.executable, invocation.sys_path],
           [invocation.program, list(invocation.argv), invocation.cwd], named_project(invocation)]
    if [recorded.get("version"), recorded.get("python"), recorded.get("invocation"), recorded.get("project")] != now:
        return ""
    if recorded.get("env") != environment(recorded.get("env_names", ())):
        return ""
    stamp_dir = str(stamp_path(invocation.cwd).parent)
    try:
        found = snapshot(recorded["roots"], recorded["paths"], stamp_dir, recorded["shipped"])
    except OverflowError:
        return ""
    stats = recorded["stats"]
    if found == stats:
        return "same"
    settled = all(path in stats and found.get(path) == stats[path] for path in config_files(invocation.cwd))
    # and lambda-tasks' own code (an editable install: the same version, other flags or defaults)
    package = os.path.dirname(__file__)
    settled = settled and package in stats and all(found.get(path) == stat for path, stat in stats.items()
                                                   if inside(path, package))
    return "settled" if settled else ""


def _command(recorded: dict[str, Any], argv: Sequence[str]) -> Command | None:
    """The stamp's recorded command for ``argv``, when it has one of the right shape."""
    command = recorded.get("command")
    if (isinstance(command, list) and len(command) == 3 and command[0] == argv[0]
            and isinstance(command[1], dict) and isinstance(command[2], dict)):
        return command[0], command[1], command[2]
    return None


#: the build flags the fast path takes (no --force, --json, --report: they do more than say "up to date")
SWITCHES = frozenset({"-q", "--quiet", "-n", "--no-wait", "-b", "--bytecode"})
VALUED = frozenset({"-r", "--runtime", "-a", "--arch", "-p", "--project-dir"})


def understood(argv: Sequence[str]) -> bool:
    """``build`` and only flags the fast path knows: another word may be another task (``invoke build
    deploy``), which a no-op must not skip."""
    if not argv or argv[0] != "build":
        return False
    words = iter(argv[1:])
    for word in words:
        if word in VALUED:
            if next(words, None) is None:
                return False
        elif word not in SWITCHES and word.split("=", 1)[0] not in VALUED:
            return False
    return True


def importer() -> str | None:
    """The file of the module importing the caller's module (the project's tasks.py, when Invoke loads it)."""
    frame: FrameType | None = sys._getframe(2)  # past this function and the caller's module frame
    while frame is not None and frame.f_code.co_filename.startswith("<frozen"):  # importlib's own frames
        frame = frame.f_back
    found = frame.f_globals.get("__file__") if frame is not None else None
    return found if isinstance(found, str) else None


def fast_path(program: str, argv: Sequence[str], tasks_file: str | None = None) -> bool:
    """``argv``: the words after the program. True when this is a ``build`` the stamp says is a no-op: the
    "up to date" line is printed. Otherwise False, and the build that follows may write the stamp.
    ``tasks_file``: for ``invoke``, the file that imported our tasks (the project's tasks.py)."""
    global pending
    started = time.monotonic()
    if not understood(argv):
        return False
    invocation = Invocation(program, tuple(argv), os.getcwd(), tasks_file)
    pending = invocation
    try:
        recorded = json.loads(stamp_path(invocation.cwd).read_text())
        verdict = _compare(recorded, invocation) if isinstance(recorded, dict) else ""
        if verdict == "settled":
            invocation.replay = _command(recorded, argv)
        if verdict != "same":
            return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    *before, last = recorded["lines"] or [None]
    for line in before:
        print(line)
    if last is not None:
        print(f"{last} ({time.monotonic() - started:.2f}s)", flush=True)
    return True


def named_project(invocation: Invocation) -> str | None:
    """Where the command line's --project-dir leads now (None: not given): a link on the way may be pointed
    elsewhere since, with the same command line."""
    words, value = iter(invocation.argv), None
    for word in words:
        name, equals, inline = word.partition("=")
        if name in ("-p", "--project-dir"):
            value = inline if equals else next(words, "")
    return os.path.realpath(os.path.join(invocation.cwd, value)) if value is not None else None


def inside(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip(os.sep) + os.sep)


def forget(cwd: str | None = None) -> None:
    """A build starts: the stamp no longer speaks for what is on disk until this build writes it again."""
    where = cwd or (pending.cwd if pending else None)
    if where:
        stamp_path(where).unlink(missing_ok=True)
