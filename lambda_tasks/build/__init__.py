"""The pipeline: the one place that knows the order of the stages. Settings in, Manifest out."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Sequence

from .. import __version__
from .. import manifest as manifest_io
from ..build.collect import app_files, walk_files
from ..config import Settings
from ..errors import LimitError
from ..manifest import Artifact, Manifest
from ..report import Reporter, human_bytes, layer_table
from ..sources.requirements import PIP_INDEX_VARIABLES, requirements_digest

#: Settings that only matter to publish and deploy: changing them does not make a build stale.
_DEPLOY_ONLY = {"regions", "function_name", "role", "handler", "memory", "timeout", "environment", "functions",
                "publish_version", "alias", "s3_prefix", "output_dir"}
#: Settings that shape the app zip (the rest, but for the deploy-only ones, shape the layers).
_APP_KEYS = {"project_dir", "runtime", "arch", "app_zip", "include", "bytecode", "bytecode_python", "audit_allow",
             "layer_zip_limit", "unzipped_limit", "s3_bucket", "s3_layer_zip_limit"}


# ------------------------------------------------------------------------------------------ fingerprints


def _digest(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _settings_data(settings: Settings, keys: set[str] | None) -> dict[str, object]:
    data = dataclasses.asdict(settings)
    return {k: v for k, v in data.items() if k not in _DEPLOY_ONLY and (keys is None or k in keys)}


def _tool_versions() -> list[str]:
    """lambda-tasks' and pip's versions; pip's is read off its .dist-info name (importlib.metadata costs 15 ms)."""
    for entry in sys.path:
        found = sorted(Path(entry or ".").glob("pip-*.dist-info"))
        if found:
            return [__version__, found[-1].name[len("pip-"):-len(".dist-info")]]
    return [__version__, "none"]


def app_fingerprint(settings: Settings) -> str:
    """Changes when any app file's bytes or an app setting changes."""
    files = [(arcname, hashlib.sha256(path.read_bytes()).hexdigest(), os.access(path, os.X_OK))
             for arcname, path in app_files(settings.project_dir)]
    return _digest({"files": files, "settings": _settings_data(settings, _APP_KEYS), "tool": __version__,
                    "epoch": os.environ.get("SOURCE_DATE_EPOCH")})


def layers_fingerprint(settings: Settings) -> str:
    """Changes when the requirements (with the files they include), the vendor/ tree, a layer setting, pip's
    index variables or a tool version change."""
    requirements = requirements_digest(settings.requirements_path)
    vendor = []
    if settings.vendor_path.is_dir():
        for rel, path in walk_files(settings.vendor_path):
            info = path.stat()
            vendor.append((rel, info.st_size, info.st_mtime_ns, info.st_mode & 0o111))
    return _digest({"requirements": requirements, "vendor": vendor, "settings": _settings_data(settings, None),
                    "tools": _tool_versions(), "epoch": os.environ.get("SOURCE_DATE_EPOCH"),
                    "pip": [os.environ.get(name) for name in PIP_INDEX_VARIABLES]})


def _outputs_present(previous: Manifest, settings: Settings, which: str) -> bool:
    artifacts: Sequence[Artifact] = [previous.app] if which == "app" else previous.layers
    for artifact in artifacts:
        path = settings.output_dir / artifact.path
        try:
            if path.stat().st_size != artifact.zip_bytes:
                return False
        except FileNotFoundError:
            return False
    return True


# ------------------------------------------------------------------------------------------ the pipeline


def build(settings: Settings, force: bool = False, reporter: Reporter | None = None) -> Manifest:
    """Build what is stale; return the manifest of the artifacts on disk."""
    reporter = reporter or Reporter()
    started = time.monotonic()
    last = manifest_io.load(settings.manifest_path)
    # Another target: its artifacts are of no use, but its layer assignment and deploy state still are.
    same_target = bool(last) and (last.runtime, last.architecture) == (settings.runtime, settings.arch)
    previous = last if same_target else None
    inputs = {"app": app_fingerprint(settings), "layers": layers_fingerprint(settings)}
    fresh = {
        which: bool(previous) and not force and previous.inputs.get(which) == inputs[which]
        and _outputs_present(previous, settings, which)
        for which in ("app", "layers")
    }
    if fresh["app"] and fresh["layers"]:
        assert previous is not None
        reporter.info(f"up to date: {settings.app_zip} and {len(previous.layers)} layer(s) for {settings.target} "
                      f"({time.monotonic() - started:.2f}s)")
        return previous

    from ..build.layers import assemble_app, assemble_layers, write_layers

    app = assemble_app(settings, reporter)
    if fresh["layers"]:
        assert previous is not None
        layers, unit_bytes = previous.layers, previous.unit_bytes
        reporter.info("layers: up to date")
    else:
        plan = assemble_layers(settings, reporter, app.unzipped_bytes,
                               last.layer_assignment() if last else {}, force)
        _check_total(settings, app.unzipped_bytes, plan.unzipped_bytes, plan.largest)
        layers = write_layers(settings, plan, previous.layers if previous else [], reporter)
        unit_bytes = plan.unit_bytes
    _check_total(settings, app.unzipped_bytes, sum(layer.unzipped_bytes for layer in layers), unit_bytes)
    app_record = app.write(settings, reporter)
    result = Manifest(
        runtime=settings.runtime, architecture=settings.arch, app=app_record, layers=layers, inputs=inputs,
        unit_bytes=unit_bytes, deployed=last.deployed if last else {},
    )
    manifest_io.save(result, settings.manifest_path)
    _summary(settings, result, reporter)
    reporter.info(f"built in {time.monotonic() - started:.2f}s; manifest: "
                  f"{settings.manifest_path.relative_to(settings.output_dir).as_posix()}")
    return result


def _check_total(settings: Settings, app_bytes: int, layer_bytes: int, unit_bytes: dict[str, int]) -> None:
    total = app_bytes + layer_bytes + settings.extra_layers_bytes
    if total <= settings.unzipped_limit:
        return
    largest = sorted(unit_bytes.items(), key=lambda item: (-item[1], item[0]))[:10]
    listing = ", ".join(f"{name} {human_bytes(size)}" for name, size in largest)
    raise LimitError(
        f"function code plus layers would be {total:,} bytes unzipped, over Lambda's limit of "
        f"{settings.unzipped_limit:,} (app {app_bytes:,}, layers {layer_bytes:,}, extra layers "
        f"{settings.extra_layers_bytes:,}); largest: {listing}; leave out what the runtime provides "
        "(exclude_runtime_provided = true), unused packages (exclude = [...]) or use a container image"
    )


def _summary(settings: Settings, result: Manifest, reporter: Reporter) -> None:
    limit = settings.layer_limit
    app = result.app
    reporter.info(f"{app.path}: {human_bytes(app.zip_bytes)} zipped, {human_bytes(app.unzipped_bytes)} unzipped "
                  f"({100 * app.zip_bytes / limit:.1f}% of the {human_bytes(limit)} zip limit)")
    rows = [(layer.path, layer.zip_bytes, layer.unzipped_bytes, layer.distributions) for layer in result.layers]
    if not rows:
        reporter.info("layers: none (requirements.txt lists nothing and there is no vendor/)")
    for line in layer_table(rows, limit) if rows else []:
        reporter.info(line)
    total = app.unzipped_bytes + sum(layer.unzipped_bytes for layer in result.layers) + settings.extra_layers_bytes
    reporter.info(f"total unzipped: {human_bytes(total)} ({100 * total / settings.unzipped_limit:.1f}% of "
                  f"{human_bytes(settings.unzipped_limit)})")
