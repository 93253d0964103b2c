"""Versions and the alias: publish a version unless the newest already has this code and configuration, and point
the alias at it. Used by deploy.py after each function step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import DeployError, RevisionConflict
from ..sections import FunctionSettings
from . import revisions
from .function_config import config_changes
from .steps import FunctionStep


def versions(step: FunctionStep, *, settings: FunctionSettings, client: Any, call: Callable[..., Any],
             plan: bool) -> None:
    """Publish a version (unless the newest already matches) and point the alias at it. ``call`` is how the
    deployer calls AWS (retrying conflicts, errors in one line). The code is the step's ``code_sha256``: the app
    zip's, or the one Lambda gave the image (empty when planned: a new image is a new version)."""
    if not (settings.publish_version or settings.alias):
        return
    name = step.spec.name
    code_sha256 = step.code_sha256
    latest = None if step.action == "create" else latest_version(call, client, name)
    if latest is not None and code_sha256 and latest.get("CodeSha256") == code_sha256 and not config_changes(
        latest, {k: v for k, v in step.desired.items() if k != "Role"}
    ):
        step.version, step.version_action = latest["Version"], "keep"
    elif plan:
        step.version_action = "publish"
    else:
        data = _publish(step, client, call)
        step.version, step.version_action = data["Version"], "publish"
    alias = settings.alias
    if not alias:
        return
    step.alias_name = alias
    current = None if step.action == "create" else call(
        client.get_alias, f"read alias {alias} of {name}", missing_ok=True, FunctionName=name, Name=alias)
    if current is not None and step.version_action == "keep" and current.get("FunctionVersion") == step.version:
        step.alias_action = "keep"
        return
    step.alias_action = "update" if current is not None else "create"
    if plan:
        return
    if current is None:
        call(client.create_alias, f"point alias {alias} of {name} at version {step.version}", FunctionName=name,
             Name=alias, FunctionVersion=step.version)
        return
    # the alias as read: another deploy that moved it meanwhile makes this update fail instead of undoing it
    call(client.update_alias, f"point alias {alias} of {name} at version {step.version}", FunctionName=name,
         Name=alias, FunctionVersion=step.version,
         **({"RevisionId": current["RevisionId"]} if current.get("RevisionId") else {}))


def _publish(step: FunctionStep, client: Any, call: Callable[..., Any]) -> Any:
    """PublishVersion with the revision the deploy verified the function at (function_writes.py): a version of
    another deploy's $LATEST is refused, and the deploy fails naming what that deploy changed. A revision moved
    by a write that left our whole intent in place (the same deploy run twice: the other published it) is taken."""
    name = step.spec.name
    attempt = 0
    while True:
        try:
            return call(client.publish_version, f"publish a version of {name}", FunctionName=name,
                        **({"CodeSha256": step.code_sha256} if step.code_sha256 else {}),
                        **({"RevisionId": step.revision} if step.revision else {}))
        except RevisionConflict:
            attempt += 1
            current = call(client.get_function, f"read function {name}", FunctionName=name)["Configuration"]
            read = revisions.reading(current, step.desired, code=current.get("CodeSha256") == step.code_sha256)
            if not read.whole:
                raise DeployError(revisions.replaced_line(name, step.region, read)) from None
            if attempt == revisions.ATTEMPTS:
                raise
            step.revision = read.revision


def latest_version(call: Callable[..., Any], client: Any, name: str) -> dict[str, Any] | None:
    """The highest numbered version of ``name`` (not $LATEST), or None."""
    newest: dict[str, Any] | None = None
    marker = None
    while True:
        kwargs = {"FunctionName": name, **({"Marker": marker} if marker else {})}
        page = call(client.list_versions_by_function, f"list versions of {name}", **kwargs)
        for version in page.get("Versions", []):
            number = version["Version"]
            if number.isdigit() and (newest is None or int(number) > int(newest["Version"])):
                newest = version
        marker = page.get("NextMarker")
        if not marker:
            return newest
