"""The environment a verified handler sees (pure): Lambda's own variables, the function's configured ones, the
names passed on purpose with ``--pass-env``, and dummy credentials: nothing else of the developer's shell.

Lambda's values (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html, shared/LAMBDA.md):
the reserved keys (``_HANDLER``, ``AWS_REGION``, ``AWS_LAMBDA_*``, ``LAMBDA_TASK_ROOT``, the role's credentials
...) win over everything; ``LANG``, ``PATH``, ``LD_LIBRARY_PATH``, ``PYTHONPATH`` are defaults a function may
override. ``PYTHONPATH`` starts unset: Lambda's bootstrap.py puts /opt on sys.path only when it is unset, then
sets it to /var/runtime itself (verify's bootstrap does the same).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import VerifyError
from ..lambda_values import RESERVED_KEYS

#: What app code gets instead of the execution role's credentials: never the deployer's.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "ASIAVERIFYDUMMYKEY00",
    "AWS_SECRET_ACCESS_KEY": "lambda-tasks-verify-dummy-secret-access-key",
    "AWS_SESSION_TOKEN": "lambda-tasks-verify-dummy-session-token",
}
INIT_SECONDS = 10  # Lambda's Init phase limit for on-demand functions (then retried within the timeout)


@dataclass(frozen=True)
class Places:
    """Where Lambda's paths are for the child: Lambda's own in a private mount namespace, else mapped."""

    task: str = "/var/task"
    opt: str = "/opt"
    runtime: str = "/var/runtime"
    tmp: str = "/tmp"


def passed_variables(names: Sequence[str], shell: Mapping[str, str]) -> dict[str, str]:
    """``--pass-env NAME`` values from this shell; a name it does not hold, or one Lambda sets, is an error."""
    passed: dict[str, str] = {}
    for name in names:
        if name in RESERVED_KEYS and name not in DUMMY_CREDENTIALS:
            raise VerifyError(f"--pass-env {name}: Lambda sets {name} itself, a function cannot have another value")
        if name not in shell:
            raise VerifyError(f"--pass-env {name}: this shell has no {name}\n"
                              f"  set it first (export {name}=...), or leave the flag out")
        passed[name] = shell[name]
    return passed


def lambda_environment(places: Places, *, runtime: str, handler: str, function_name: str, memory: int,
                       region: str, runtime_api: str, configured: Mapping[str, str],
                       passed: Mapping[str, str]) -> dict[str, str]:
    """The whole environment of the runtime process, in the precedence Lambda gives it."""
    task, opt = places.task, places.opt
    defaults = {
        "LANG": "en_US.UTF-8",
        "PATH": f"/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:{opt}/bin",
        "LD_LIBRARY_PATH": (f"/var/lang/lib:/lib64:/usr/lib64:{places.runtime}:{places.runtime}/lib:{task}:"
                            f"{task}/lib:{opt}/lib"),
        "TMPDIR": places.tmp,
    }
    if places.tmp == "/tmp":
        del defaults["TMPDIR"]  # Lambda sets none: /tmp is the default
    stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[$LATEST]{uuid.uuid4().hex}"
    reserved = {
        "_HANDLER": handler, "LAMBDA_TASK_ROOT": task, "LAMBDA_RUNTIME_DIR": places.runtime,
        "AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": function_name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}", "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_LAMBDA_RUNTIME_API": runtime_api, "TZ": ":UTC",
    }
    credentials = {**DUMMY_CREDENTIALS, **{k: v for k, v in passed.items() if k in DUMMY_CREDENTIALS}}
    if any(k in passed for k in DUMMY_CREDENTIALS) and "AWS_SESSION_TOKEN" not in passed:
        del credentials["AWS_SESSION_TOKEN"]  # long-term keys passed on purpose: no dummy token beside them
    return {**defaults, **configured, **passed, **credentials, **reserved}


def function_arn(region: str, function_name: str) -> str:
    return f"arn:aws:lambda:{region}:000000000000:function:{function_name}"
