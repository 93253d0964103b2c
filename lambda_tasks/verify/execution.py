"""One execution environment: the runtime process started on the laid-out artifacts with Lambda's environment,
the Runtime API serving it one event (or none: init only), and what came back.

The interpreter is the one verify chose (verify/__init__.py's Plan); it is resolved to its real file first
(a pyenv shim needs the developer's environment, which the runtime never gets).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..deadlines import capture
from ..errors import DeadlineError, VerifyError
from . import lambda_env, runtime_dir, sandbox
from .runtime_api import RuntimeAPI

_PROBE = ("import json, os, platform, sys; print(json.dumps([os.path.realpath(sys.executable), sys.prefix, "
          "sys.base_prefix, list(sys.version_info[:2]), platform.machine()]))")


@dataclass(frozen=True)
class Interpreter:
    """The interpreter file that runs the handler, its version and CPU, and the directories it needs."""

    command: tuple[str, ...]
    version: tuple[int, int]
    machine: str
    needs: tuple[Path, ...]


@functools.cache
def resolve(command: tuple[str, ...]) -> Interpreter:
    try:
        done = capture([*command, "-I", "-c", _PROBE], f"verify: describing {' '.join(command)}", deadline=60)
        real, prefix, base, version, machine = json.loads(done.stdout)
    except (OSError, ValueError, DeadlineError) as exc:
        raise VerifyError(f"verify: the interpreter {' '.join(command)} does not run: {exc}") from None
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine.lower(), machine.lower())
    return Interpreter((*command[:-1], real), (version[0], version[1]), machine,
                       (Path(real), Path(prefix), Path(base)))


@dataclass(frozen=True)
class Function:
    """What one function gets from Lambda: its handler, name, limits and configured environment."""

    handler: str
    name: str
    memory: int
    timeout: int
    environment: Mapping[str, str]
    ephemeral_mb: int = 512


@dataclass
class Outcome:
    """What one run gave: the answer (JSON) or Lambda's error document, timings (s) and peak memory (bytes)."""

    answer: object = None
    answered: bool = False
    error: dict[str, Any] | None = None
    init_error: bool = False
    stopped: str = ""  # "timeout", "init timeout", "memory", "exited": verify or the process ended it
    init_seconds: float | None = None
    call_seconds: float | None = None
    peak: int = 0
    blocked: list[str] = field(default_factory=list)
    foreign: list[dict[str, Any]] = field(default_factory=list)
    failure: dict[str, Any] | None = None  # the bootstrap's description of a failed handler load
    stand_in: bool = False
    loaded: list[str] = field(default_factory=list)  # the function zip's files the import ran
    fell_back: str = ""  # why the namespace could not be used after all (paths mapped instead)
    detail: str = ""  # one more line about how it ended (the peak over the memory size)
    output: str = ""


@dataclass(frozen=True)
class Stage:
    """The laid-out artifacts and how the runtime process is started on them."""

    task: Path
    opt: Path
    runtime: Path
    scratch: Path
    interpreter: Interpreter
    isolation: sandbox.Isolation
    region: str
    passed: Mapping[str, str]
    runtime_name: str  # python3.12
    suffixes: tuple[str, ...]  # the target's extension module suffixes
    hide: Mapping[str, tuple[str, ...]]  # host library directory -> names Lambda lacks (namespace only)
    block_compiled: bool  # refuse every compiled module of the artifacts (this interpreter cannot load them)


def prepare_runtime(directory: Path, interpreter: Interpreter) -> str:
    """Fill /var/runtime; returns why awslambdaric is not there ("" when it is)."""
    client, why = runtime_dir.client_files(interpreter.version, interpreter.machine)
    runtime_dir.prepare(directory, client)
    return why


def run(stage: Stage, function: Function, event: bytes | None, echo: Callable[[str], None]) -> Outcome:
    """Start the runtime on the stage for ``function``, give it ``event`` (None: init only), collect the answer."""
    isolation = stage.isolation
    places = sandbox.places_for(isolation, stage.task, stage.opt, stage.runtime, stage.scratch / "tmp")
    (stage.scratch / "tmp").mkdir(exist_ok=True)
    runtime_dir.configure(stage.runtime, {"roots": [places.task, places.opt], "suffixes": list(stage.suffixes),
                                          "block_compiled": stage.block_compiled, "opt": places.opt})
    region = stage.region
    with RuntimeAPI(event, lambda_env.function_arn(region, function.name), function.timeout) as api:
        env = lambda_env.lambda_environment(
            places, runtime=stage.runtime_name, handler=function.handler, function_name=function.name,
            memory=function.memory, region=region, runtime_api=api.address, configured=function.environment,
            passed=stage.passed)
        command = [*stage.interpreter.command, "-S", "-s", "-B", f"{places.runtime}/bootstrap.py"]
        cwd = stage.task
        if isolation.prefix:
            stash = stage.scratch / "host"
            stash.mkdir(exist_ok=True)
            mounts = sandbox.Mounts(stage.task, stage.opt, stage.runtime, stash,
                                    (*stage.interpreter.needs, *runtime_dir.link_targets(stage.runtime)),
                                    function.ephemeral_mb, stage.hide)
            script, why = sandbox.mount_script(mounts, command)
            if script is None:
                raise VerifyError(f"verify: cannot lay out /opt in a namespace here: {why}\n"
                                  f"  set LAMBDA_TASKS_VERIFY_NO_NAMESPACE=1 to run with paths mapped")
            command = [*isolation.prefix, "/bin/sh", "-c", script]
            cwd = stage.scratch
        ended = sandbox.run(command, env, cwd, api, has_event=event is not None, timeout=function.timeout,
                            memory_mb=function.memory, echo=echo)
        exchange = api.exchange
    if isolation.prefix and ended.code == sandbox.SETUP_FAILED and exchange.init_done is None:
        last = (ended.output.strip().splitlines() or ["no output"])[-1]
        mapped = dataclasses.replace(stage, isolation=sandbox.Isolation((), f"the namespace failed here: {last}"))
        outcome = run(mapped, function, event, echo)
        outcome.fell_back = mapped.isolation.why_not
        return outcome
    outcome = Outcome(init_seconds=exchange.init_seconds, call_seconds=exchange.call_seconds, peak=ended.peak,
                      output=ended.output)
    for note in exchange.notes:
        if "blocked" in note and note["blocked"] not in outcome.blocked:
            outcome.blocked.append(note["blocked"])
        if note.get("failure"):
            outcome.failure = note
            outcome.foreign += note.get("foreign") or []
        outcome.stand_in = outcome.stand_in or bool(note.get("stand_in"))
        outcome.loaded += note.get("loaded") or []
    if exchange.init_error is not None:
        outcome.error, outcome.init_error = exchange.init_error, True
    elif exchange.error is not None:
        outcome.error = exchange.error
    elif exchange.response is not None:
        outcome.answered = True
        try:
            outcome.answer = json.loads(exchange.response or b"null")
        except ValueError:
            outcome.answer = exchange.response.decode("utf-8", "replace")
    if ended.stopped == "memory":
        outcome.stopped, outcome.answered = "memory", False
        outcome.error = {"errorType": "Runtime.OutOfMemory", "errorMessage": (
            f"RequestId: {exchange.request_id} Error: Runtime exited with error: signal: killed")}
        outcome.detail = f"peak memory {ended.peak // 1048576} MB over the function's {function.memory} MB"
    elif ended.stopped in ("timeout", "init timeout"):
        outcome.stopped = ended.stopped
        limit = function.timeout if ended.stopped == "timeout" else lambda_env.INIT_SECONDS + function.timeout
        outcome.error = {"errorType": "Sandbox.Timedout",
                         "errorMessage": f"RequestId: {exchange.request_id} Error: Task timed out after "
                                         f"{limit:.2f} seconds"}
    elif not outcome.answered and outcome.error is None and (event is not None or exchange.init_done is None):
        outcome.stopped = "exited"
        outcome.error = {"errorType": "Runtime.ExitError",
                         "errorMessage": f"RequestId: {exchange.request_id} Error: Runtime exited with error: "
                                         f"exit status {ended.code}"}
    return outcome
