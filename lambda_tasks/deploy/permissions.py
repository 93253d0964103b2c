"""The resource policy statements that let AWS services invoke a function (``lambda:AddPermission``): found by
what they allow (as Chalice's ``_policy_gives_access``), added once under a statement id named by the source.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

Call = Callable[..., Any]


def statement_id(principal: str, source_arn: str) -> str:
    """Ours for this source: the same source, the same id (a second deploy finds it)."""
    return "lambda-tasks-" + hashlib.sha256(f"{principal} {source_arn}".encode()).hexdigest()[:20]


def account_of(arn: str) -> str:
    return arn.split(":")[4]


def partition_of(arn: str) -> str:
    return arn.split(":")[1]


def _statements(client: Any, call: Call, function: str) -> list[dict[str, Any]]:
    data = call(client.get_policy, f"read the resource policy of {function.rsplit(':', 1)[-1]}", missing_ok=True,
                FunctionName=function)
    return list(json.loads(data["Policy"]).get("Statement", [])) if data else []


def _allows(statement: dict[str, Any], action: str, principal: str, source_arn: str) -> bool:
    service = (statement.get("Principal") or {}).get("Service") if isinstance(statement.get("Principal"), dict) \
        else statement.get("Principal")
    condition = statement.get("Condition") or {}
    arns = [v.get("AWS:SourceArn") for v in condition.values() if isinstance(v, dict)]
    return statement.get("Action") == action and service == principal and source_arn in arns


def ensure(client: Any, call: Call, function: str, principal: str, source_arn: str, *, plan: bool,
           action: str = "lambda:InvokeFunction", source_account: str | None = None,
           url_auth_type: str | None = None) -> str | None:
    """Let ``principal`` invoke ``function`` from ``source_arn``: the statement id added, None when one is there.

    ``url_auth_type`` (with action ``lambda:InvokeFunctionUrl``): the public function URL's statement instead,
    which has no source."""
    statements = _statements(client, call, function)
    sid = statement_id(principal, source_arn)
    if url_auth_type is not None:
        if any(s.get("Action") == action and s.get("Sid") == sid for s in statements):
            return None
    elif any(_allows(s, action, principal, source_arn) for s in statements):
        return None
    if plan:
        return sid
    extra: dict[str, Any] = {"SourceAccount": source_account} if source_account else {}
    if url_auth_type is not None:
        extra = {"FunctionUrlAuthType": url_auth_type}
    else:
        extra["SourceArn"] = source_arn
    call(client.add_permission, f"let {principal} invoke {function.rsplit(':', 1)[-1]}", FunctionName=function,
         StatementId=sid, Action=action, Principal=principal, **extra)
    return sid


def remove(client: Any, call: Call, function: str, sid: str) -> None:
    """Take our statement off (gone already, or the function gone: nothing to do)."""
    call(client.remove_permission, f"remove permission {sid}", missing_ok=True, FunctionName=function,
         StatementId=sid)
