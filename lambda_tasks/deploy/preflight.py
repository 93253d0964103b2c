"""What AWS would refuse, checked before the first call (pure: settings and manifest in, problems out).

Lambda checks these itself, but only once the layers are published and the code is uploaded, one at a time;
moto checks few of them. Here every problem is collected and reported at once, before anything is built or
sent. The rules for single values (names, sizes, ARNs, ...) are ``lambda_values.py``'s; here they are applied
to every function's whole configuration and to the manifest; ``package_type = "image"`` takes no layers.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config import FunctionSpec
from ..errors import DeployError
from ..lambda_values import (
    FUNCTION_ARN,
    IMAGE_NO_LAYERS,
    LAYER_SUFFIX,
    alias_problem,
    environment_problems,
    ephemeral_storage_problem,
    function_name_problem,
    handler_module_problem,
    handler_problem,
    image_override_problem,
    layer_arn_problem,
    layer_name_problem,
    memory_problem,
    region_problem,
    reserved_concurrency_problem,
    role_name_problem,
    role_problem,
    tags_problems,
    timeout_problem,
    vpc_problems,
)
from ..manifest import Manifest
from ..sections import DeploySettings, FunctionSettings, LayerSettings, Where
from .function_config import explicit_role, managed_role_name, pick


@dataclass(frozen=True)
class Problem:
    setting: str
    detail: str

    def line(self) -> str:
        return f"{self.setting}: {self.detail}"


# ---------------------------------------------------------------- whole settings


def deploy_problems(function: FunctionSettings, deploy: DeploySettings, layers: LayerSettings,
                    package_type: str) -> list[Problem]:
    """Every value of a deploy AWS would refuse, for every function (``functions`` or ``function_name``), for a
    ``package_type`` deploy (an image takes no layers)."""
    found: dict[tuple[str, str], Problem] = {}

    def add(setting: str, detail: str | None) -> None:
        if detail:
            found.setdefault((setting, detail), Problem(setting, detail))

    for spec in function.function_specs():
        own = f"functions[{spec.name}]." if function.functions else ""
        add(f"{own}name" if own else "function_name", function_name_problem(spec.name))
        pairs = (("handler", spec.handler, function.handler, handler_problem),
                 ("memory", spec.memory, function.memory, memory_problem),
                 ("timeout", spec.timeout, function.timeout, timeout_problem),
                 ("reserved_concurrency", spec.reserved_concurrency, function.reserved_concurrency,
                  reserved_concurrency_problem))
        for key, value, default, rule in pairs:
            add(f"{own}{key}" if value is not None else key, rule(value if value is not None else default))
        if pick(spec, function, "ephemeral_storage") is not None:
            add(_where(spec, own, "ephemeral_storage"), ephemeral_storage_problem(pick(spec, function,
                                                                                    "ephemeral_storage")))
        for detail in environment_problems(pick(spec, function, "environment")):
            add(_where(spec, own, "environment"), detail)
        for detail in tags_problems(pick(spec, function, "tags")):
            add(_where(spec, own, "tags"), detail)
        subnets, groups = pick(spec, function, "subnet_ids"), pick(spec, function, "security_group_ids")
        for detail in vpc_problems(subnets, groups):
            both = spec.subnet_ids is not None or spec.security_group_ids is not None
            add(f"{own}subnet_ids/security_group_ids" if own and both else "subnet_ids/security_group_ids", detail)
        for arn in spec.layers or ():
            add(f"{own}layers", layer_arn_problem(arn))
        if spec.layers and package_type == "image":
            add(f"{own}layers", IMAGE_NO_LAYERS)
        if spec.role is not None:
            add(f"{own}role", role_problem(spec.role))
        if spec.regions is not None and (isinstance(spec.regions, str) or not spec.regions):
            add(f"{own}regions", f"must be a non-empty list of region names, not {spec.regions!r}")
        for region in spec.regions if spec.regions is not None and not isinstance(spec.regions, str) else ():
            add(f"{own}regions", region_problem(region))
        if FUNCTION_ARN.fullmatch(spec.name) and deploy.regions and spec.name.split(":")[3] not in deploy.regions:
            add(f"{own}name" if own else "function_name",
                f"is in {spec.name.split(':')[3]}, but regions are {', '.join(deploy.regions)}")
    add("image_entry_point", image_override_problem(function.image_entry_point, package_type))
    add("image_working_directory", image_override_problem(function.image_working_directory, package_type))
    if function.role is not None:
        add("role", role_problem(function.role))
    if function.manage_iam_role and any(not explicit_role(function, spec) for spec in function.function_specs()):
        add("app_name", role_name_problem(managed_role_name(deploy)))
    if function.alias is not None:
        add("alias", alias_problem(function.alias))
    if layers.extra_layers and package_type == "image":
        add("extra_layers", IMAGE_NO_LAYERS)
    return [*found.values(), *publish_problems(layers, deploy.regions)]


def _where(spec: FunctionSpec, own: str, key: str) -> str:
    """``functions[name].key`` when the function sets it, else the setting's name."""
    return f"{own}{key}" if own and getattr(spec, key) is not None else key


def publish_problems(settings: LayerSettings, regions: Sequence[str]) -> list[Problem]:
    """The layer name (with room for the build's suffix), extra layer ARNs and ``regions``."""
    found = []
    problem = layer_name_problem(settings.layer_name, room=LAYER_SUFFIX)
    if problem:
        found.append(Problem("layer_name", problem))
    for arn in settings.extra_layers:
        problem = layer_arn_problem(arn)
        if problem:
            found.append(Problem("extra_layers", problem))
    for region in regions:
        problem = region_problem(region)
        if problem:
            found.append(Problem("regions", problem))
    return found


def refuse(problems: list[Problem]) -> None:
    """Raise one DeployError listing every problem; the first line names the settings (under 160 characters)."""
    if not problems:
        return
    names = list(dict.fromkeys(p.setting for p in problems))
    head = f"{len(names)} setting{'s' if len(names) > 1 else ''} AWS would refuse: "
    listed = ", ".join(names)
    if len(head) + len(listed) > 150:
        listed = listed[: 146 - len(head)].rsplit(", ", 1)[0] + ", ..."
    raise DeployError("\n".join([head + listed, *(f"  {p.line()}" for p in problems)]))


def check_deploy(function: FunctionSettings, deploy: DeploySettings, layers: LayerSettings,
                 package_type: str) -> None:
    refuse(deploy_problems(function, deploy, layers, package_type))


def check_publish(settings: LayerSettings, regions: Sequence[str]) -> None:
    refuse(publish_problems(settings, regions))


# ---------------------------------------------------------------- against the build


def manifest_problems(settings: Where, manifest: Manifest, handlers: Iterable[str] = ()) -> list[Problem]:
    """Built layer names, and each handler's module in the app zip (or a layer, where Lambda also looks)."""
    found = [Problem("layer_name", f"layer {record.name}: {problem}") for record in manifest.layers
             if (problem := layer_name_problem(record.name))]
    handlers = list(dict.fromkeys(handlers))
    if not handlers:
        return found
    names = _zip_names(settings.output_dir / manifest.app.path)
    if names is None:
        return found  # a missing zip is reported (with the way out) when it is read
    version = manifest.runtime.removeprefix("python")
    roots = ["", "python/", f"python/lib/python{version}/site-packages/"]
    for layer in manifest.layers:
        names |= _zip_names(settings.output_dir / layer.path) or set()
    for handler in handlers:
        problem = handler_module_problem(handler, names, roots)
        if problem:
            found.append(Problem("handler", f"{handler}: {problem}"))
    return found


def check_manifest(settings: Where, function: FunctionSettings, manifest: Manifest, *, deploy: bool) -> None:
    """The manifest's layer names; with ``deploy``, each function's handler module in the artifacts."""
    handlers = [spec.handler or function.handler for spec in function.function_specs()] if deploy else []
    refuse(manifest_problems(settings, manifest, handlers))


def _zip_names(path: Path) -> set[str] | None:
    try:
        with zipfile.ZipFile(path) as archive:
            return set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return None
