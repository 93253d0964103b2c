"""Deploy the Lambda function(s) of the app: every function in each of its regions (the matrix), side by side.

The checks come first (what AWS would refuse, sizes, the layer count), then ``rollout.py`` runs the matrix
(:func:`run_matrix`, which ``image_deploy.py`` shares once it has pushed the image);
:class:`~.deployer.Deployer` creates or updates one function in one region. A deploy of one function in one
region fails with its own error; a matrix with failures fails with one error naming each, once the others are
done.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..aws import clients as aws
from ..aws import waiting
from ..config import FunctionSpec
from ..errors import DeployError
from ..manifest import Manifest
from ..report import Reporter
from ..sections import DeploySettings, FunctionSettings, LayerSettings
from . import preflight as validate
from .deployer import Deployer, DeployResult, check_total_size
from .function_config import CONFIG_FIELDS, code_changed, config_changes, desired_config, layer_list
from .layer_publish import Publisher, check_uploadable
from .matrix import Pair, deploy_matrix, failure_message, plan_table
from .rollout import Rollout
from .steps import FunctionStep

__all__ = ["CONFIG_FIELDS", "DeployResult", "Deployer", "FunctionStep", "code_changed", "config_changes",
           "default_regions", "deploy_functions", "desired_config", "function_specs", "layer_list", "run_matrix",
           "say_outcome"]

#: Where a deploy that leaves parts of an app out sends the user.
NOT_DEPLOYED_HELP = 'see docs/guides/chalice-projects.md ("Not deployed here") for what deploys them'


def deploy_functions(
    function: FunctionSettings,
    deploy: DeploySettings,
    layers: LayerSettings,
    manifest: Manifest,
    *,
    clients: aws.Clients | None = None,
    reporter: Reporter | None = None,
    plan: bool = False,
    sleep: aws.Sleep = time.sleep,
    result: DeployResult | None = None,
) -> DeployResult:
    """Publish the layers in each region, then create or update every function in each of its regions,
    ``max_parallel`` at a time. ``result`` is filled as steps finish: after a Ctrl-C it says what was done.
    The functions are configured as ``function`` says, named and placed as ``deploy`` says; ``layers`` says
    how the zips go up and which other layers the functions attach."""
    specs = function_specs(function)
    clients = clients or aws.Clients()
    reporter = reporter or Reporter()
    for spec in specs:
        layer_list(layers.extra_layers, [layer.name for layer in manifest.layers], spec)
    check_total_size(layers, manifest)
    check_uploadable(layers, f"the app zip ({manifest.app.path})", manifest.app.zip_bytes)
    validate.refuse(validate.deploy_problems(function, deploy, layers, "zip") + validate.manifest_problems(
        layers, manifest, [spec.handler or function.handler for spec in specs]))
    pairs = deploy_matrix(specs, default_regions(deploy.regions, specs, clients))
    deployer = Deployer(function, deploy, manifest, Publisher(layers, clients, reporter, sleep), plan)
    return run_matrix(deployer, specs, pairs, result if result is not None else DeployResult())


def say_outcome(reporter: Reporter, result: DeployResult, plan: bool, wired_changed: bool) -> None:
    """The deploy's last line, once the functions and what is wired around them (a function URL, an API, event
    sources: ``wired_changed``) are done: a URL created for an unchanged function is a change."""
    changed = result.changed or wired_changed
    if plan:
        reporter.info("plan only: nothing was changed" if changed else "plan: nothing to change")
    elif not changed:
        published = "no blob pushed" if result.image is not None else "no layer published"
        reporter.info(f"Nothing changed since the last deploy: {published}, no function updated")


def function_specs(settings: FunctionSettings) -> Sequence[FunctionSpec]:
    specs = settings.function_specs()
    if not specs:
        raise DeployError("no function to deploy: pass --function-name NAME, or set function_name or functions")
    return specs


def default_regions(regions: Sequence[str], specs: Sequence[FunctionSpec], clients: aws.Clients,
                    fallback: Sequence[str] = ()) -> Sequence[str]:
    """The regions of the functions that name none: ``regions`` (the setting), else ``fallback`` (boto3's default
    region when that is empty too). Asked only when a function needs them."""
    if all(spec.regions is not None for spec in specs):
        return regions
    return clients.regions(regions or fallback)


def run_matrix(deployer: Deployer, specs: Sequence[FunctionSpec], pairs: Sequence[Pair],
               result: DeployResult) -> DeployResult:
    """Deploy every (region, function) of ``pairs`` side by side (rollout.py), then say what was done; a matrix
    with failures raises one error naming each (a single function: its own error), once the others are done.
    Zip and image deploys end here alike."""
    settings, reporter, plan = deployer.deploy, deployer.reporter, deployer.plan
    result.matrix = [(region, spec.name) for region, spec in pairs]
    result.layers.regions = list(dict.fromkeys(region for region, _ in pairs))
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
    if not result.wired_after:
        say_outcome(reporter, result, plan, wired_changed=False)
    if left_out:
        parts = f"{len(left_out)} parts of the app are" if len(left_out) > 1 else "1 part of the app is"
        reporter.info(f"{parts} not deployed by lambda-tasks: {NOT_DEPLOYED_HELP}")
    return result
