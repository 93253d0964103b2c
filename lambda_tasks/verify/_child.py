"""Runs inside ``python -I -S -B`` for ``invoke verify``: import and call a handler as Lambda's bootstrap does.

Standard library only (it runs under the target's interpreter). argv[1] is a JSON config written by
verify.py; the report is written as JSON to config["report"] (stdout and stderr are the handler's own).
"""

import importlib
import importlib.machinery
import json
import sys
import time
import traceback
import uuid


class NotCheckable(ImportError):
    """A compiled module of the artifacts that this host cannot load (another Python or machine)."""


class BlockCompiled:
    """A meta path finder that refuses the artifacts' extension modules, recording their names."""

    def __init__(self, roots):
        self.roots = tuple(roots)
        self.blocked = []

    def find_spec(self, name, path=None, target=None):
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if (spec is not None and isinstance(spec.loader, importlib.machinery.ExtensionFileLoader)
                and str(spec.origin).startswith(self.roots)):
            self.blocked.append(name)
            raise NotCheckable("compiled module %s cannot be loaded on this host" % name, name=name)
        return None


class Context:
    """The attributes and method of Lambda's context object that handlers use."""

    def __init__(self, function_name, memory, timeout):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:%s" % function_name
        self.memory_limit_in_mb = str(memory)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = "/aws/lambda/%s" % function_name
        self.log_stream_name = "verify"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _failure(stage, exc, blocker):
    chain, seen = [], exc
    while seen is not None:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    frames = traceback.extract_tb(exc.__traceback__)
    where = "%s:%s" % (frames[-1].filename, frames[-1].lineno) if frames else None
    return {
        "ok": False, "stage": stage, "error_type": type(exc).__name__, "message": str(exc),
        "missing": exc.name if isinstance(exc, ModuleNotFoundError) else None,
        "not_checkable": any(isinstance(e, NotCheckable) for e in chain),
        "blocked": blocker.blocked if blocker else [], "where": where,
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }


def main():
    with open(sys.argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    # Lambda's order: /var/task, /opt/python/lib/pythonX.Y/site-packages, /opt/python, the standard
    # library, then the runtime's own packages (boto3 & co).
    sys.path[:0] = config["paths"]
    sys.path.extend(config["runtime_paths"])
    blocker = BlockCompiled(config["roots"]) if config["block_compiled"] else None
    if blocker:
        sys.meta_path.insert(0, blocker)
    module_name, _, function_name = config["handler"].rpartition(".")
    module_name = module_name.replace("/", ".")
    report = {"ok": True}
    try:
        module = importlib.import_module(module_name)
    except BaseException as exc:  # noqa: B902 - anything the import raises is the answer
        report = _failure("import of %s" % module_name, exc, blocker)
    else:
        function = getattr(module, function_name, None)
        if not callable(function):
            report = {"ok": False, "stage": "handler lookup", "error_type": "Runtime.HandlerNotFound",
                      "message": "%s has no callable %s" % (module_name, function_name), "missing": None,
                      "not_checkable": False, "blocked": []}
        elif config["has_event"]:
            context = Context(config["function_name"], config["memory"], config["timeout"])
            try:
                answer = function(config["event"], context)
                report["result"] = json.loads(json.dumps(answer))
            except BaseException as exc:  # noqa: B902
                report = _failure("call of %s" % config["handler"], exc, blocker)
    if blocker and report.get("ok"):
        report["blocked"] = blocker.blocked
    with open(config["report"], "w", encoding="utf-8") as handle:
        json.dump(report, handle)


if __name__ == "__main__":
    main()
