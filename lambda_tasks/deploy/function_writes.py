"""Writing one function so that two deploys at once never leave it mixed: the I/O of revisions.py's protocol.

Every write carries the revision it was decided against; after each write the function is read back (once its
update has finished: Lambda moves the revision again then, so the answer's own revision is not the one to write
against next). A refused write, or a read-back showing another writer's change, is a conflict:
``revisions.next_move`` decides from a fresh read whether to compare again, finish (the newest write is ours) or
fail. Once written, the function is read a last time: a deploy succeeds only when that read shows its whole
intent, and hands its revision to versions.py (PublishVersion carries it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from ..aws import clients as aws
from ..errors import DeployError, RevisionConflict
from ..report import Reporter
from . import revisions
from .steps import FunctionStep


class Code(Protocol):
    """What the writes need of the deployer's package (deployer.Package)."""

    code_sha256: str | None

    def code(self, region: str) -> dict[str, Any]: ...


class Target(Protocol):
    """What the writes need of the deployer (deployer.Deployer)."""

    @property
    def clients(self) -> aws.Clients: ...

    @property
    def reporter(self) -> Reporter: ...

    @property
    def package(self) -> Code: ...

    @property
    def arch(self) -> str: ...

    def call(self, fn: Any, action: str, **kwargs: Any) -> Any: ...

    def get(self, region: str, name: str) -> dict[str, Any] | None: ...

    def holds_code(self, current: Mapping[str, Any]) -> bool: ...

    def compare(self, step: FunctionStep, current: Mapping[str, Any]) -> None: ...

    def create(self, step: FunctionStep) -> bool: ...

    def check_sha(self, step: FunctionStep, data: Mapping[str, Any]) -> None: ...

    def role_wait(self, fn: Callable[..., Any], step: FunctionStep) -> Callable[..., Any]: ...


class Writes:
    """Carry out one function's step (the deployer's plan) under the revision protocol."""

    def __init__(self, target: Target, step: FunctionStep) -> None:
        self.target, self.step = target, step
        #: the function as read for the next write to be decided against
        self.before: revisions.Reading | None = None
        #: what the function holds once our last write (answered or not) landed: while it holds that, the newest
        #: write is ours
        self.outcome: revisions.Reading | None = None
        self.conflicts = 0

    def run(self) -> None:
        while True:
            try:
                self._once()
                self._verify()
                return
            except RevisionConflict as exc:
                self.conflicts += 1
                self._after_conflict(exc.changed)

    def _after_conflict(self, changed: str) -> None:
        """Read the function again and take ``revisions.next_move``: compare again, finish, or fail."""
        step, target = self.step, self.target
        name, region = step.spec.name, step.region
        label = f"function {name} [{region}]"
        current = target.get(region, name)
        if current is None:  # deleted meanwhile: nothing of ours is left in it
            if self.conflicts >= revisions.ATTEMPTS:
                raise DeployError(revisions.deleted_line(name, region))
            target.reporter.warn(f"{label}: deleted by another deploy meanwhile; creating it again")
            step.action, step.code, step.revision = "create", True, None
            return
        read = self._reading(current)
        move = revisions.next_move(read, conflicts=self.conflicts, outcome=self.outcome)
        if move == "fail":
            raise DeployError(revisions.conflict_line(name, region, read))
        if move == "finish":
            target.reporter.warn(
                f"{label}: changed by another deploy meanwhile, {self.conflicts} times; this deploy wrote last, so it "
                f"writes the rest ({revisions.what_differs(not read.code, read.config)}) rather than leave it mixed")
        else:
            what = changed or revisions.what_differs(not read.code, read.config)
            target.reporter.warn(f"{label}: changed by another deploy meanwhile ({what}); comparing again")
        target.compare(step, current)

    def _once(self) -> None:
        step, target = self.step, self.target
        client = target.clients.lambda_(step.region)
        upload = target.clients.lambda_upload(step.region)  # the calls that carry the zip wait longer
        name = step.spec.name
        if step.action == "create":
            self.outcome = revisions.Reading(True, ())
            if target.create(step):
                self._read_back(pending_code=False, pending_config=())
            else:
                current = target.get(step.region, name) or {}  # it appeared meanwhile: update it instead
                target.compare(step, current)
        if step.action == "update":
            self._settle(client)
            if step.code:
                self.outcome = revisions.after_code_write(self._before())
                data = target.call(upload.update_function_code, f"update the code of {name}", FunctionName=name,
                                   Architectures=[target.arch], **self._revision(), **target.package.code(step.region))
                target.check_sha(step, data)
                aws.wait(client, "function_updated_v2", name, f"update the code of {name}")
                self._read_back(pending_code=False, pending_config=step.config)
            if step.config:
                config = {k: v for k, v in step.desired.items() if k in step.config}
                self.outcome = revisions.after_config_write(self._before())
                target.call(target.role_wait(client.update_function_configuration, step),
                            f"update the configuration of {name}", FunctionName=name, **self._revision(), **config)
                aws.wait(client, "function_updated_v2", name, f"update the configuration of {name}")
                self._read_back(pending_code=False, pending_config=())
            # tags and the reserved concurrency take no RevisionId (Lambda's API): last writer wins for them
            if step.tags_removed:
                target.call(client.untag_resource, f"remove tags from {name}", Resource=step.arn,
                            TagKeys=step.tags_removed)
            if step.tags_set:
                target.call(client.tag_resource, f"tag {name}", Resource=step.arn, Tags=step.tags_set)
        if step.concurrency_action == "put":
            target.call(client.put_function_concurrency, f"reserve concurrency for {name}", FunctionName=name,
                        ReservedConcurrentExecutions=step.concurrency)
        elif step.concurrency_action == "delete":
            target.call(client.delete_function_concurrency, f"remove the reserved concurrency of {name}",
                        FunctionName=name)

    def _revision(self) -> dict[str, str]:
        return {"RevisionId": self.step.revision} if self.step.revision else {}

    def _our_code(self) -> str:
        return self.target.package.code_sha256 or self.step.code_sha256

    def _reading(self, current: Mapping[str, Any]) -> revisions.Reading:
        return revisions.reading(current, self.step.desired, code=self.target.holds_code(current))

    def _before(self) -> revisions.Reading:
        assert self.before is not None, "every write follows a read"
        return self.before

    def _read_back(self, *, pending_code: bool, pending_config: Sequence[str]) -> None:
        """After a write: the function must hold our intent but for what we are still to write; take its revision
        (Lambda moves it again when an update finishes) for the next write."""
        step = self.step
        current = self.target.get(step.region, step.spec.name) or {}
        changed = revisions.foreign_changes(current, step.desired, self._our_code(), pending_code=pending_code,
                                            pending_config=pending_config)
        if changed:
            raise RevisionConflict(f"function {step.spec.name} changed meanwhile", ", ".join(changed))
        step.revision = current.get("RevisionId")
        self.before = self._reading(current)

    def _settle(self, client: Any) -> None:
        """Wait for an update in progress to finish, then take the revision to write against: when it moved since
        the comparison, nothing may differ from our intent but what we are about to write (else: compare again)."""
        step, target = self.step, self.target
        name, region = step.spec.name, step.region
        current = target.get(region, name) or {}
        if current.get("State") == "Pending":
            aws.wait(client, "function_active_v2", name, f"wait for {name}")
            current = target.get(region, name) or {}
        elif current.get("LastUpdateStatus") == "InProgress":
            aws.wait(client, "function_updated_v2", name, f"wait for {name}")
            current = target.get(region, name) or {}
        if current.get("RevisionId") != step.revision:
            changed = revisions.foreign_changes(current, step.desired, self._our_code(), pending_code=step.code,
                                                pending_config=step.config)
            if changed:
                raise RevisionConflict(f"function {name} changed meanwhile", ", ".join(changed))
        step.revision = current.get("RevisionId") or step.revision
        self.before = self._reading(current)

    def _verify(self) -> None:
        """The deploy of the function ends on a read of it that shows our whole intent (after the tags and the
        concurrency, which take time): another deploy's write after ours is a conflict like any other."""
        step, target = self.step, self.target
        if step.action == "none" and not step.concurrency_action:
            return  # nothing written: the comparison's read was the last one
        read = self._reading(target.get(step.region, step.spec.name) or {})
        if not read.whole:
            raise RevisionConflict(f"function {step.spec.name} changed meanwhile",
                                   revisions.what_differs(not read.code, read.config))
        step.revision = read.revision
