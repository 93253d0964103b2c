"""The IAM role deploy creates when none is given (``manage_iam_role``, as Chalice does): ``<app_name>-<stage>``,
trusted by Lambda, with the AWS-managed basic execution policy (logs) and, for a function in a VPC, the VPC
access policy (network interfaces). Created once, reused afterwards; policies someone else attached to it are
kept (that is where an app's own permissions go), ours are attached when missing. IAM is global: this runs once
per deploy, whatever the regions.

A new role is not usable by Lambda for some seconds ("The role defined for the function cannot be assumed by
Lambda"): :func:`when_assumable` retries such calls, with backoff, for a bounded time.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote

from ..aws import clients as aws
from ..aws import waiting
from ..errors import DeployError

LAMBDA_PRINCIPAL = "lambda.amazonaws.com"
BASIC_POLICY = "service-role/AWSLambdaBasicExecutionRole"
VPC_POLICY = "service-role/AWSLambdaVPCAccessExecutionRole"
#: Retrying "cannot be assumed": delays 2, 4, 8, 10, 10 ... s, at most ROLE_ATTEMPTS tries and, in all, twice the
#: api deadline (120 s; LAMBDA_TASKS_AWS_TIMEOUT scales it). IAM usually propagates within 10 s.
ROLE_ATTEMPTS = 20
ROLE_BASE_DELAY = 2.0
ROLE_MAX_DELAY = 10.0
_NOT_ASSUMABLE = re.compile(r"role.*(cannot be assumed|does not have permissions)", re.IGNORECASE | re.DOTALL)


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def policy_arn(name: str, region: str) -> str:
    return f"arn:{partition(region)}:iam::aws:policy/{name}"


def policies(vpc: bool, region: str) -> list[str]:
    return [policy_arn(BASIC_POLICY, region), *([policy_arn(VPC_POLICY, region)] if vpc else [])]


def trust_policy() -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": LAMBDA_PRINCIPAL}, "Action": "sts:AssumeRole"}]})


def role_name_of(arn: str | None) -> str:
    """``arn:aws:iam::123:role/path/name`` -> ``name``."""
    return (arn or "").rsplit("/", 1)[-1]


def not_assumable(exc: BaseException) -> bool:
    """Lambda's answer while IAM has not yet propagated a new role (or a policy just attached to it)."""
    if aws.error_code(exc) != "InvalidParameterValueException":
        return False
    message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", ""))
    return bool(_NOT_ASSUMABLE.search(message))


def when_assumable(fn: Callable[..., Any], *, sleep: aws.Sleep, on_wait: Callable[[int, float], None]
                   ) -> Callable[..., Any]:
    """``fn`` retried while Lambda says the role cannot be assumed (yet); any other error goes through at once."""
    budget = 2 * waiting.base_deadline()

    def run(**kwargs: Any) -> Any:
        began = time.monotonic()
        for attempt in range(1, ROLE_ATTEMPTS + 1):
            try:
                return fn(**kwargs)
            except Exception as exc:
                if not not_assumable(exc) or attempt == ROLE_ATTEMPTS or time.monotonic() - began >= budget:
                    raise
                delay = min(ROLE_MAX_DELAY, ROLE_BASE_DELAY * 2 ** (attempt - 1))
                on_wait(attempt, delay)
                sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    return run


def _short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


@dataclass
class ManagedRole:
    """The role deploy made or found, and what it did to it."""

    name: str
    arn: str
    action: Literal["create", "reuse"]
    attached: list[str] = field(default_factory=list)
    planned: bool = False

    @property
    def fresh(self) -> bool:
        """Created or given a policy in this run: Lambda may not see it for some seconds."""
        return not self.planned and (self.action == "create" or bool(self.attached))

    @property
    def changed(self) -> bool:
        return self.action == "create" or bool(self.attached)

    def describe(self) -> str:
        names = ", ".join(_short(arn) for arn in self.attached)
        if self.planned:
            if self.action == "create":
                return f"would create role {self.name} (trusted by {LAMBDA_PRINCIPAL}; {names})"
            return f"role {self.name}: exists, reused" + (f"; would attach {names}" if names else "")
        if self.action == "create":
            return f"role {self.name}: created ({self.arn}; {names})"
        return f"role {self.name}: exists, reused" + (f"; attached {names}" if names else "")


class RoleKeeper:
    """Finds or creates the managed role through one IAM client."""

    def __init__(self, client: Any, call: Callable[..., Any], plan: bool) -> None:
        self.client, self.call, self.plan = client, call, plan

    def ensure(self, name: str, wanted: list[str]) -> ManagedRole:
        """The role ``name`` with the policies ``wanted`` attached (created, or completed, unless planning)."""
        role = self._get(name)
        if role is None:
            if self.plan:
                return ManagedRole(name, f"arn:aws:iam::<account>:role/{name}", "create", list(wanted), planned=True)
            role = self._create(name)
            self._attach(name, wanted)
            return ManagedRole(name, role["Arn"], "create", list(wanted))
        self._check_trust(name, role)
        have = self._attached(name)
        missing = [arn for arn in wanted if arn not in have]
        if not self.plan:
            self._attach(name, missing)
        return ManagedRole(name, role["Arn"], "reuse", missing, planned=self.plan)

    def _get(self, name: str) -> dict[str, Any] | None:
        found = self.call(self.client.get_role, f"read IAM role {name} (or set role to an existing role's ARN)",
                          missing_ok=True, RoleName=name)
        return None if found is None else dict(found["Role"])

    def _create(self, name: str) -> dict[str, Any]:
        action = f"create IAM role {name} (or set role to an existing role's ARN)"
        try:
            with waiting.step(action):
                return dict(self.client.create_role(
                    RoleName=name, AssumeRolePolicyDocument=trust_policy(),
                    Description="Lambda execution role created by lambda-tasks (manage_iam_role)")["Role"])
        except Exception as exc:  # noqa: BLE001 - every failure becomes one line
            if aws.error_code(exc) == "EntityAlreadyExists":  # a retry after a lost answer: it is there
                found = self._get(name)
                if found is not None:
                    return found
            raise aws.translate(exc, action) from None

    def _attached(self, name: str) -> set[str]:
        arns: set[str] = set()
        marker: str | None = None
        while True:
            page = self.call(self.client.list_attached_role_policies, f"list the policies of IAM role {name}",
                             RoleName=name, **({"Marker": marker} if marker else {}))
            arns |= {policy["PolicyArn"] for policy in page.get("AttachedPolicies", [])}
            marker = page.get("Marker") if page.get("IsTruncated") else None
            if not marker:
                return arns

    def _attach(self, name: str, arns: list[str]) -> None:
        for arn in arns:
            self.call(self.client.attach_role_policy, f"attach {_short(arn)} to IAM role {name}", RoleName=name,
                      PolicyArn=arn)

    @staticmethod
    def _check_trust(name: str, role: dict[str, Any]) -> None:
        document = role.get("AssumeRolePolicyDocument") or ""
        text = unquote(document) if isinstance(document, str) else json.dumps(document)
        if LAMBDA_PRINCIPAL not in text:
            raise DeployError(
                f"IAM role {name} exists but does not trust {LAMBDA_PRINCIPAL}, so Lambda cannot use it\n"
                f"  add {LAMBDA_PRINCIPAL} to its trust policy, or set role to another role's ARN"
            )
