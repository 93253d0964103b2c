"""Create or update one Lambda function in one region: from the app zip and the published layers
(:class:`ZipPackage`), or from a pushed image (``image_deploy.ImagePackage``); the rest is the same for both.

Only what differs is changed: the code when it differs, each configuration field, tag and the reserved
concurrency when it differs (the desired configuration and the comparing are pure, in function_config.py);
boto3 lives in :class:`Deployer`. Every step waits for the function to settle and retries 409 conflicts. A
function of the other package type is an error: Lambda cannot switch one.

The role: the function's own ``role``, else ``role``, else (``manage_iam_role``) the role deploy creates once per
app and stage (roles.py). An existing function that runs under another role keeps it unless a role is named:
switching it to the managed role would take away every permission the function has beyond writing logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import limits
from ..aws import clients as aws
from ..aws import waiting
from ..config import FunctionSpec
from ..errors import AwsError, DeployError, LimitError
from ..manifest import Manifest
from ..push.image_push import PushResult
from ..report import human_bytes
from ..sections import DeploySettings, FunctionSettings, LayerSettings, Shipping
from . import roles
from .function_config import (
    code_changed,
    concurrency_change,
    config_changes,
    desired_concurrency,
    desired_config,
    desired_tags,
    explicit_role,
    managed_role_name,
    package_type_problem,
    tag_changes,
    vpc_config,
)
from .function_writes import Writes
from .layer_publish import (
    Publisher,
    PublishResult,
    bucket_for,
    s3_key,
    verified_path,
    via_s3,
)
from .matrix import Failure
from .steps import FunctionStep


def check_total_size(settings: LayerSettings, manifest: Manifest) -> None:
    """Function code plus all its layers, unzipped, must fit Lambda's 250 MiB."""
    layers = sum(layer.unzipped_bytes for layer in manifest.layers)
    total = manifest.app.unzipped_bytes + layers + settings.extra_layers_bytes
    limit = min(settings.unzipped_limit, limits.UNZIPPED_BYTES)
    if total > limit:
        raise LimitError(
            f"the app and its layers unzip to {human_bytes(total)}, over Lambda's {human_bytes(limit)} for one "
            "function\n  slim the dependencies (slim, exclude, exclude_runtime_provided), or set package_type = "
            "\"image\" for a container image (up to 10 GB)"
        )


@dataclass
class DeployResult:
    """Filled as the deploy goes: after a Ctrl-C or a failure it says what was done."""

    layers: PublishResult = field(default_factory=PublishResult)
    functions: list[FunctionStep] = field(default_factory=list)
    role: roles.ManagedRole | None = None
    #: every (region, function name) this deploy covers, once known
    matrix: list[tuple[str, str]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    #: the AWS steps in flight when the deploy was interrupted
    in_progress: list[str] = field(default_factory=list)
    #: package_type = "image": the push (the image has no layers to publish)
    image: PushResult | None = None
    #: what was wired around the functions (app_wiring.AppResult: the REST API, event sources)
    app: Any = None
    #: the caller wires the app after the functions and says the deploy's outcome itself (functions.say_outcome)
    wired_after: bool = False

    @property
    def changed(self) -> bool:
        return (bool(self.layers.published) or any(step.changed for step in self.functions)
                or (self.role is not None and self.role.changed) or (self.image is not None and self.image.changed))


class Package(Protocol):
    """What a function runs: the app zip and layers (:class:`ZipPackage`) or an image (``ImagePackage``)."""

    #: Lambda's PackageType: "Zip" or "Image"
    package_type: str
    #: the CodeSha256 Lambda must report for our code, when known beforehand (a zip's); None: Lambda's own (an image)
    code_sha256: str | None

    def desired(self, settings: FunctionSettings, spec: FunctionSpec, layers: Sequence[str],
                role: str | None) -> dict[str, Any]:
        """The function's whole configuration (function_config.py)."""

    def changed(self, current: Mapping[str, Any], arch: str) -> bool:
        """Whether the deployed code (``current``: the configuration, and ``Code``) differs from ours."""

    def code(self, region: str) -> dict[str, Any]:
        """CreateFunction's ``Code``, which are also UpdateFunctionCode's code arguments."""


class ZipPackage:
    """The app zip, sent inline or through S3 (the layers are published by rollout.py)."""

    package_type = "Zip"

    def __init__(self, settings: Shipping, manifest: Manifest, publisher: Publisher) -> None:
        self.settings, self.manifest, self.publisher = settings, manifest, publisher  # settings: where it uploads
        self.code_sha256: str | None = aws.code_sha256(manifest.app.sha256)

    def desired(self, settings: FunctionSettings, spec: FunctionSpec, layers: Sequence[str],
                role: str | None) -> dict[str, Any]:
        return desired_config(settings, spec, layers, role)

    def changed(self, current: Mapping[str, Any], arch: str) -> bool:
        return code_changed(current, self.code_sha256 or "", arch)

    def code(self, region: str) -> dict[str, Any]:
        app = self.manifest.app
        path = verified_path(self.settings, app.path, app.sha256)
        if via_s3(self.settings, app.zip_bytes):
            bucket, key = bucket_for(self.settings, region), s3_key(self.settings, app.sha256)
            self.publisher.upload(region, bucket, key, path, app.sha256)
            return {"S3Bucket": bucket, "S3Key": key}
        return {"ZipFile": path.read_bytes()}


# ---------------------------------------------------------------- boto3

_UNREAD: Any = object()


class Deployer:
    """Plans and applies the changes for each function in one region."""

    def __init__(self, function: FunctionSettings, deploy: DeploySettings, manifest: Manifest, publisher: Publisher,
                 plan: bool, package: Package | None = None) -> None:
        self.function, self.deploy = function, deploy  # how the functions are configured; the stage's names
        self.manifest = manifest
        self.publisher = publisher
        self.clients = publisher.clients
        self.reporter = publisher.reporter
        self.sleep = publisher.sleep
        self.plan = plan
        self.package: Package = package or ZipPackage(publisher.settings, manifest, publisher)
        self.role: roles.ManagedRole | None = None
        self._read: dict[tuple[str, str], dict[str, Any] | None] = {}

    def call(self, fn: Any, action: str, **kwargs: Any) -> Any:
        def retrying(attempt: int, delay: float) -> None:
            self.reporter.warn(f"{action}: another update is in progress, retrying in {delay:.1f}s")

        return aws.call(fn, action, sleep=self.sleep, on_retry=retrying, **kwargs)

    def get(self, region: str, name: str) -> dict[str, Any] | None:
        """The function's configuration, with its ``Code`` (an image function's ImageUri) under that key."""
        data = self.call(self.clients.lambda_(region).get_function, f"read function {name}", missing_ok=True,
                         FunctionName=name)
        return None if data is None else {**data["Configuration"], "Code": data.get("Code") or {}}

    def takes_managed_role(self, spec: FunctionSpec, current: Mapping[str, Any] | None) -> bool:
        """No role named, manage_iam_role on, and the function is new or already runs under the managed role."""
        if explicit_role(self.function, spec) or not self.function.manage_iam_role:
            return False
        return current is None or roles.role_name_of(current.get("Role")) == managed_role_name(self.deploy)

    def read(self, region: str, spec: FunctionSpec) -> None:
        """Read the function (for :meth:`prepare`, which runs after the reads of every region and function)."""
        self._read[(region, spec.name)] = self.get(region, spec.name)

    def prepare(self, pairs: Sequence[tuple[str, FunctionSpec]]) -> roles.ManagedRole | None:
        """Before anything is published: refuse a function that cannot be created, and find or create the managed
        role when a function takes it (once: IAM is global)."""
        takers = []
        for region, spec in pairs:
            if explicit_role(self.function, spec):
                continue
            if (region, spec.name) not in self._read:
                self.read(region, spec)
            current = self._read[(region, spec.name)]
            if current is None and not self.function.manage_iam_role:
                raise self._no_role(region, spec)
            if self.takes_managed_role(spec, current):
                takers.append((region, spec))
        if not takers:
            return None
        vpc = any(vpc_config(self.function, spec)["SubnetIds"] for _, spec in takers)
        first = takers[0][0]
        keeper = roles.RoleKeeper(self.clients.iam(first), self.call, self.plan)
        self.role = keeper.ensure(managed_role_name(self.deploy), roles.policies(vpc, first))
        self.reporter.info(self.role.describe())
        return self.role

    @staticmethod
    def _no_role(region: str, spec: FunctionSpec) -> DeployError:
        return DeployError(
            f"function {spec.name} does not exist in {region}; pass --role ARN (an IAM role that Lambda can assume) "
            "or set role, to create it (manage_iam_role is off, so deploy creates no role)"
        )

    def plan_function(self, region: str, spec: FunctionSpec, layers: Sequence[str]) -> FunctionStep:
        current = self._read.pop((region, spec.name), _UNREAD)
        if current is _UNREAD:
            current = self.get(region, spec.name)
        managed = self.role.arn if self.role is not None and self.takes_managed_role(spec, current) else None
        desired = self.package.desired(self.function, spec, layers, managed)
        step = FunctionStep(region, spec, desired, "create", code=True, tags=desired_tags(self.function, spec),
                            concurrency=desired_concurrency(self.function, spec),
                            code_sha256=self.package.code_sha256 or "")
        if current is None:
            if "Role" not in desired:
                raise self._no_role(region, spec)
            step.concurrency_action = "put" if step.concurrency is not None else ""
            return step
        self.compare(step, current)
        return step

    def compare(self, step: FunctionStep, current: Mapping[str, Any]) -> None:
        """Fill in what differs between ``current`` and the step's desired state (two more reads)."""
        client = self.clients.lambda_(step.region)
        name = step.spec.name
        problem = package_type_problem(current, self.package.package_type)
        if problem:
            raise DeployError(f"function {name} in {step.region} {problem}")
        step.arn = current.get("FunctionArn")
        step.revision = current.get("RevisionId")  # every write carries it: revisions.py
        step.code = self.package.changed(current, self.function.arch)
        if not step.code and self.package.code_sha256 is None:  # what Lambda calls this image: versions compare it
            step.code_sha256 = current.get("CodeSha256") or ""
        step.config = config_changes(current, step.desired)
        tags = self.call(client.list_tags, f"read the tags of {name}", Resource=step.arn).get("Tags") or {}
        step.tags_set, step.tags_removed = tag_changes(tags, step.tags)
        reserved = self.call(client.get_function_concurrency, f"read the reserved concurrency of {name}",
                             FunctionName=name).get("ReservedConcurrentExecutions")
        step.concurrency_action = concurrency_change(reserved, step.concurrency)
        step.action = "update" if step.differs() else "none"

    def role_wait(self, fn: Any, step: FunctionStep) -> Any:
        """``fn``, retried while Lambda cannot assume the role yet, when the step uses the role created (or given
        a policy) in this run; as it is otherwise."""
        if self.role is None or not self.role.fresh or step.desired.get("Role") != self.role.arn:
            return fn

        role = self.role.name

        def waiting_for(attempt: int, delay: float) -> None:
            self.reporter.info(f"function {step.spec.name}: Lambda cannot use the new role {role} yet (IAM takes "
                               f"some seconds), retrying in {delay:.0f}s")

        return roles.when_assumable(fn, sleep=self.sleep, on_wait=waiting_for)

    def apply(self, step: FunctionStep) -> None:
        """Carry out ``step`` so that another deploy writing the function at once never leaves it mixed
        (function_writes.py, revisions.py)."""
        Writes(self, step).run()

    @property
    def arch(self) -> str:
        return self.function.arch

    def holds_code(self, current: Mapping[str, Any]) -> bool:
        """Whether the function (as read) runs our code, on our architecture."""
        return not self.package.changed(current, self.function.arch)

    def create(self, step: FunctionStep) -> bool:
        """Create the function; False when it already exists (a lost response to an earlier try)."""
        name = step.spec.name
        client = self.clients.lambda_(step.region)
        upload = self.clients.lambda_upload(step.region)  # the calls that carry the zip wait longer
        # an image's command left to the image: no ImageConfig at all (an update sends {} to take one off)
        desired = {key: value for key, value in step.desired.items() if value or key != "ImageConfig"}
        try:
            code = self.package.code(step.region)
            with waiting.step(f"create function {name} in {step.region}"):
                data = self.role_wait(upload.create_function, step)(
                    FunctionName=name, Code=code, PackageType=self.package.package_type,
                    Architectures=[self.function.arch], **desired, **({"Tags": step.tags} if step.tags else {}))
        except Exception as exc:  # noqa: BLE001
            if aws.is_conflict(exc):
                return False
            raise aws.translate(exc, f"create function {name} in {step.region}") from None
        self.check_sha(step, data)
        step.arn = data.get("FunctionArn")
        aws.wait(client, "function_active_v2", name, f"create function {name}")
        return True

    def check_sha(self, step: FunctionStep, data: Mapping[str, Any]) -> None:
        """A zip's CodeSha256 must be the app zip's; an image's is Lambda's own, kept for versions.py."""
        expected = self.package.code_sha256
        if expected is None:
            step.code_sha256 = data.get("CodeSha256") or ""
        elif data.get("CodeSha256") != expected:
            raise AwsError(
                f"Lambda stored the code of {step.spec.name} with CodeSha256 {data.get('CodeSha256') or '(empty)'}, "
                f"not the app zip's {expected}; run the command again"
            )


