"""Create or update the Lambda function(s) from the app zip and the published layers.

Only what differs is changed: the code when CodeSha256 differs, the configuration when one of its
fields differs. Comparing is pure (:func:`config_changes`, :func:`code_changed`); boto3 lives in
:class:`Deployer`. Every step waits for the function to settle and retries 409 conflicts.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .. import limits
from ..aws import clients as aws
from ..aws import validate, waiting
from ..aws.publish import (
    Publisher,
    PublishResult,
    bucket_for,
    check_uploadable,
    publish_layers,
    s3_key,
    verified_path,
    via_s3,
)
from ..config import FunctionSpec, Settings
from ..errors import AwsError, DeployError, LimitError
from ..manifest import Manifest
from ..report import Reporter, human_bytes

#: Configuration fields we own; anything else on the function (VPC, tracing, ...) is left alone.
CONFIG_FIELDS = ("Role", "Runtime", "Handler", "MemorySize", "Timeout", "Environment", "Layers")


# ---------------------------------------------------------------- pure


def layer_list(settings: Settings, layer_arns: Sequence[str]) -> list[str]:
    """Manifest layers in order, then ``extra_layers``; at most five."""
    layers = [*layer_arns, *settings.extra_layers]
    if len(layers) > limits.MAX_LAYERS:
        raise LimitError(
            f"the function would get {len(layers)} layers ({len(layer_arns)} built + {len(settings.extra_layers)} "
            f"extra_layers); Lambda allows {limits.MAX_LAYERS}: lower max_layers or extra_layers"
        )
    return layers


def check_total_size(settings: Settings, manifest: Manifest) -> None:
    """Function code plus all its layers, unzipped, must fit Lambda's 250 MiB."""
    layers = sum(layer.unzipped_bytes for layer in manifest.layers)
    total = manifest.app.unzipped_bytes + layers + settings.extra_layers_bytes
    limit = min(settings.unzipped_limit, limits.UNZIPPED_BYTES)
    if total > limit:
        raise LimitError(
            f"the app and its layers unzip to {human_bytes(total)}, over Lambda's {human_bytes(limit)} for one "
            "function; slim the dependencies (slim, exclude, exclude_runtime_provided) or use a container image"
        )


def desired_config(settings: Settings, spec: FunctionSpec, layers: Sequence[str]) -> dict[str, Any]:
    """The configuration the function should have (Role only when one is given)."""
    config: dict[str, Any] = {
        "Runtime": settings.runtime,
        "Handler": spec.handler or settings.handler,
        "MemorySize": spec.memory if spec.memory is not None else settings.memory,
        "Timeout": spec.timeout if spec.timeout is not None else settings.timeout,
        "Environment": {"Variables": dict(spec.environment if spec.environment is not None else settings.environment)},
        "Layers": list(layers),
    }
    if settings.role:
        config["Role"] = settings.role
    return config


def _current_value(current: Mapping[str, Any], key: str) -> Any:
    if key == "Layers":
        return [layer["Arn"] for layer in current.get("Layers") or []]
    if key == "Environment":
        return {"Variables": dict((current.get("Environment") or {}).get("Variables") or {})}
    return current.get(key)


def config_changes(current: Mapping[str, Any], desired: Mapping[str, Any]) -> list[str]:
    """The configuration fields whose deployed value differs from the desired one."""
    return [key for key in CONFIG_FIELDS if key in desired and _current_value(current, key) != desired[key]]


def code_changed(current: Mapping[str, Any], code_sha256: str, arch: str) -> bool:
    return current.get("CodeSha256") != code_sha256 or list(current.get("Architectures") or ["x86_64"]) != [arch]


@dataclass
class FunctionStep:
    """What happens to one function in one region."""

    region: str
    spec: FunctionSpec
    desired: dict[str, Any]
    action: Literal["create", "update", "none"]
    code: bool = False
    config: list[str] = field(default_factory=list)
    version: str | None = None
    version_action: Literal["", "keep", "publish"] = ""
    alias_action: Literal["", "keep", "create", "update"] = ""
    alias_name: str | None = None

    @property
    def changed(self) -> bool:
        return self.action != "none" or self.version_action == "publish" or self.alias_action in ("create", "update")

    def describe(self, planned: bool) -> str:
        label = f"function {self.spec.name} [{self.region}]"
        would = "would " if planned else ""
        if self.action == "create":
            text = f"{label}: {would}create" if planned else f"{label}: created"
        elif self.action == "update":
            parts = ["code"] if self.code else []
            parts += [f"configuration ({', '.join(self.config)})"] if self.config else []
            changes = " and ".join(parts)
            text = f"{label}: {would}update {changes}" if planned else f"{label}: updated {changes}"
        else:
            text = f"{label}: up to date"
        if self.version_action == "publish":
            text += f"; {would}publish a version" if planned else f"; published version {self.version}"
        elif self.version_action == "keep":
            text += f"; version {self.version} is current"
        if self.alias_action in ("create", "update"):
            alias = self.alias_name
            text += f"; {would}point alias {alias} at it" if planned else f"; alias {alias} -> {self.version}"
        return text


@dataclass
class DeployResult:
    layers: PublishResult = field(default_factory=PublishResult)
    functions: list[FunctionStep] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.layers.published) or any(step.changed for step in self.functions)


# ---------------------------------------------------------------- boto3


class Deployer:
    """Plans and applies the changes for each function in one region."""

    def __init__(self, settings: Settings, manifest: Manifest, publisher: Publisher, plan: bool) -> None:
        self.settings = settings
        self.manifest = manifest
        self.publisher = publisher
        self.clients = publisher.clients
        self.reporter = publisher.reporter
        self.sleep = publisher.sleep
        self.plan = plan
        self.code_sha256 = aws.code_sha256(manifest.app.sha256)

    def _call(self, fn: Any, action: str, **kwargs: Any) -> Any:
        def retrying(attempt: int, delay: float) -> None:
            self.reporter.warn(f"{action}: another update is in progress, retrying in {delay:.1f}s")

        return aws.call(fn, action, sleep=self.sleep, on_retry=retrying, **kwargs)

    def get(self, region: str, name: str) -> dict[str, Any] | None:
        data = self._call(self.clients.lambda_(region).get_function, f"read function {name}", missing_ok=True,
                          FunctionName=name)
        return None if data is None else data["Configuration"]

    def code(self, region: str) -> dict[str, Any]:
        app = self.manifest.app
        path = verified_path(self.settings, app.path, app.sha256)
        if via_s3(self.settings, app.zip_bytes):
            bucket, key = bucket_for(self.settings, region), s3_key(self.settings, app.sha256)
            self.publisher.upload(region, bucket, key, path, app.sha256)
            return {"S3Bucket": bucket, "S3Key": key}
        return {"ZipFile": path.read_bytes()}

    def plan_function(self, region: str, spec: FunctionSpec, layers: Sequence[str]) -> FunctionStep:
        desired = desired_config(self.settings, spec, layers)
        current = self.get(region, spec.name)
        if current is None:
            if not self.settings.role:
                raise DeployError(
                    f"function {spec.name} does not exist in {region}; pass --role ARN (an IAM role that Lambda "
                    "can assume) or set role, to create it"
                )
            return FunctionStep(region, spec, desired, "create", code=True)
        code = code_changed(current, self.code_sha256, self.settings.arch)
        config = config_changes(current, desired)
        return FunctionStep(region, spec, desired, "update" if code or config else "none", code, config)

    def apply(self, step: FunctionStep) -> None:
        client = self.clients.lambda_(step.region)
        upload = self.clients.lambda_upload(step.region)  # the calls that carry the zip wait longer
        name = step.spec.name
        if step.action == "create" and not self._create(upload, client, step):
            current = self.get(step.region, name) or {}  # it appeared meanwhile: update it instead
            step.action, step.code = "update", code_changed(current, self.code_sha256, self.settings.arch)
            step.config = config_changes(current, step.desired)
        if step.action == "update":
            self._settle(client, name)
            if step.code:
                data = self._call(upload.update_function_code, f"update the code of {name}", FunctionName=name,
                                  Architectures=[self.settings.arch], **self.code(step.region))
                self._check_sha(name, data)
                aws.wait(client, "function_updated_v2", name, f"update the code of {name}")
            if step.config:
                config = {k: v for k, v in step.desired.items() if k in CONFIG_FIELDS}
                self._call(client.update_function_configuration, f"update the configuration of {name}",
                           FunctionName=name, **config)
                aws.wait(client, "function_updated_v2", name, f"update the configuration of {name}")

    def _create(self, upload: Any, client: Any, step: FunctionStep) -> bool:
        """Create the function; False when it already exists (a lost response to an earlier try)."""
        name = step.spec.name
        try:
            code = self.code(step.region)
            with waiting.step(f"create function {name} in {step.region}"):
                data = upload.create_function(FunctionName=name, Code=code, PackageType="Zip",
                                              Architectures=[self.settings.arch], **step.desired)
        except Exception as exc:  # noqa: BLE001
            if aws.is_conflict(exc):
                return False
            raise aws.translate(exc, f"create function {name} in {step.region}") from None
        self._check_sha(name, data)
        aws.wait(client, "function_active_v2", name, f"create function {name}")
        return True

    def _settle(self, client: Any, name: str) -> None:
        current = self.get(client.meta.region_name, name) or {}
        if current.get("State") == "Pending":
            aws.wait(client, "function_active_v2", name, f"wait for {name}")
        elif current.get("LastUpdateStatus") == "InProgress":
            aws.wait(client, "function_updated_v2", name, f"wait for {name}")

    def _check_sha(self, name: str, data: Mapping[str, Any]) -> None:
        if data.get("CodeSha256") != self.code_sha256:
            raise AwsError(
                f"Lambda stored the code of {name} with CodeSha256 {data.get('CodeSha256') or '(empty)'}, not the "
                f"app zip's {self.code_sha256}; run the command again"
            )

    def versions(self, step: FunctionStep) -> None:
        """Publish a version (unless the newest already matches) and point the alias at it."""
        if not (self.settings.publish_version or self.settings.alias):
            return
        client = self.clients.lambda_(step.region)
        name = step.spec.name
        latest = None if step.action == "create" else self._latest_version(client, name)
        if latest is not None and latest.get("CodeSha256") == self.code_sha256 and not config_changes(
            latest, {k: v for k, v in step.desired.items() if k != "Role"}
        ):
            step.version, step.version_action = latest["Version"], "keep"
        elif self.plan:
            step.version_action = "publish"
        else:
            data = self._call(client.publish_version, f"publish a version of {name}", FunctionName=name,
                              CodeSha256=self.code_sha256)
            step.version, step.version_action = data["Version"], "publish"
        alias = self.settings.alias
        if not alias:
            return
        step.alias_name = alias
        current = None if step.action == "create" else self._call(
            client.get_alias, f"read alias {alias} of {name}", missing_ok=True, FunctionName=name, Name=alias)
        if current is not None and step.version_action == "keep" and current.get("FunctionVersion") == step.version:
            step.alias_action = "keep"
            return
        step.alias_action = "update" if current is not None else "create"
        if self.plan:
            return
        call = client.update_alias if current is not None else client.create_alias
        self._call(call, f"point alias {alias} of {name} at version {step.version}", FunctionName=name, Name=alias,
                   FunctionVersion=step.version)

    def _latest_version(self, client: Any, name: str) -> dict[str, Any] | None:
        newest: dict[str, Any] | None = None
        marker = None
        while True:
            kwargs = {"FunctionName": name, **({"Marker": marker} if marker else {})}
            page = self._call(client.list_versions_by_function, f"list versions of {name}", **kwargs)
            for version in page.get("Versions", []):
                number = version["Version"]
                if number.isdigit() and (newest is None or int(number) > int(newest["Version"])):
                    newest = version
            marker = page.get("NextMarker")
            if not marker:
                return newest


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
    """Publish the layers, then create or update every function in every region. ``result`` is filled as steps
    finish: after a Ctrl-C it says what was done."""
    specs = settings.function_specs()
    if not specs:
        raise DeployError("no function to deploy: pass --function-name NAME, or set function_name or functions")
    clients = clients or aws.Clients()
    reporter = reporter or Reporter()
    layer_list(settings, [layer.name for layer in manifest.layers])
    check_total_size(settings, manifest)
    check_uploadable(settings, f"the app zip ({manifest.app.path})", manifest.app.zip_bytes)
    validate.refuse(validate.deploy_problems(settings) + validate.manifest_problems(
        settings, manifest, [spec.handler or settings.handler for spec in specs]))
    result = result if result is not None else DeployResult()
    regions = clients.regions(settings.regions)
    result.layers.regions = list(regions)
    deployer = Deployer(settings, manifest, Publisher(settings, clients, reporter, sleep), plan)
    with waiting.watching(reporter):
        if not settings.role:  # refuse before publishing anything when a function cannot be created
            for region in regions:
                for spec in specs:
                    deployer.plan_function(region, spec, [])
        publish_layers(settings, manifest, publisher=deployer.publisher, plan=plan, regions=regions,
                       result=result.layers)
        for region in regions:
            arns = layer_list(settings, result.layers.arns(region))
            for spec in specs:
                step = deployer.plan_function(region, spec, arns)
                if not plan:
                    deployer.apply(step)
                deployer.versions(step)
                result.functions.append(step)
                reporter.info(step.describe(planned=plan))
    if plan:
        reporter.info("plan only: nothing was changed" if result.changed else "plan: nothing to change")
    elif not result.changed:
        reporter.info("Nothing changed since the last deploy: no layer published, no function updated")
    return result
