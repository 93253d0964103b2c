"""``invoke verify``: load the built handler the way Lambda does, before deploying it.

The function zip is unpacked as /var/task and the layers, in order, as /opt (in a temporary directory);
a fresh ``python -I -S -B`` starts with Lambda's sys.path order, imports the handler module, resolves
the handler and, given an event, calls it. When this host cannot load the artifacts' compiled modules
(another CPU, no interpreter of the target's Python version), they are refused, named as "not checked
on this host", and the rest is checked.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from .. import project_paths
from ..config import FunctionSpec, Settings
from ..errors import BytecodeError, VerifyError
from ..host import describe, find_emulated, find_interpreter, machine
from ..limits import PAYLOAD_BYTES
from ..manifest import Manifest, require
from ..report import Reporter
from ..targets import RUNTIME_MODULES, Target
from ..verify import static as imports

_CHILD = Path(__file__).with_name("_child.py")


class ChildReport(TypedDict, total=False):
    """What _child.py writes: how far the handler got, and what it could not load."""

    ok: bool
    stage: str
    error_type: str
    message: str
    missing: str | None
    not_checkable: bool
    stopped_at: str | None
    blocked: list[str]
    where: str | None
    traceback: str
    result: object


@dataclass
class VerifyResult:
    """What verify checked, what it could not check, and the handlers' answers."""

    handlers: list[str]
    interpreter: str
    compiled_checked: bool
    unchecked: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    results: dict[str, object] = field(default_factory=dict)
    not_loaded: list[str] = field(default_factory=list)  # compiled modules refused on this host, by name

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


@dataclass(frozen=True)
class Call:
    """One function as verify runs it: its handler and what Lambda would give it (name, memory, environment)."""

    handler: str
    function_name: str
    memory: int
    timeout: int
    environment: Mapping[str, str]


def calls_of(settings: Settings, function: str | None = None, handler: str | None = None) -> list[Call]:
    """The functions to verify: the one ``function`` names (its deployed name or short name), or the one
    ``handler`` names, else every function (the first is the one an event is given to)."""
    specs = settings.function_specs()
    if handler is not None:
        spec = next((s for s in specs if (s.handler or settings.handler) == handler), FunctionSpec("verify"))
        return [_call(settings, dataclasses.replace(spec, handler=handler))]
    if function is not None:
        chosen = [spec for spec in specs if function in (spec.name, spec.short_name)]
        if not chosen:
            known = ", ".join(spec.short_name or spec.name for spec in specs) or "none (set functions)"
            raise VerifyError(f"no function named {function!r}\n  the functions: {known}")
        return [_call(settings, chosen[0])]
    if not specs:
        return [_call(settings, FunctionSpec(settings.function_name or "verify"))]
    calls: dict[str, Call] = {}
    for spec in specs:  # each handler once: the first function that has it
        call = _call(settings, spec)
        calls.setdefault(call.handler, call)
    return list(calls.values())


def _call(settings: Settings, spec: FunctionSpec) -> Call:
    return Call(spec.handler or settings.handler, spec.name,
                spec.memory if spec.memory is not None else settings.memory,
                spec.timeout if spec.timeout is not None else settings.timeout,
                dict(spec.environment if spec.environment is not None else settings.environment))


def verify(settings: Settings, event: Path | None, reporter: Reporter, function: str | None = None,
           handler: str | None = None, remembered: bool = False) -> VerifyResult:
    """Check that the built artifacts load (and, with ``event``, run) as Lambda would run them: every function's
    handler is imported and resolved; the first (or the one ``function``/``handler`` picks) is called with the
    event. With ``remembered`` (deploy), a success on the same inputs before counts (``memo``).

    Raises :class:`VerifyError` naming what fails; returns a :class:`VerifyResult` otherwise.
    """
    manifest = require(settings.manifest_path, settings.output_dir)
    target = settings.target
    if (manifest.runtime, manifest.architecture) != (target.runtime, target.arch):
        raise VerifyError(f"{settings.manifest_path.name} was built for {manifest.runtime}/{manifest.architecture}, "
                          f"not {target}; run `invoke build` for {target} first")
    payload = _read_event(event) if event is not None else None
    calls = calls_of(settings, function, handler)
    handlers = [call.handler for call in calls]
    plan = choose_plan(target, settings.bytecode_python)
    result = VerifyResult(handlers, " ".join(plan.command), plan.compiled)
    key = None
    if remembered and payload is None:
        from . import memo

        key = memo.memo_key(manifest, calls, plan.command, plan.compiled, settings.extra_layers)
        known = memo.recall(key)
        if known is not None:
            result.unchecked, result.warnings = known["unchecked"], known["warnings"]
            return _said(result, reporter, "; verified before: the same artifacts, handlers, environments and "
                         "interpreter")
    details: list[str] = []
    with tempfile.TemporaryDirectory(prefix="lambda-tasks-verify-") as scratch:
        if manifest.image is not None:
            layout = _lay_out_image(Path(scratch), settings, manifest)
            reporter.info(f"verify: the image's {len(manifest.image.layers)} layer(s) of ours as /var/task, "
                          f"{target} with {_describe(plan)}")
        else:
            layout = lay_out(Path(scratch), settings.output_dir / manifest.app.path,
                             [settings.output_dir / layer.path for layer in manifest.layers])
            reporter.info(f"verify: {manifest.app.path} as /var/task, {layout.layers} layer(s) as /opt, "
                          f"{target} with {_describe(plan)}")
        problems = imports.check_static(layout.task, layout.sys_path(target), target, handlers)
        if problems and settings.extra_layers:
            result.warnings += [f"{p} (unless an extra layer provides it)" for p in problems]
            problems = []
        if problems:
            count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
            raise VerifyError(f"verify failed: {count} in the app's imports or handlers\n"
                              + "\n".join(f"  {problem}" for problem in problems))
        for index, call in enumerate(calls):
            _run_handler(settings, layout, call, payload if index == 0 else None, plan, result, details, reporter)
    if result.not_loaded:
        noun = "compiled module" if len(result.not_loaded) == 1 else "compiled modules"
        result.unchecked.append(f"{noun} {', '.join(result.not_loaded)} ({plan.why_not})")
    result.unchecked += [*details, *plan.notes]
    if settings.extra_layers:
        result.unchecked.append(f"the {len(settings.extra_layers)} extra layer(s) given by ARN (not available locally)")
    result.unchecked = list(dict.fromkeys(result.unchecked))
    if key is not None:
        memo.remember(key, result.unchecked, result.warnings)
    return _said(result, reporter)


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


def _run_handler(settings: Settings, layout: Layout, call: Call, payload: object, plan: Plan,
                 result: VerifyResult, details: list[str], reporter: Reporter) -> None:
    target = settings.target
    handler = call.handler
    module = handler.rsplit(".", 1)[0]
    outcome = run_child(layout, target, call, payload, plan, reporter)
    blocked = list(outcome.get("blocked") or [])
    result.not_loaded += [name for name in blocked if name not in result.not_loaded]
    if outcome.get("ok"):
        host_python = platform.python_version()
        where = "" if plan.same_version else f" (ran under this host's Python {host_python}, not {target.runtime})"
        reporter.info(f"verify: imported {module} and resolved {handler}{where}")
        if blocked:
            details.append(f"{module} went on without {', '.join(blocked)}, so on Lambda it may behave differently")
        if "result" in outcome:
            result.results[handler] = outcome["result"]
            reporter.info(f"result of {handler}{where}:")
            reporter.info(json.dumps(outcome["result"], indent=2, sort_keys=True, default=str))
        return
    if outcome.get("not_checkable"):
        stopped = outcome.get("stopped_at") or (blocked[-1] if blocked else "a compiled module")
        called = f" and the call of {handler}" if payload is not None else ""
        details.append(f"the rest of the import of {module} after {stopped}{called}")
        return
    message = f"{handler}: {outcome.get('stage')} failed: {outcome.get('error_type')}: {outcome.get('message')}"
    if outcome.get("missing"):
        message += f" (module {outcome.get('missing')!r} is in neither the function zip nor the layers)"
    if plan.same_version:
        raise VerifyError(f"verify failed: {message}{_last_frame(outcome)}")
    result.warnings.append(f"{message} under this host's Python {platform.python_version()}; it may work on "
                           f"{target.runtime}, which this host cannot run")


def run_child(layout: Layout, target: Target, call: Call, payload: object, plan: Plan,
              reporter: Reporter) -> ChildReport:
    """Run the handler in a fresh isolated interpreter with the function's environment variables, as Lambda
    sets them; return its report (see _child.py)."""
    handler = call.handler
    work = layout.root / "verify"
    work.mkdir(exist_ok=True)
    runtime_dir = work / "runtime"
    runtime_dir.mkdir(exist_ok=True)
    _link_runtime_packages(runtime_dir)
    report_path = work / f"report-{handler.replace('/', '_')}.json"
    config = {
        "paths": layout.sys_path(target), "runtime_paths": [str(runtime_dir)], "handler": handler,
        "roots": [str(layout.task), str(layout.opt)], "block_compiled": not plan.compiled,
        "suffixes": list(imports.extension_suffixes(target)),
        "has_event": payload is not None, "event": payload, "report": str(report_path),
        "function_name": call.function_name, "memory": call.memory, "timeout": call.timeout,
    }
    config_path = work / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    env = {**os.environ, **dict(call.environment), **_lambda_environment(layout, target, call)}
    try:
        done = subprocess.run([*plan.command, "-I", "-S", "-B", str(_CHILD), str(config_path)], cwd=layout.task,
                              env=env, capture_output=True, text=True, timeout=call.timeout + 60)
    except subprocess.TimeoutExpired:
        raise VerifyError(f"verify: {handler} did not finish within {call.timeout + 60}s (timeout is "
                          f"{call.timeout}s)") from None
    for line in (done.stdout + done.stderr).splitlines():
        reporter.info(f"  | {line}")
    try:
        report: ChildReport = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise VerifyError(f"verify: the interpreter running {handler} stopped without a report (exit code "
                          f"{done.returncode}): {(done.stderr.strip().splitlines() or ['no output'])[-1]}") from None
    return report


def lay_out(root: Path, app_zip: Path, layer_zips: list[Path]) -> Layout:
    """Unpack the function zip as ``root/var/task`` and each layer, in order, over ``root/opt``."""
    task, opt = root / "var" / "task", root / "opt"
    task.mkdir(parents=True)
    opt.mkdir()
    _extract(app_zip, task)
    for layer in layer_zips:
        _extract(layer, opt)  # a later layer's file wins, as on Lambda
    return Layout(root, task, opt, len(layer_zips))


def _lay_out_image(root: Path, settings: Settings, manifest: Manifest) -> Layout:
    from .image_layout import unpack_layers

    assert manifest.image is not None
    (root / "opt").mkdir()
    unpack_layers(root, settings.output_dir / manifest.image.path / "blobs" / "sha256", manifest.image.layers)
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
    """The event as JSON: a regular file (a FIFO or /dev/zero is refused before reading), at most Lambda's 6 MB
    payload, nesting bounded."""
    if not os.path.lexists(path):
        raise VerifyError(f"event file {path} does not exist")
    found = project_paths.regular_file(path, "event file")
    data = project_paths.read_bytes(found, PAYLOAD_BYTES, f"event file {path}")
    return project_paths.parse_json(data, f"event file {path}", VerifyError)


def _lambda_environment(layout: Layout, target: Target, call: Call) -> dict[str, str]:
    """The variables Lambda sets for a Python function, pointing at the local layout."""
    library_path = [str(layout.task), str(layout.task / "lib"), str(layout.opt / "lib")]
    if os.environ.get("LD_LIBRARY_PATH"):
        library_path.append(os.environ["LD_LIBRARY_PATH"])
    return {
        "LAMBDA_TASK_ROOT": str(layout.task), "LAMBDA_RUNTIME_DIR": str(layout.root / "verify" / "runtime"),
        "_HANDLER": call.handler, "AWS_EXECUTION_ENV": f"AWS_Lambda_{target.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": call.function_name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(call.memory), "TZ": ":UTC", "LANG": "en_US.UTF-8",
        "LD_LIBRARY_PATH": ":".join(library_path),
    }


def _link_runtime_packages(directory: Path) -> None:
    """Stand-ins for the runtime's own boto3 & co: links to this host's copies, when it has them."""
    import importlib.util

    for name in RUNTIME_MODULES:
        if (directory / name).exists() or (directory / f"{name}.py").exists():
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.origin:
            continue
        if spec.submodule_search_locations:
            source = Path(next(iter(spec.submodule_search_locations)))
            (directory / name).symlink_to(source, target_is_directory=True)
        elif spec.origin.endswith(".py"):
            (directory / f"{name}.py").symlink_to(spec.origin)


def _last_frame(outcome: ChildReport) -> str:
    frame = outcome.get("where")
    return f" (at {frame})" if frame else ""
