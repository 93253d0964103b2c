"""Deploy a container image: push it, then create or update each function with ``PackageType=Image`` and
``ImageUri=<repository>@<digest>`` (the digest pins it). Only what differs is changed; nothing changed, no call.

``ImageConfig.Command`` is set only for a function whose handler is not the image's Cmd. A function's package
type cannot change on Lambda: a zip function named here is an error saying so.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..aws import clients as aws
from ..config import FunctionSpec, Settings
from ..errors import DeployError
from ..manifest import Manifest
from ..report import Reporter
from .registry import PushResult, ecr_region, image_of, publish_image, repository_of

#: Configuration fields an image function takes from us (no Runtime, Handler or Layers: the image has them).
IMAGE_FIELDS = ("Role", "MemorySize", "Timeout", "Environment", "ImageConfig")


@dataclass
class ImageStep:
    region: str
    name: str
    action: str  # create, update, none
    code: bool = False
    config: list[str] = field(default_factory=list)

    def describe(self, planned: bool) -> str:
        label = f"function {self.name} [{self.region}]"
        would = "would " if planned else ""
        if self.action == "create":
            return f"{label}: {would}create from the image" if planned else f"{label}: created from the image"
        if self.action == "none":
            return f"{label}: up to date"
        parts = (["image"] if self.code else []) + ([f"configuration ({', '.join(self.config)})"] if self.config
                                                    else [])
        return f"{label}: {would}update {' and '.join(parts)}" if planned else f"{label}: updated {' and '.join(parts)}"


@dataclass
class ImageDeployResult:
    push: PushResult = field(default_factory=PushResult)
    functions: list[ImageStep] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.push.changed or any(step.action != "none" for step in self.functions)


def desired_config(settings: Settings, spec: FunctionSpec, cmd: list[str]) -> dict[str, Any]:
    handler = spec.handler or settings.handler
    config: dict[str, Any] = {
        "MemorySize": spec.memory if spec.memory is not None else settings.memory,
        "Timeout": spec.timeout if spec.timeout is not None else settings.timeout,
        "Environment": {"Variables": dict(spec.environment if spec.environment is not None else settings.environment)},
    }
    if [handler] != cmd:  # the image's Cmd is the default handler; another one is an override
        config["ImageConfig"] = {"Command": [handler]}
    if settings.role:
        config["Role"] = settings.role
    return config


def _current(configuration: Mapping[str, Any], key: str) -> Any:
    if key == "Environment":
        return {"Variables": dict((configuration.get("Environment") or {}).get("Variables") or {})}
    if key == "ImageConfig":
        command = ((configuration.get("ImageConfigResponse") or {}).get("ImageConfig") or {}).get("Command")
        return {"Command": list(command)} if command else None
    return configuration.get(key)


def config_changes(configuration: Mapping[str, Any], desired: Mapping[str, Any]) -> list[str]:
    wanted = {"ImageConfig": None, **desired}
    return [key for key in IMAGE_FIELDS if key in wanted and _current(configuration, key) != wanted[key]]


def deploy_image(settings: Settings, manifest: Manifest, *, clients: aws.Clients | None = None,
                 reporter: Reporter | None = None, plan: bool = False,
                 sleep: aws.Sleep = time.sleep) -> ImageDeployResult:
    """Push the image, then create or update every function in every region."""
    specs = settings.function_specs()
    if not specs:
        raise DeployError("no function to deploy: pass --function-name NAME, or set function_name or functions")
    clients = clients or aws.Clients()
    reporter = reporter or Reporter()
    image = image_of(manifest)
    ref = repository_of(settings)
    home = ecr_region(ref)
    regions = clients.regions(settings.regions or ((home,) if home else ()))
    if home is None and not ref.local:
        raise DeployError(f"image_repository {ref.name} is not an Amazon ECR private repository; Lambda runs "
                          "images only from ECR\n  use <account>.dkr.ecr.<region>.amazonaws.com/<name>")
    if home is None:
        reporter.warn(f"image_repository {ref.name} is a local registry: only an emulator (moto) takes it")
    elsewhere = [region for region in regions if home and region != home]
    if elsewhere:
        raise DeployError(f"the image is in ECR in {home}, but functions are deployed in {', '.join(elsewhere)}; "
                          "Lambda takes images from its own region\n  push to a repository in each region")
    result = ImageDeployResult()
    role = settings.role or _managed_role(settings, clients, regions[0], specs, plan, sleep, reporter)
    result.push = publish_image(settings, manifest, clients=clients, reporter=reporter, plan=plan)
    uri = result.push.image_uri
    for region in regions:
        for spec in specs:
            step = _deploy_one(settings, clients, region, spec, uri, image.cmd, plan, sleep, role)
            result.functions.append(step)
            reporter.info(step.describe(planned=plan))
    if settings.publish_version or settings.alias:
        reporter.warn("publish_version and alias are not applied to image functions yet: point them by hand")
    unset: tuple[object, ...] = (None, False, (), {})
    unapplied = sorted({key for spec in specs for key in _UNAPPLIED
                        if getattr(spec, key) not in unset or getattr(settings, key) not in unset})
    if unapplied:
        reporter.warn(f"{', '.join(unapplied)} not applied to image functions yet: set them on the function by hand")
    if plan:
        reporter.info("plan only: nothing was changed" if result.changed else "plan: nothing to change")
    elif not result.changed:
        reporter.info("Nothing changed since the last deploy: no blob pushed, no function updated")
    return result


#: Function configuration the zip deploy applies and the image deploy does not yet.
_UNAPPLIED = ("tags", "subnet_ids", "security_group_ids", "xray", "ephemeral_storage", "reserved_concurrency")


def _managed_role(settings: Settings, clients: aws.Clients, region: str, specs: Sequence[FunctionSpec], plan: bool,
                  sleep: aws.Sleep, reporter: Reporter) -> str | None:
    """No role named: with manage_iam_role, the role <app_name>-<stage> (created once, then reused), as for zips."""
    if not settings.manage_iam_role or all(spec.role for spec in specs):
        return None
    from . import roles
    from .function_config import managed_role_name

    def call(fn: Any, action: str, **kwargs: Any) -> Any:
        return aws.call(fn, action, sleep=sleep, **kwargs)

    keeper = roles.RoleKeeper(clients.iam(region), call, plan)
    role = keeper.ensure(managed_role_name(settings), roles.policies(bool(settings.subnet_ids), region))
    reporter.info(role.describe())
    return role.arn


def _deploy_one(settings: Settings, clients: aws.Clients, region: str, spec: FunctionSpec, uri: str,
                cmd: list[str], plan: bool, sleep: aws.Sleep, role: str | None = None) -> ImageStep:
    client = clients.lambda_(region)
    name = spec.name
    desired = desired_config(settings, spec, cmd)
    if spec.role or role:
        desired["Role"] = spec.role or role

    def call(fn: Any, action: str, **kwargs: Any) -> Any:
        return aws.call(fn, action, sleep=sleep, **kwargs)

    current = call(client.get_function, f"read function {name}", missing_ok=True, FunctionName=name)
    if current is None:
        if "Role" not in desired:
            raise DeployError(f"function {name} does not exist in {region}; pass --role ARN (an IAM role that "
                              "Lambda can assume) or set role, to create it (or manage_iam_role = true)")
        if not plan:
            from .roles import when_assumable  # a role made a moment ago: Lambda may not see it yet

            create = when_assumable(client.create_function, sleep=sleep, on_wait=lambda attempt, delay: None)
            call(create, f"create function {name} in {region}", FunctionName=name,
                 PackageType="Image", Code={"ImageUri": uri}, Architectures=[settings.arch], **desired)
            aws.wait(client, "function_active_v2", name, f"create function {name}")
        return ImageStep(region, name, "create", code=True)
    configuration = current["Configuration"]
    if configuration.get("PackageType", "Zip") != "Image":
        raise DeployError(f"function {name} in {region} is a zip function; Lambda cannot change a function's "
                          "package type\n  deploy the image under a new function name, or delete the function")
    deployed = (current.get("Code") or {}).get("ImageUri")
    code = deployed != uri or list(configuration.get("Architectures") or ["x86_64"]) != [settings.arch]
    changes = config_changes(configuration, desired)
    if not plan and code:
        call(client.update_function_code, f"update the image of {name}", FunctionName=name, ImageUri=uri,
             Architectures=[settings.arch])
        aws.wait(client, "function_updated_v2", name, f"update the image of {name}")
    if not plan and changes:
        update = {key: value for key, value in desired.items()}
        update.setdefault("ImageConfig", {})  # an override removed: back to the image's Cmd
        call(client.update_function_configuration, f"update the configuration of {name}", FunctionName=name,
             **update)
        aws.wait(client, "function_updated_v2", name, f"update the configuration of {name}")
    return ImageStep(region, name, "update" if code or changes else "none", code, changes)
