"""verify's /var/runtime/bootstrap.py: what Lambda's Python runtime runs, run by the target's interpreter.

Standard library only, Python 3.10+. Like Lambda's own bootstrap.py it imports the runtime interface client
(``awslambdaric``) from /var/runtime, puts /var/task, /opt/python/lib/pythonX.Y/site-packages and /opt/python
first on sys.path (unless PYTHONPATH is set), adds them as site directories (.pth files), sets PYTHONPATH to
/var/runtime and hands over to ``awslambdaric``, which loads the handler and talks to the Runtime API at
``AWS_LAMBDA_RUNTIME_API``. Without ``awslambdaric`` for this interpreter a stand-in below speaks the same
protocol with the same error documents.

Two things are verify's own, reported to ``POST /lambda-tasks/notes``: compiled modules of the artifacts this
interpreter cannot load (another CPU by their ELF header, or another Python) are refused with
:class:`NotCheckable` instead of failing in the loader, and a failed import is described by its whole cause
chain (a package may re-raise a refused module's error without its cause). Its settings are in
``lambda-tasks-verify.json`` beside this file, so the handler's environment holds nothing of verify's.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import json
import os
import re
import site
import struct
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType
from typing import Any

MACHINES = {3: "i686", 40: "armv7l", 62: "x86_64", 183: "aarch64", 20: "ppc", 21: "ppc64le", 22: "s390x"}
_LIBRARY = re.compile(r"(/[^\s:'\"]+\.so(?:\.[\d.]+)?)")


def elf_machine(path: str) -> str | None:
    """The CPU an ELF file is built for (wheel tags' names), or None when it is not an ELF file."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(20)
    except OSError:
        return None
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    (number,) = struct.unpack("<H" if head[5] == 1 else ">H", head[18:20])
    return MACHINES.get(number, f"machine {number}")


class NotCheckable(ImportError):
    """A compiled module of the artifacts that this host cannot load (another Python or machine)."""


class BlockCompiled(importlib.abc.MetaPathFinder):
    """Refuses the artifacts' extension modules this interpreter cannot load (recording their names) with
    :class:`NotCheckable`: all of them with ``block_all`` (another Python version), else those whose ELF header
    names another CPU than this interpreter's.

    It looks for the target's extension suffixes itself: on another CPU or Python version the host's
    path finder does not know ``.cpython-312-aarch64-linux-gnu.so`` and would call the module missing.
    """

    def __init__(self, roots: Sequence[str], suffixes: Sequence[str], block_all: bool = True,
                 machine: str | None = None, notify: Any = None) -> None:
        self.roots = tuple(os.path.join(root, "") for root in roots)
        self.compiled = tuple(dict.fromkeys([*suffixes, *importlib.machinery.EXTENSION_SUFFIXES]))
        self.plain = tuple(importlib.machinery.SOURCE_SUFFIXES + importlib.machinery.BYTECODE_SUFFIXES)
        self.block_all = block_all
        self.machine = machine
        self.notify = notify
        self.blocked: list[str] = []

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        # built-in and frozen modules come before the path on Lambda too
        if fullname in sys.builtin_module_names or importlib.machinery.FrozenImporter.find_spec(fullname):
            return None
        tail = fullname.rpartition(".")[2]
        for entry in sys.path if path is None else path:
            if not isinstance(entry, str):
                continue
            if not os.path.join(entry, "").startswith(self.roots):
                found = importlib.machinery.PathFinder.find_spec(fullname, [entry])
                if found is not None and found.loader is not None:
                    return None  # the host's own module (standard library, the runtime's boto3)
                continue
            kind, file = self._kind(os.path.join(entry, tail))
            if kind == "compiled" and file is not None:
                built_for = elf_machine(file)
                if self.block_all or (built_for is not None and self.machine and built_for != self.machine):
                    self.blocked.append(fullname)
                    if self.notify is not None:
                        self.notify({"blocked": fullname, "file": file, "machine": built_for})
                    raise NotCheckable(f"compiled module {fullname} cannot be loaded on this host", name=fullname)
                return None
            if kind == "plain":
                return None  # the path finder loads it
        return None

    def _kind(self, base: str) -> tuple[str | None, str | None]:
        """What the target's path finder finds at ``base``: ("compiled" | "plain", its file) or (None, None)
        (nothing, or a namespace portion); in its order: package, extension module, source, bytecode."""
        if os.path.isdir(base):
            for suffix in self.compiled + self.plain:
                file = os.path.join(base, "__init__" + suffix)
                if os.path.isfile(file):
                    return ("compiled" if suffix in self.compiled else "plain"), file
        for suffix in self.compiled + self.plain:
            if os.path.isfile(base + suffix):
                return ("compiled" if suffix in self.compiled else "plain"), base + suffix
        return None, None


def describe_failure(exc: BaseException, machine: str | None) -> dict[str, Any]:
    """What verify needs to judge a failed import: the whole cause chain walked (``__cause__`` and
    ``__context__``), a refused module in it, the missing module's name, foreign ELF files it names."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    refused = next((e for e in chain if isinstance(e, NotCheckable)), None)
    missing = next((e.name for e in chain if isinstance(e, ModuleNotFoundError) and e.name), None)
    foreign = []
    for error in chain:
        paths = [getattr(error, "path", None) or "", *_LIBRARY.findall(str(error))]
        for path in paths:
            built_for = elf_machine(path) if path else None
            if built_for is not None and machine and built_for != machine:
                foreign.append({"file": path, "machine": built_for})
    frames = [frame for e in reversed(chain) for frame in traceback.extract_tb(e.__traceback__)
              if "awslambdaric" not in frame.filename and not frame.filename.endswith(("_child.py", "bootstrap.py"))]
    ours = tuple(os.path.join(root, "") for root in (os.environ.get("LAMBDA_TASK_ROOT", "/var/task"), OPT))
    frames = [frame for frame in frames if frame.filename.startswith(ours)] or frames  # the app's line first
    return {"failure": True, "error_type": type(exc).__name__, "message": str(exc),
            "chain": [f"{type(e).__name__}: {e}" for e in chain],
            "not_checkable": refused is not None, "stopped_at": refused.name if refused else None,
            "missing": missing, "foreign": foreign,
            "where": f"{frames[-1].filename}:{frames[-1].lineno}" if frames else None}


def loaded_files(task_root: str) -> list[str]:
    """The function zip's files the import loaded, relative to the task root (the static check's warnings about
    them are moot: the real import ran them)."""
    root = os.path.join(task_root, "")
    files = {getattr(module, "__file__", None) or "" for module in list(sys.modules.values())}
    return sorted(path[len(root):] for path in files if path.startswith(root))


def _post(path: str, document: object, headers: dict[str, str] | None = None) -> None:
    # lazy: the handler's process loads http.client only where Lambda's bootstrap would
    import http.client

    connection = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"], timeout=30)
    connection.request("POST", path, json.dumps(document, default=str), headers or {})
    connection.getresponse().read()
    connection.close()


def notify(note: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # the notes only sharpen verify's answer
        _post("/lambda-tasks/notes", note)


def _watch_handler_lookup(module: Any, machine: str | None) -> None:
    """Report the cause chain of a failed handler load before awslambdaric turns it into its error document
    (which keeps only the message)."""
    original = getattr(module, "_get_handler", None)
    if original is None:
        return

    def _get_handler(handler: str) -> Any:
        try:
            found = original(handler)
        except BaseException as exc:
            # awslambdaric wraps an ImportError in its FaultException; anything else comes through as it is
            wrapped = type(exc).__name__ == "FaultException" and exc.__context__ is not None
            notify(describe_failure(exc.__context__ if wrapped else exc, machine))  # type: ignore[arg-type]
            raise
        notify({"loaded": loaded_files(os.environ["LAMBDA_TASK_ROOT"])})
        return found

    module._get_handler = _get_handler


# -- Lambda's bootstrap.py, in its order
def set_default_sys_path(task_root: str, opt: str) -> None:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if "PYTHONPATH" not in os.environ:
        sys.path.insert(0, f"{opt}/python")
        sys.path.insert(0, f"{opt}/python/lib/python{version}/site-packages")
    sys.path.insert(0, task_root)


def add_default_site_directories(task_root: str, opt: str) -> None:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    site.addsitedir(task_root)
    if "PYTHONPATH" not in os.environ:
        site.addsitedir(f"{opt}/python/lib/python{version}/site-packages")
        site.addsitedir(f"{opt}/python")


def stand_in(handler: str) -> None:
    """The runtime client's protocol without awslambdaric: load the handler, then serve invocations."""
    # lazy: the handler's process loads http.client only where Lambda's bootstrap would
    import http.client
    import time

    def make_error(message: str, kind: str, trace: list[str], request_id: str = "") -> dict[str, Any]:
        return {"errorMessage": message, "errorType": kind, "requestId": request_id, "stackTrace": trace}

    module_name, _, name = handler.rpartition(".")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        notify(describe_failure(exc, MACHINE))
        error = make_error(f"Unable to import module '{module_name}': {exc}", "Runtime.ImportModuleError", [])
        _post("/2018-06-01/runtime/init/error", error, {"Lambda-Runtime-Function-Error-Type": error["errorType"]})
        sys.exit(1)
    function = getattr(module, name, None)
    if function is None:
        error = make_error(f"Handler '{name}' missing on module '{module_name}'", "Runtime.HandlerNotFound", [])
        _post("/2018-06-01/runtime/init/error", error, {"Lambda-Runtime-Function-Error-Type": error["errorType"]})
        sys.exit(1)
    notify({"loaded": loaded_files(os.environ["LAMBDA_TASK_ROOT"])})
    while True:
        connection = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"])
        connection.request("GET", "/2018-06-01/runtime/invocation/next")
        response = connection.getresponse()
        body, request_id = response.read(), response.headers["Lambda-Runtime-Aws-Request-Id"]
        deadline = int(response.headers["Lambda-Runtime-Deadline-Ms"])
        context = type("LambdaContext", (), {
            "aws_request_id": request_id, "function_name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
            "function_version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION"),
            "memory_limit_in_mb": os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
            "invoked_function_arn": response.headers["Lambda-Runtime-Invoked-Function-Arn"],
            "log_group_name": os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME"),
            "log_stream_name": os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME"), "identity": None,
            "client_context": None,
            "get_remaining_time_in_millis": lambda self, end=deadline: max(0, end - int(time.time() * 1000))})()
        prefix = f"/2018-06-01/runtime/invocation/{request_id}"
        try:
            answer = json.dumps(function(json.loads(body), context))
        except Exception as exc:  # noqa: BLE001 - the handler's error is the answer, as Lambda reports it
            frames = traceback.extract_tb(exc.__traceback__)[1:]
            _post(f"{prefix}/error", make_error(str(exc), type(exc).__name__, traceback.format_list(frames),
                                                request_id))
            continue
        _post(f"{prefix}/response", json.loads(answer))


def _this_machine() -> str | None:
    return elf_machine(os.path.realpath(sys.executable))


MACHINE = _this_machine()
OPT = "/opt"  # where the layers are (main() sets verify's mapping)


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "lambda-tasks-verify.json"), encoding="utf-8") as handle:
        config = json.load(handle)
    if here not in sys.path:
        sys.path.insert(0, here)  # -P (3.11+) or -I leave the script's directory out; Lambda's python has it
    ric_main: Any = None
    ric_bootstrap: Any = None
    try:  # before the function's paths, as Lambda's bootstrap.py imports it
        ric_main = importlib.import_module("awslambdaric.__main__")
        ric_bootstrap = importlib.import_module("awslambdaric.bootstrap")
    except ImportError:
        pass
    global OPT
    OPT = config["opt"]
    task_root, handler = os.environ["LAMBDA_TASK_ROOT"], os.environ["_HANDLER"]
    set_default_sys_path(task_root, config["opt"])  # /opt, or where verify mapped it
    add_default_site_directories(task_root, config["opt"])
    if "PYTHONPATH" not in os.environ:
        os.environ["PYTHONPATH"] = os.environ["LAMBDA_RUNTIME_DIR"]
    sys.meta_path.insert(0, BlockCompiled(config["roots"], config["suffixes"], config["block_compiled"],
                                          MACHINE, notify))
    if ric_main is None:
        notify({"stand_in": True})
        stand_in(handler)
        return
    _watch_handler_lookup(ric_bootstrap, MACHINE)
    ric_main.main([task_root, handler])


if __name__ == "__main__":
    main()
