"""What deploy does to one function in one region: the plan, filled in as it is carried out, and its line of
output (pure; deploy.py makes and applies them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..config import FunctionSpec


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
    tags: dict[str, str] = field(default_factory=dict)  # the function's tags, all of them (create_function Tags=)
    tags_set: dict[str, str] = field(default_factory=dict)
    tags_removed: list[str] = field(default_factory=list)
    concurrency: int | None = None
    concurrency_action: str = ""  # "put", "delete" or ""
    arn: str | None = None
    #: the CodeSha256 the function has once deployed (a zip's is known; an image's Lambda tells), for versions.py
    code_sha256: str = ""
    #: the function's RevisionId the next write carries (Lambda refuses it once another writer got in between)
    revision: str | None = None

    @property
    def changed(self) -> bool:
        return self.action != "none" or self.version_action == "publish" or self.alias_action in ("create", "update")

    def differs(self) -> bool:
        return bool(self.code or self.config or self.tags_set or self.tags_removed or self.concurrency_action)

    def describe(self, planned: bool) -> str:
        label = f"function {self.spec.name} [{self.region}]"
        would = "would " if planned else ""
        if self.action == "create":
            text = f"{label}: {would}create" if planned else f"{label}: created"
        elif self.action == "update":
            parts = ["code"] if self.code else []
            parts += [f"configuration ({', '.join(self.config)})"] if self.config else []
            parts += [f"tags ({', '.join([*self.tags_set, *self.tags_removed])})"] if self.tags_set or \
                self.tags_removed else []
            if self.concurrency_action:
                parts.append(f"reserved concurrency ({self.concurrency if self.concurrency is not None else 'none'})")
            changes = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
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
