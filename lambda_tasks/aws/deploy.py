"""Deploy the Lambda function(s) of the app: every function in each of its regions (the matrix), side by side.

The checks come first (what AWS would refuse, sizes, the layer count), then ``rollout.py`` runs the matrix;
:class:`~.deployer.Deployer` creates or updates one function in one region. A deploy of one function in one
region fails with its own error; a matrix with failures fails with one error naming each, once the others are
done.
"""

from __future__ import annotations

import time

from ..aws import clients as aws
from ..aws import validate, waiting
from ..aws.deployer import Deployer, DeployResult, check_total_size
from ..aws.function_config import CONFIG_FIELDS, code_changed, config_changes, desired_config, layer_list
from ..aws.matrix import deploy_matrix, failure_message, plan_table
from ..aws.publish import Publisher, check_uploadable
from ..aws.rollout import Rollout
from ..aws.steps import FunctionStep
from ..config import Settings
from ..errors import DeployError
from ..manifest import Manifest
from ..report import Reporter

__all__ = ["CONFIG_FIELDS", "DeployResult", "Deployer", "FunctionStep", "code_changed", "config_changes",
           "deploy_functions", "desired_config", "layer_list"]

#: Where a deploy that leaves parts of an app out sends the user.
NOT_DEPLOYED_HELP = 'see the README, section "Chalice projects", for what deploys them'


def deploy_functions(
    settings: Settings,
    manifest: Manifest,
    *,
    clients: aws.Clients | None = None,
    reporter: Reporter | None = None,
    plan: bool = False,
    sleep: aws.Sleep = time.sleep,
    result: DeployResult | None = None,
) -> DeployResult:
    """Publish the layers in each region, then create or update every function in each of its regions,
    ``max_parallel`` at a time. ``result`` is filled as steps finish: after a Ctrl-C it says what was done."""
    specs = settings.function_specs()
    if not specs:
        raise DeployError("no function to deploy: pass --function-name NAME, or set function_name or functions")
    clients = clients or aws.Clients()
    reporter = reporter or Reporter()
    for spec in specs:
        layer_list(settings, [layer.name for layer in manifest.layers], spec)
    check_total_size(settings, manifest)
    check_uploadable(settings, f"the app zip ({manifest.app.path})", manifest.app.zip_bytes)
    validate.refuse(validate.deploy_problems(settings) + validate.manifest_problems(
        settings, manifest, [spec.handler or settings.handler for spec in specs]))
    result = result if result is not None else DeployResult()
    needs_default = any(spec.regions is None for spec in specs)
    pairs = deploy_matrix(specs, clients.regions(settings.regions) if needs_default else settings.regions)
    result.matrix = [(region, spec.name) for region, spec in pairs]
    result.layers.regions = list(dict.fromkeys(region for region, _ in pairs))
    deployer = Deployer(settings, manifest, Publisher(settings, clients, reporter, sleep), plan)
    started = time.monotonic()
    with waiting.watching(reporter):
        Rollout(deployer, pairs, result, plan, settings.max_parallel).run()
    if len(pairs) > 1 and not plan:
        ok = len(pairs) - len(result.failures)
        reporter.info(f"functions x regions: {ok} of {len(pairs)} deployed ({len(specs)} function(s) in "
                      f"{len(result.layers.regions)} region(s), {settings.max_parallel} at once) in "
                      f"{time.monotonic() - started:.1f}s")
    if plan and len(pairs) > 1:
        for line in ["plan: functions x regions", *plan_table(pairs, result.functions, result.failures)]:
            reporter.info(line)
    left_out = [line for spec in specs for line in spec.not_deployed]
    for line in left_out:
        reporter.info(f"not deployed here: {line}")
    if result.failures:
        failure = result.failures[0]
        if len(pairs) == 1 and failure.error is not None:
            raise failure.error
        raise DeployError(failure_message(result.failures, len(pairs)))
    if plan:
        reporter.info("plan only: nothing was changed" if result.changed else "plan: nothing to change")
    elif not result.changed:
        reporter.info("Nothing changed since the last deploy: no layer published, no function updated")
    if left_out:
        parts = f"{len(left_out)} parts of the app are" if len(left_out) > 1 else "1 part of the app is"
        reporter.info(f"{parts} not deployed by lambda-tasks: {NOT_DEPLOYED_HELP}")
    return result
