"""The deploy record of a stage: what deploy made in AWS (functions, the REST API, event sources and their
permissions, the role, layer versions), per region, in ``<output dir>/deployed/<stage>.json``.

The next deploy reads it to find the API and to take away what the app no longer declares; ``invoke delete``
reads it to take everything away. Written atomically (temp file + rename).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DeployError
from ..files import write_atomic

VERSION = 1


@dataclass
class RegionRecord:
    functions: dict[str, str] = field(default_factory=dict)  # short name -> function ARN
    rest_api: dict[str, str] = field(default_factory=dict)  # id, url
    websocket_api: dict[str, str] = field(default_factory=dict)  # id, url
    events: list[dict[str, Any]] = field(default_factory=list)  # event_sources.py's entries
    layers: list[str] = field(default_factory=list)  # layer version ARNs published for the app


@dataclass
class DeployRecord:
    app: str
    stage: str
    role: str = ""  # the role deploy manages for the app (``<app_name>-<stage>``), when a function uses it
    regions: dict[str, RegionRecord] = field(default_factory=dict)

    def region(self, name: str) -> RegionRecord:
        return self.regions.setdefault(name, RegionRecord())

    def as_json(self) -> dict[str, Any]:
        return {"version": VERSION, "app": self.app, "stage": self.stage, "role": self.role,
                "regions": {name: vars(r) for name, r in sorted(self.regions.items())}}


def record_path(output_dir: Path, stage: str) -> Path:
    return output_dir / "deployed" / f"{stage}.json"


def load(path: Path) -> DeployRecord | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise DeployError(f"the deploy record {path} cannot be read: {exc}\n  remove it to start afresh (deploy "
                          "then finds the REST API by name; delete needs it)") from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise DeployError(f"the deploy record {path} is not one this lambda-tasks writes (version "
                          f"{data.get('version') if isinstance(data, dict) else '?'})")
    record = DeployRecord(str(data.get("app", "")), str(data.get("stage", "")), str(data.get("role") or ""))
    for name, region in (data.get("regions") or {}).items():
        record.regions[name] = RegionRecord(dict(region.get("functions") or {}), dict(region.get("rest_api") or {}),
                                            dict(region.get("websocket_api") or {}), list(region.get("events") or []),
                                            list(region.get("layers") or []))
    return record


def save(record: DeployRecord, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, (json.dumps(record.as_json(), indent=2, sort_keys=True) + "\n").encode())


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)
