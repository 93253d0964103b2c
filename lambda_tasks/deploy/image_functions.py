"""Deploy a container image: push it, then deploy every function in each of its regions exactly as a zip is
(``deploy.run_matrix``: the whole configuration compared field by field, tags, reserved concurrency, the role,
versions and the alias, functions x regions side by side, one failure not stopping the others), with
``PackageType=Image`` and ``ImageUri=<repository>@<digest>`` (the digest pins it) as the code.

Only what images add is here: where Lambda pulls from (only ECR, and only in the repository's own region), the
push, and :class:`ImagePackage`, the code a Deployer sends (validate.py refuses Lambda layers for an image).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from ..aws import clients as aws
from ..config import FunctionSpec
from ..errors import DeployError
from ..manifest import Manifest
from ..push.image_push import ecr_region, image_of, publish_image, repository_of
from ..report import Reporter
from ..sections import DeploySettings, FunctionSettings, ImageSettings, LayerSettings
from . import preflight as validate
from .deployer import Deployer, DeployResult
from .function_config import desired_image_config, image_changed
from .functions import default_regions, function_specs, run_matrix
from .layer_publish import Publisher
from .matrix import Pair, deploy_matrix


class ImagePackage:
    """The pushed image as a function's code (the ``Package`` a Deployer sends)."""

    package_type = "Image"
    code_sha256: str | None = None  # Lambda's own for an image: read back from what it answers

    def __init__(self, image_uri: str, cmd: Sequence[str]) -> None:
        self.image_uri, self.cmd = image_uri, list(cmd)

    def desired(self, settings: FunctionSettings, spec: FunctionSpec, layers: Sequence[str],
                role: str | None) -> dict[str, Any]:
        return desired_image_config(settings, spec, self.cmd, role)

    def changed(self, current: Mapping[str, Any], arch: str) -> bool:
        return image_changed(current, self.image_uri, arch)

    def code(self, region: str) -> dict[str, Any]:
        return {"ImageUri": self.image_uri}


def check_regions(home: str | None, repository: str, pairs: Sequence[Pair]) -> None:
    """An ECR image is pulled only by functions in the repository's region: any other is refused up front."""
    elsewhere: dict[str, list[str]] = {}
    for region, spec in pairs:
        if home is not None and region != home:
            elsewhere.setdefault(region, []).append(spec.name)
    if not elsewhere:
        return
    regions = ", ".join(elsewhere)
    if len(regions) > 40:
        regions = regions[:36].rsplit(", ", 1)[0] + ", ..."
    raise DeployError("\n".join([
        f"cannot deploy image functions to {regions}: the image is in ECR in {home}, and Lambda pulls images only "
        "from its own region",
        *(f"  {region}: {', '.join(names)}" for region, names in elsewhere.items()),
        f"  image_repository: {repository}",
        f"  push the image to a repository in each of those regions too (another deploy, with image_repository "
        f"there and regions set to it), or deploy these functions only in {home}",
    ]))


def deploy_image(function: FunctionSettings, deploy: DeploySettings, layers: LayerSettings, image: ImageSettings,
                 manifest: Manifest, *, clients: aws.Clients | None = None, reporter: Reporter | None = None,
                 plan: bool = False, sleep: aws.Sleep = time.sleep,
                 result: DeployResult | None = None) -> DeployResult:
    """Check, push the image, then create or update every function in each of its regions, ``max_parallel`` at a
    time. ``result`` is filled as steps finish: after a Ctrl-C it says what was done. ``layers`` is there for
    the checks (an image function takes none) and the uploads' settings."""
    specs = function_specs(function)
    clients = clients or aws.Clients()
    reporter = reporter or Reporter()
    built = image_of(manifest)
    validate.check_deploy(function, deploy, layers, "image")  # as for zips, and an image function takes no layers
    pairs = image_matrix(image.image_repository, deploy.regions, specs, clients)
    ref = repository_of(image.image_repository)
    if ecr_region(ref) is None:  # image_matrix let it through: a local registry
        reporter.warn(f"image_repository {ref.name} is a local registry: only an emulator (moto) takes it")
    result = result if result is not None else DeployResult()
    result.image = publish_image(image, manifest, clients=clients, reporter=reporter, plan=plan)
    package = ImagePackage(result.image.image_uri, built.cmd)
    deployer = Deployer(function, deploy, manifest, Publisher(layers, clients, reporter, sleep), plan, package)
    return run_matrix(deployer, specs, pairs, result)


def image_matrix(image_repository: str | None, regions: Sequence[str], specs: Sequence[FunctionSpec],
                 clients: aws.Clients) -> list[Pair]:
    """Every (region, function) to deploy, once the repository is one Lambda pulls from (ECR, or a local registry
    for an emulator) in each of those regions (``regions``, else the repository's region). ``deploy`` asks
    before building: nothing is built or pushed for a deploy that cannot happen."""
    ref = repository_of(image_repository)
    home = ecr_region(ref)
    if home is None and not ref.local:
        raise DeployError(f"image_repository {ref.name} is not an Amazon ECR private repository; Lambda runs "
                          "images only from ECR\n  use <account>.dkr.ecr.<region>.amazonaws.com/<name>")
    pairs = deploy_matrix(specs, default_regions(regions, specs, clients, (home,) if home else ()))
    check_regions(home, ref.name, pairs)
    return pairs
