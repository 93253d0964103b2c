"""``invoke verify``: run the built handler the way Lambda does, before deploying it.

The function zip is unpacked as /var/task and the layers, in order, as /opt; AWS's runtime interface client
(``awslambdaric``) runs the handler against a local Runtime API on 127.0.0.1, in a private mount namespace where
the machine allows one, with Lambda's environment and the function's own (nothing of the developer's shell),
its timeout and memory size enforced. When this host cannot load the artifacts' compiled modules (another CPU,
no interpreter of the target's Python version), they are refused, named as "not checked on this host", and the
rest is checked. docs/verify.md says what it reproduces of Lambda and what it cannot.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import project_paths
from ..errors import BytecodeError, VerifyError
from ..host import describe, find_emulated, find_interpreter, machine
from ..limits import PAYLOAD_BYTES
from ..manifest import Manifest, require
from ..report import Reporter, human_bytes
from ..sections import FunctionSettings, LayerSettings
from ..shared_libraries import check_laid_out
from ..targets import Target
from ..verify import static as imports
from . import events, execution, host_libraries, lambda_env, memo, sandbox, verdict
from .calls import Call, calls_of, every_call
from .image_layout import unpack_layers

__all__ = ["Call", "Plan", "VerifyResult", "calls_of", "choose_plan", "lay_out", "verify"]


@dataclass
class VerifyResult:
    """What verify checked, what it could not check, and the handlers' answers."""

    handlers: list[str]
    interpreter: str
    compiled_checked: bool
    unchecked: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    results: dict[str, object] = field(default_factory=dict)
    errors: dict[str, object] = field(default_factory=dict)  # Lambda's error documents, by handler
    not_loaded: list[str] = field(default_factory=list)  # compiled modules refused on this host, by name
    rows: list[verdict.Row] = field(default_factory=list)  # verify --all's table
    isolation: str = ""  # "namespace", or why paths were mapped

    @property
    def result(self) -> object:
        """The first handler's answer (None without an event)."""
        return next(iter(self.results.values()), None)


@dataclass(frozen=True)
class Plan:
    """How the handler runs here: which interpreter, and whether it may load the compiled modules."""

    command: tuple[str, ...]
    compiled: bool  # the interpreter loads the target's extension modules
    same_version: bool  # it is the target's Python version, so a failure of pure code is real
    why_not: str = ""  # why compiled modules are refused: "built for aarch64, this host is x86_64"
    notes: tuple[str, ...] = ()  # what else this host cannot check


@dataclass(frozen=True)
class Layout:
    """The Lambda-like tree: ``task`` is /var/task, ``opt`` is /opt."""

    root: Path
    task: Path
    opt: Path
    layers: int

    def sys_path(self, target: Target) -> list[str]:
        major, minor = target.python_version
        return [str(self.task), str(self.opt / "python" / "lib" / f"python{major}.{minor}" / "site-packages"),
                str(self.opt / "python")]


def verify(settings: LayerSettings, functions: FunctionSettings, event: Path | None, reporter: Reporter,
           function: str | None = None, handler: str | None = None, remembered: bool = False, *,
           pass_env: Sequence[str] = (), all_functions: bool = False, kinds: Mapping[str, str] | None = None,
           regions: Sequence[str] = ()) -> VerifyResult:
    """Check that the built artifacts load (and, with ``event``, run) as Lambda would run them: every function's
    handler is loaded by Lambda's runtime client; the first (or the one ``function``/``handler`` picks) is given
    the event. ``all_functions``: every function is given a sample event of its kind (``kinds``: short name or
    handler -> a Chalice kind or one of events.KINDS; else the sample ``event`` names, else API Gateway REST),
    and a table is printed. ``pass_env``: names of this shell's variables the handler gets on purpose.
    With ``remembered`` (deploy), a success on the same inputs before counts (``memo``). The artifacts are the
    ones ``settings`` (the layers' section) names; ``functions`` says what Lambda gives each handler; the
    handlers are told they run in the first of ``regions`` (else AWS_REGION's).

    Raises :class:`VerifyError` naming what fails; returns a :class:`VerifyResult` otherwise.
    """
    manifest = require(settings.manifest_path, settings.output_dir)
    target = settings.target
    if (manifest.runtime, manifest.architecture) != (target.runtime, target.arch):
        raise VerifyError(f"{settings.manifest_path.name} was built for {manifest.runtime}/{manifest.architecture}, "
                          f"not {target}; run `invoke build` for {target} first")
    payload = _read_event(event) if event is not None else None
    passed = lambda_env.passed_variables(pass_env, os.environ)
    calls = every_call(functions) if all_functions else calls_of(functions, function, handler)
    handlers = list(dict.fromkeys(call.handler for call in calls))
    plan = choose_plan(target, settings.bytecode_python)
    result = VerifyResult(handlers, " ".join(plan.command), plan.compiled)
    key = None
    if remembered and payload is None:
        key = memo.memo_key(manifest, calls, plan.command, plan.compiled, settings.extra_layers)
        known = memo.recall(key)
        if known is not None:
            result.unchecked, result.warnings = known["unchecked"], known["warnings"]
            return _said(result, reporter, "; verified before: the same artifacts, handlers, environments and "
                         "interpreter")
    region = (regions[0] if regions else
              os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    with tempfile.TemporaryDirectory(prefix="lambda-tasks-verify-") as scratch:
        if manifest.image is not None:
            layout = _lay_out_image(Path(scratch), settings.output_dir, manifest)
            what = f"the image's {len(manifest.image.layers)} layer(s) of ours as /var/task"
        else:
            layout = lay_out(Path(scratch), settings.output_dir / manifest.app.path,
                             [settings.output_dir / layer.path for layer in manifest.layers])
            what = f"{manifest.app.path} as /var/task, {layout.layers} layer(s) as /opt"
        # the native libraries each ELF file needs, resolved as Lambda's loader would (not from this host)
        result.unchecked += check_laid_out(layout.task, layout.opt, target, settings.audit_allow,
                                           settings.extra_layers)
        static = imports.check_static(layout.task, layout.sys_path(target), target, handlers)
        stage = _stage(layout, plan, target, region, passed, reporter, what, result)
        failures: list[str] = []
        loaded: set[str] = set()  # the function zip's files the real import ran
        resolved: set[str] = set()  # the handlers it found
        for index, call in enumerate(calls):
            kind = _kind_of(call, kinds, event) if all_functions else None
            given = (payload if kind.startswith("file ") else events.sample(kind)) if kind else \
                payload if index == 0 else None
            echo = verdict.LogEcho(reporter.info)
            outcome = execution.run(stage, _function(call), None if given is None else json.dumps(given).encode(),
                                    echo)
            echo.finish(keep=not outcome.blocked)  # verify stopped the import itself: said as "not checked"
            loaded.update(outcome.loaded)
            if outcome.fell_back:
                stage = dataclasses.replace(stage, isolation=sandbox.Isolation((), outcome.fell_back))
                reporter.info(f"verify: paths mapped, not laid out at /var/task and /opt: {outcome.fell_back}")
                result.isolation = outcome.fell_back
            judged = _record(result, call, outcome, plan, target, given is not None, reporter,
                             len(settings.extra_layers))
            if judged.status == "ok":
                resolved.add(call.handler)
            if judged.status == "failed":
                failures.append(judged.line)
                if not all_functions:
                    break
            if all_functions:
                result.rows.append(verdict.Row(call.function_name, kind or "-", verdict.status_of(outcome, judged),
                                               outcome.init_seconds, outcome.call_seconds, outcome.peak, call.memory))
    for problem in static:  # what the real import proved wrong is dropped; the rest is a warning
        if problem.split(":", 1)[0] not in loaded and problem.split(" ")[1].rstrip(":") not in resolved:
            result.warnings.append(f"static import check: {problem} (the import decides; it did not run this code "
                                   "here)")
    if all_functions:
        for line in verdict.table(result.rows):
            reporter.info(line)
    if failures:
        for note in result.warnings:
            reporter.warn(note)
        if len(failures) == 1:
            raise VerifyError(f"verify failed: {failures[0]}")
        raise VerifyError(f"verify failed in {len(failures)} functions\n" + "\n".join(
            "  " + failure.replace("\n", "\n  ") for failure in failures))
    if result.not_loaded:
        noun = "compiled module" if len(result.not_loaded) == 1 else "compiled modules"
        result.unchecked.insert(0, f"{noun} {', '.join(result.not_loaded)} ({plan.why_not or 'another CPU'})")
    result.unchecked += list(plan.notes)
    if settings.extra_layers:
        result.unchecked.append(f"the {len(settings.extra_layers)} extra layer(s) given by ARN (not available locally)")
    result.unchecked = list(dict.fromkeys(result.unchecked))
    if key is not None:
        memo.remember(key, result.unchecked, result.warnings)
    return _said(result, reporter)


def _stage(layout: Layout, plan: Plan, target: Target, region: str, passed: Mapping[str, str],
           reporter: Reporter, what: str, result: VerifyResult) -> execution.Stage:
    """Resolve the interpreter, choose namespace or mapped paths, fill /var/runtime; say how it will run."""
    interpreter = execution.resolve(plan.command)
    isolation = sandbox.detect()
    runtime = layout.root / "runtime"
    why = execution.prepare_runtime(runtime, interpreter)
    reporter.info(f"verify: {what}, {target} with {_describe(plan)}")
    if isolation.prefix:
        result.isolation = "namespace"
        reporter.info("verify: in a private mount namespace: /var/task and /opt read-only, /tmp its own")
    else:
        result.isolation = isolation.why_not
        reporter.info(f"verify: paths mapped, not laid out at /var/task and /opt: {isolation.why_not}")
    if why:
        result.unchecked.append(f"Lambda's runtime client (awslambdaric): {why}; a stand-in spoke its protocol")
    hide = _hidden_libraries(layout, target, interpreter, isolation, reporter, result)
    return execution.Stage(layout.task, layout.opt, runtime, layout.root, interpreter, isolation, region, passed,
                           target.runtime, imports.extension_suffixes(target), hide=hide,
                           block_compiled=not plan.compiled)


def _hidden_libraries(layout: Layout, target: Target, interpreter: execution.Interpreter,
                      isolation: sandbox.Isolation, reporter: Reporter,
                      result: VerifyResult) -> dict[str, tuple[str, ...]]:
    """The host libraries the artifacts need that Lambda lacks, by directory (hidden in the namespace)."""
    base = host_libraries.base_table(target.runtime, target.python_version)
    executable, _, prefix = interpreter.needs
    names = host_libraries.to_hide(layout.task, layout.opt, base or frozenset(),
                                   host_libraries.interpreter_files(executable, prefix, interpreter.version))
    if not names:
        return {}
    if base is None or not isolation.prefix or not host_libraries.overlay_available():
        why = ("no table of Lambda's base images here" if base is None else
               "paths mapped" if not isolation.prefix else "no overlayfs here")
        shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
        what = f"whether Lambda has the native libraries {shown}" if base is None else \
            f"the native libraries {shown}, which Lambda lacks, loaded from this host"
        result.unchecked.append(f"{what} ({why}; the build's audit checks them)")
        return {}
    places = host_libraries.host_places(names)
    if places:
        hidden = sorted({name for found in places.values() for name in found})
        reporter.info(f"verify: hidden from the loader, as Lambda's {target.runtime} lacks them: {', '.join(hidden)}")
    return {directory: tuple(found) for directory, found in places.items()}


def _function(call: Call) -> execution.Function:
    return execution.Function(call.handler, call.function_name, max(call.memory, 128), max(call.timeout, 1),
                              call.environment, call.ephemeral_mb)


def _kind_of(call: Call, kinds: Mapping[str, str] | None, event: Path | None) -> str:
    """The sample a function gets from ``verify --all`` (its kind's), else what ``--event`` names (a sample,
    or a file, shown by its name), else API Gateway REST's."""
    known = (kinds or {}).get(call.short_name) or (kinds or {}).get(call.handler)
    if known:
        return events.FOR_CHALICE.get(known, known if known in events.KINDS else "custom")
    if event is not None:
        return f"file {event.name}" if event.is_file() else str(event)
    return "api-rest"


def _record(result: VerifyResult, call: Call, outcome: execution.Outcome, plan: Plan, target: Target, called: bool,
            reporter: Reporter, extra_layers: int = 0) -> verdict.Verdict:
    """Judge one run, say it, and keep its answer, what it could not check and its warnings."""
    module = call.handler.rsplit(".", 1)[0]
    result.not_loaded += [name for name in outcome.blocked if name not in result.not_loaded]
    judged = verdict.judge(outcome, handler=call.handler, module=module, called=called,
                           target_machine=target.machine, host_machine=machine(), same_version=plan.same_version,
                           host_python=platform.python_version(), runtime=target.runtime,
                           extra_layers=extra_layers)
    result.unchecked += list(judged.unchecked)
    if outcome.stand_in and not any("awslambdaric" in note for note in result.unchecked):
        result.unchecked.append("Lambda's runtime client (awslambdaric): the runtime could not import it; a stand-in "
                                "spoke its protocol")
    timing = _timing(outcome, call)
    if judged.status == "ok":
        where = "" if plan.same_version else f" (ran under this host's Python {platform.python_version()}, " \
                                             f"not {target.runtime})"
        reporter.info(f"verify: {_named(call)}imported {module} and resolved {call.handler}{where}{timing}")
        if outcome.answered:
            result.results.setdefault(call.handler, outcome.answer)
            reporter.info(f"result of {call.handler}{where}:")
            reporter.info(json.dumps(outcome.answer, indent=2, sort_keys=True, default=str))
    elif judged.status == "warning":
        result.warnings.append(judged.line)
    elif judged.status == "failed" and outcome.error is not None:
        result.errors[call.handler] = outcome.error
        reporter.info(f"verify: {_named(call)}Lambda's error document{timing}:")
        reporter.info(verdict.error_document(outcome))
    return judged


def _named(call: Call) -> str:
    return "" if call.function_name == "verify" else f"{call.function_name}: "


def _timing(outcome: execution.Outcome, call: Call) -> str:
    parts = []
    if outcome.init_seconds is not None:
        parts.append(f"init {outcome.init_seconds * 1000:.0f} ms")
    if outcome.call_seconds is not None:
        parts.append(f"duration {outcome.call_seconds * 1000:.0f} ms")
    parts.append(f"peak memory {human_bytes(outcome.peak)} of {call.memory} MB")
    return f" ({', '.join(parts)})"


def _said(result: VerifyResult, reporter: Reporter, how: str = "") -> VerifyResult:
    """Print a successful verification's warnings, what it could not check, and its verdict."""
    for note in result.warnings:
        reporter.warn(note)
    if result.unchecked:
        reporter.info(f"verify: not checked on this host: {'; '.join(result.unchecked)}")
    reporter.info(f"verify: ok ({', '.join(result.handlers)}{how})")
    return result


def choose_plan(target: Target, configured: str | None) -> Plan:
    """The best this host can do: the target's CPU and version (natively, or under emulation when
    ``LAMBDA_TASKS_AARCH64_PYTHON`` names one), else its version with compiled modules refused, else this
    interpreter with compiled modules refused and failures of pure code as warnings."""
    host = machine()
    version = ".".join(map(str, target.python_version))
    hint = ""
    if host != target.machine:
        emulated, hint = find_emulated(target)
        if emulated is not None:
            return Plan(emulated.command, True, True)
    try:
        path = find_interpreter(target, configured)
    except BytecodeError:
        why = f"built for Python {version}, this host has none"
        if host != target.machine:
            why = f"built for {target.machine} and Python {version}, this host is {host} and has no Python {version}"
        note = (f"running the code under Python {version} (it ran under {platform.python_version()}): put "
                f"python{version} on PATH, in pyenv or uv, or set bytecode_python")
        return Plan((sys.executable,), False, False, why, (note,))
    described = describe((path,))
    cpu = described.machine if described else host
    if cpu == target.machine:
        return Plan((path,), True, True)
    return Plan((path,), False, True, f"built for {target.machine}, this host is {cpu}" + (f"; {hint}" if hint else ""))


def lay_out(root: Path, app_zip: Path, layer_zips: list[Path]) -> Layout:
    """Unpack the function zip as ``root/var/task`` and each layer, in order, over ``root/opt``."""
    task, opt = root / "var" / "task", root / "opt"
    task.mkdir(parents=True)
    opt.mkdir()
    _extract(app_zip, task)
    for layer in layer_zips:
        _extract(layer, opt)  # a later layer's file wins, as on Lambda
    return Layout(root, task, opt, len(layer_zips))


def _lay_out_image(root: Path, output_dir: Path, manifest: Manifest) -> Layout:
    assert manifest.image is not None
    (root / "opt").mkdir()
    unpack_layers(root, output_dir / manifest.image.path / "blobs" / "sha256", manifest.image.layers)
    (root / "var" / "task").mkdir(parents=True, exist_ok=True)
    return Layout(root, root / "var" / "task", root / "opt", 0)


def _extract(archive: Path, destination: Path) -> None:
    if not archive.is_file():
        raise VerifyError(f"{archive} is missing; run `invoke build` first")
    base = destination.resolve()
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            path = (destination / info.filename).resolve()
            if path != base and base not in path.parents:
                raise VerifyError(f"{archive.name} holds {info.filename!r}, which points outside its root")
            if info.is_dir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)
            with zipped.open(info) as source, open(path, "wb") as copy:
                shutil.copyfileobj(source, copy)
            mode = (info.external_attr >> 16) & 0o777
            os.chmod(path, mode or 0o644)


def _describe(plan: Plan) -> str:
    shown = " ".join(plan.command)
    return f"{shown} (this interpreter)" if plan.command == (sys.executable,) else shown


def _read_event(path: Path) -> object:
    """The event: a JSON file (a regular file: a FIFO or /dev/zero is refused before reading; at most Lambda's
    6 MB payload; nesting bounded), or the name of a sample (events.KINDS: s3, sqs, api-rest ...)."""
    if not os.path.lexists(path):
        if str(path) in events.KINDS:
            return events.sample(str(path))
        raise VerifyError(f"event file {path} does not exist\n  or name a sample event: {', '.join(events.KINDS)}")
    found = project_paths.regular_file(path, "event file")
    data = project_paths.read_bytes(found, PAYLOAD_BYTES, f"event file {path}")
    return project_paths.parse_json(data, f"event file {path}", VerifyError)
