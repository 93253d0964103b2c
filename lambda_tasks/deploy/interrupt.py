"""What a Ctrl-C during publish or deploy leaves behind, in words: what was done, what was in progress, what not.

A re-run finishes the job: layers are found by content hash, a function that exists is updated, a version with
the same code and configuration is reused; nothing is published twice.
"""

from __future__ import annotations

import sys
from typing import TextIO

from ..aws.waiting import interrupted_step
from ..manifest import Manifest
from ..report import Reporter
from ..sections import DeploySettings, FunctionSettings
from .functions import DeployResult
from .layer_publish import PublishResult

RERUN = "running the command again finishes the job (nothing is published twice)"
#: steps that only look (their labels start so): interrupting them changes nothing
READS = ("read ", "list ", "check ")


def interrupted_message(function: FunctionSettings, settings: DeploySettings, manifest: Manifest,
                        result: PublishResult | DeployResult, *, plan: bool = False,
                        in_progress: str | None = None) -> str:
    """The first line says it was interrupted and what a re-run does; indented lines: done, in progress, not done
    (the functions ``function`` names, in the regions ``settings`` names)."""
    layers = result.layers if isinstance(result, DeployResult) else result
    functions = result.functions if isinstance(result, DeployResult) else []
    looking = in_progress is None or in_progress.startswith(READS)
    if plan:
        head = "interrupted (Ctrl-C) during --plan: nothing was changed"
    elif not layers.published and not any(step.changed for step in functions) and looking:
        head = "interrupted (Ctrl-C) before anything was changed in AWS; run the command again"
    else:
        head = f"interrupted (Ctrl-C): {RERUN}"
    lines = [head]
    role = result.role if isinstance(result, DeployResult) else None
    if role is not None and role.changed and not plan:
        lines.append(f"  done: {role.describe()}")
    lines += [f"  done: {step.describe(settings, planned=plan)}" for step in layers.steps]
    lines += [f"  done: {step.describe(planned=plan)}" for step in functions]
    if in_progress:
        note = "" if plan or looking else " (it may or may not have reached AWS; the next run checks first)"
        lines.append(f"  in progress: {in_progress}{note}")
    regions = layers.regions or list(settings.regions)
    finished_layers = {(step.region, step.record.name) for step in layers.steps}
    missing = [f"layer {record.name} [{region}]" for region in regions for record in manifest.layers
               if (region, record.name) not in finished_layers]
    if isinstance(result, DeployResult):
        finished = {(step.region, step.spec.name) for step in functions}
        matrix = result.matrix or [(region, spec.name) for region in regions for spec in function.function_specs()]
        missing += [f"function {name} [{region}]" for region, name in matrix if (region, name) not in finished]
    lines += [f"  not done: {item}" for item in missing]
    if not regions:
        lines.append("  not done: everything (no region was chosen yet)")
    return "\n".join(lines)


def report_interrupted(reporter: Reporter, function: FunctionSettings, settings: DeploySettings, manifest: Manifest,
                       result: PublishResult | DeployResult, *, plan: bool = False,
                       stream: TextIO | None = None) -> None:
    """Print :func:`interrupted_message` on stderr (after closing a progress line), with the step in progress."""
    reporter.status_done()
    # the step a Ctrl-C went through; in a parallel deploy (the workers never see it) the steps then in flight
    running = result.in_progress if isinstance(result, DeployResult) else []
    in_progress = interrupted_step() or ("; ".join(running) if running else None)
    message = interrupted_message(function, settings, manifest, result, plan=plan, in_progress=in_progress)
    target = stream or sys.stderr
    target.write(message + "\n")
    target.flush()
