"""Runs inside ``python -I -S -B`` for ``invoke verify``: import and call a handler as Lambda's bootstrap does.

Standard library only, Python 3.10+ (it runs under the target's interpreter). argv[1] is a JSON config
written by verify; the report is written as JSON to config["report"] (stdout and stderr are the handler's own).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import json
import os
import sys
import time
import traceback
import uuid
from collections.abc import Sequence
from types import ModuleType
from typing import Any


class NotCheckable(ImportError):
    """A compiled module of the artifacts that this host cannot load (another Python or machine)."""


class BlockCompiled(importlib.abc.MetaPathFinder):
    """Refuses the artifacts' extension modules (recording their names) with :class:`NotCheckable`.

    It looks for the target's extension suffixes itself: on another CPU or Python version the host's
    path finder does not know ``.cpython-312-aarch64-linux-gnu.so`` and would call the module missing.
    """

    def __init__(self, roots: Sequence[str], suffixes: Sequence[str]) -> None:
        self.roots = tuple(os.path.join(root, "") for root in roots)
        self.compiled = tuple(dict.fromkeys([*suffixes, *importlib.machinery.EXTENSION_SUFFIXES]))
        self.plain = tuple(importlib.machinery.SOURCE_SUFFIXES + importlib.machinery.BYTECODE_SUFFIXES)
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
            kind = self._kind(os.path.join(entry, tail))
            if kind == "compiled":
                self.blocked.append(fullname)
                raise NotCheckable(f"compiled module {fullname} cannot be loaded on this host", name=fullname)
            if kind == "plain":
                return None  # the path finder loads it
        return None

    def _kind(self, base: str) -> str | None:
        """What the target's path finder finds at ``base``: "compiled", "plain", or None (nothing, or a
        namespace portion); in its order: package, extension module, source, bytecode."""
        if os.path.isdir(base):
            for suffix in self.compiled + self.plain:
                if os.path.isfile(os.path.join(base, "__init__" + suffix)):
                    return "compiled" if suffix in self.compiled else "plain"
        for suffix in self.compiled + self.plain:
            if os.path.isfile(base + suffix):
                return "compiled" if suffix in self.compiled else "plain"
        return None


class Context:
    """The attributes and method of Lambda's context object that handlers use."""

    def __init__(self, function_name: str, memory: int, timeout: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
        self.memory_limit_in_mb = str(memory)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "verify"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _failure(stage: str, exc: BaseException, blocker: BlockCompiled | None) -> dict[str, object]:
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    refused = next((e for e in chain if isinstance(e, NotCheckable)), None)
    frames = traceback.extract_tb(exc.__traceback__)
    return {
        "ok": False, "stage": stage, "error_type": type(exc).__name__, "message": str(exc),
        "missing": exc.name if isinstance(exc, ModuleNotFoundError) else None,
        "not_checkable": refused is not None, "stopped_at": refused.name if refused else None,
        "blocked": blocker.blocked if blocker else [],
        "where": f"{frames[-1].filename}:{frames[-1].lineno}" if frames else None,
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }


def run(config: dict[str, Any]) -> dict[str, object]:
    """Import the handler's module, look the handler up and, given an event, call it: the report."""
    # Lambda's order: /var/task, /opt/python/lib/pythonX.Y/site-packages, /opt/python, the standard
    # library, then the runtime's own packages (boto3 & co).
    sys.path[:0] = config["paths"]
    sys.path.extend(config["runtime_paths"])
    blocker = BlockCompiled(config["roots"], config["suffixes"]) if config["block_compiled"] else None
    if blocker:
        sys.meta_path.insert(0, blocker)
    module_name, _, function_name = str(config["handler"]).rpartition(".")
    module_name = module_name.replace("/", ".")
    report: dict[str, object] = {"ok": True}
    try:
        module = importlib.import_module(module_name)
    except BaseException as exc:  # noqa: BLE001 - whatever the import raises is the answer
        return _failure(f"import of {module_name}", exc, blocker)
    function = getattr(module, function_name, None)
    if not callable(function):
        return {"ok": False, "stage": "handler lookup", "error_type": "Runtime.HandlerNotFound",
                "message": f"{module_name} has no callable {function_name}", "missing": None,
                "not_checkable": False, "blocked": []}
    if config["has_event"]:
        context = Context(config["function_name"], config["memory"], config["timeout"])
        try:
            answer = function(config["event"], context)
            report["result"] = json.loads(json.dumps(answer))
        except BaseException as exc:  # noqa: BLE001 - whatever the handler raises is the answer
            return _failure(f"call of {config['handler']}", exc, blocker)
    report["blocked"] = blocker.blocked if blocker else []
    return report


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    report = run(config)
    with open(config["report"], "w", encoding="utf-8") as handle:
        json.dump(report, handle)


if __name__ == "__main__":
    main()
