"""Deploying the matrix, functions x regions, side by side (``max_parallel`` at once).

    1. read every function (side by side), then the IAM role once (IAM is global)
    2. per region: publish the layers there, then deploy that region's functions, each a job of its own

One failure does not stop the others: a function that fails is recorded with why (a region whose layers could
not be published fails its functions) and the rest go on; ``deploy_functions`` raises at the end, naming them.
Each finished function prints its line; on a terminal a status line counts what is done and in progress.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence

from .. import manifest as manifest_mod
from ..aws import waiting
from ..config import FunctionSpec
from ..errors import LambdaTasksError
from ..manifest import Manifest
from ..sections import FunctionSettings, LayerSettings
from .deployer import Deployer, DeployResult
from .function_config import explicit_role, layer_list
from .matrix import Failure, Pair, matrix_regions
from .parallel import Scheduler
from .versions import versions

#: The manifest records each region's ARNs; regions publish side by side, so its updates and saves take turns.
_MANIFEST_LOCK = threading.Lock()


class Rollout:
    def __init__(self, deployer: Deployer, pairs: Sequence[Pair], result: DeployResult, plan: bool,
                 max_parallel: int) -> None:
        self.deployer, self.pairs, self.result, self.plan = deployer, list(pairs), result, plan
        self.function: FunctionSettings = deployer.function
        self.layers: LayerSettings = deployer.publisher.settings  # the layers it publishes and attaches
        self.manifest: Manifest = deployer.manifest
        self.reporter = deployer.reporter
        self.max_parallel = max_parallel
        self.lock = threading.Lock()
        self.done = 0
        self.running: set[str] = set()

    def run(self) -> None:
        try:
            self._read_all()
            failed = {(f.region, f.function) for f in self.result.failures}
            self.result.role = self.deployer.prepare([p for p in self.pairs if (p[0], p[1].name) not in failed])
            regions = matrix_regions(self.pairs)
            scheduler = self._scheduler(len(self.pairs))
            for region in regions:
                scheduler.submit(functools.partial(self._region, scheduler, region))
            scheduler.run()
        except KeyboardInterrupt:
            self.result.in_progress = waiting.active_steps()
            raise
        finally:
            self.reporter.status_done()
        if not self.result.layers.published and self.manifest.image is None:  # an image has no layers
            self.reporter.info("layers: nothing to publish, every layer is already published")

    def _scheduler(self, jobs: int) -> Scheduler:
        return Scheduler(min(self.max_parallel, jobs))

    def _read_all(self) -> None:
        """Each function's current state, side by side (prepare needs them all before the role and the layers)."""
        reads = [(region, spec) for region, spec in self.pairs if not explicit_role(self.function, spec)]
        if not reads:
            return
        scheduler = self._scheduler(len(reads))
        for region, spec in reads:
            scheduler.submit(self._guarded(region, spec.name, functools.partial(self.deployer.read, region, spec)))
        scheduler.run()

    def _guarded(self, region: str, name: str, job: Callable[[], None]) -> Callable[[], None]:
        """``job``, its failure recorded for (region, name) instead of raised."""
        def run() -> None:
            try:
                job()
            except LambdaTasksError as exc:
                self._fail([(region, name)], exc)
        return run

    def _fail(self, keys: Sequence[tuple[str, str]], exc: LambdaTasksError, why: str = "") -> None:
        reason = why + str(exc).splitlines()[0]
        with self.lock:
            for region, name in keys:
                failure = Failure(region, name, reason, exc)
                self.result.failures.append(failure)
                self.done += 1
                self.reporter.info(failure.line())

    def _region(self, scheduler: Scheduler, region: str) -> None:
        """Publish the layers in ``region``, then queue its functions."""
        pairs = [(r, spec) for r, spec in self.pairs if r == region]
        failed = {(f.region, f.function) for f in self.result.failures}
        pairs = [(r, spec) for r, spec in pairs if (r, spec.name) not in failed]
        if not pairs:
            return
        try:
            arns = self._publish(region)
        except LambdaTasksError as exc:
            self._fail([(region, spec.name) for _, spec in pairs], exc, "its layers were not published: ")
            return
        for _, spec in pairs:
            scheduler.submit(functools.partial(self._function, region, spec, arns))

    def _publish(self, region: str) -> list[str]:
        """Each manifest layer in ``region``: kept, reused or published; the ARNs in manifest order."""
        publisher, settings = self.deployer.publisher, self.layers
        arns = []
        for record in self.manifest.layers:
            step = publisher.plan_layer(region, record)
            if step.action == "publish" and not self.plan:
                step.arn = publisher.publish(step).arn
            with _MANIFEST_LOCK:
                if step.arn and not self.plan and record.published.get(region) != step.arn:
                    record.published[region] = step.arn
                    manifest_mod.save(self.manifest, settings.manifest_path)
                self.result.layers.steps.append(step)
            self.reporter.info(step.describe(settings, planned=self.plan))
            arns.append(step.arn or f"<new {record.name}>")
        return arns

    def _function(self, region: str, spec: FunctionSpec, arns: list[str]) -> None:
        name = f"{spec.name} [{region}]"
        with self.lock:
            self.running.add(name)
        try:
            deployer = self.deployer
            step = deployer.plan_function(region, spec, layer_list(self.layers.extra_layers, arns, spec))
            if not self.plan:
                deployer.apply(step)
            versions(step, settings=self.function, client=deployer.clients.lambda_(region), call=deployer.call,
                     plan=self.plan)
        except LambdaTasksError as exc:
            self._fail([(region, spec.name)], exc)
            return
        finally:
            with self.lock:
                self.running.discard(name)
        with self.lock:
            self.result.functions.append(step)
            self.done += 1
            self.reporter.info(step.describe(planned=self.plan))
            self._status()

    def _status(self) -> None:
        """On a terminal: how far the matrix is (called with the lock held)."""
        if self.reporter.live and len(self.pairs) > 1 and self.done < len(self.pairs):
            running = ", ".join(sorted(self.running)[:3]) + (", ..." if len(self.running) > 3 else "")
            self.reporter.status(f"deploy: {self.done}/{len(self.pairs)} done"
                                 + (f"; in progress: {running}" if running else ""))
