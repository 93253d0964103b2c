"""Fixtures and builders for the publish/deploy tests: hand-made zips and manifests, and botocore event
hooks that inject faults moto never produces. (Credentials and the moto server: ``aws_env``, ``moto_env``
and ``unique_name`` in conftest.py.)"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import AWS_REGION

from lambda_tasks import manifest as manifest_mod
from lambda_tasks.config import Settings, load_settings
from lambda_tasks.deploy import preflight
from lambda_tasks.manifest import Artifact, LayerRecord, Manifest

REGION = AWS_REGION
ROLE_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                             "Action": "sts:AssumeRole"}]}
)


@pytest.fixture
def no_retry_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's standard-mode backoff without the waiting (its jitter source is bound at import)."""
    from botocore.retries.standard import ExponentialBackoff

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)


def zip_bytes(files: dict[str, str | bytes]) -> bytes:
    """A deterministic zip of ``files``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            data = files[name]
            archive.writestr(info, data.encode() if isinstance(data, str) else data)
    return buffer.getvalue()


def write_artifact(root: Path, relative: str, data: bytes, unzipped: int) -> Artifact:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return Artifact(relative, hashlib.sha256(data).hexdigest(), len(data), unzipped)


@dataclass
class FakeBuild:
    """Writes dist/app.zip, layers/*.zip and layers/manifest.json the way a build would."""

    root: Path
    layer_name: str = "proj-deps"  # on the shared moto server: a ``unique_name()``
    settings_overrides: dict[str, Any] = field(default_factory=dict)

    def layer(self, number: int = 1) -> str:
        """The name of the ``number``th layer (``<layer_name>-<number>``), as the build names it."""
        return f"{self.layer_name}-{number}"

    def settings(self, **flags: Any) -> Settings:
        return load_settings(self.root, {}, {"runtime": "python3.12", "layer_name": self.layer_name,
                                            **self.settings_overrides, **flags})

    def build(self, app: dict[str, str | bytes], layers: list[dict[str, str | bytes]]) -> Manifest:
        settings = self.settings()
        previous = manifest_mod.load(settings.manifest_path, settings.output_dir)
        kept = {l.name: l for l in previous.layers} if previous else {}
        app_data = zip_bytes(app)
        app_artifact = write_artifact(self.root, "dist/app.zip", app_data, sum(len(v) for v in app.values()))
        records = []
        for number, files in enumerate(layers, 1):
            name = self.layer(number)
            data = zip_bytes({f"python/{k}": v for k, v in files.items()})
            art = write_artifact(self.root, f"layers/{name}.zip", data, sum(len(v) for v in files.values()))
            old = kept.get(name)
            published = dict(old.published) if old and old.sha256 == art.sha256 else {}
            records.append(LayerRecord(art.path, art.sha256, art.zip_bytes, art.unzipped_bytes, name=name,
                                       distributions=sorted(files), published=published))
        manifest = Manifest("python3.12", "x86_64", app_artifact, records)
        manifest_mod.save(manifest, settings.manifest_path)
        return manifest

    def manifest(self) -> Manifest:
        settings = self.settings()
        return manifest_mod.require(settings.manifest_path, settings.output_dir)


def create_role(name: str) -> str:
    """An IAM role Lambda may assume; ``name`` from ``unique_name`` (IAM is global on the shared server)."""
    import boto3

    return boto3.client("iam", region_name=REGION).create_role(
        RoleName=name, AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]


class CallLog:
    """Counts every API call made through the clients it is attached to (``Clients(on_client=log.attach)``)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.hooks: list[tuple[str, str, Callable[..., Any]]] = []

    def attach(self, service: str, region: str, client: Any) -> None:
        client.meta.events.register(f"before-call.{client.meta.service_model.service_id.hyphenize()}",
                                    self._count)
        for hook_service, event, handler in self.hooks:
            if hook_service == service:
                client.meta.events.register_first(event, handler)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def hook(self, service: str, event: str, handler: Callable[..., Any]) -> None:
        """Register ``handler`` first on ``event`` of every ``service`` client created later."""
        self.hooks.append((service, event, handler))

    def mutations(self) -> Counter[str]:
        """Calls that change something (moto's own reads excluded)."""
        prefixes = ("Create", "Update", "Publish", "Put", "Delete", "Upload", "CompleteMultipart")
        return Counter({k: v for k, v in self.calls.items() if k.startswith(prefixes)})


def client_error(code: str, message: str, status: int, operation: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


def fail_times(times: int, make: Callable[[], Exception]) -> Callable[..., None]:
    """A before-send handler raising ``make()`` for the first ``times`` requests, then letting them through."""
    state = {"left": times}

    def handler(**_: Any) -> None:
        if state["left"] > 0:
            state["left"] -= 1
            raise make()

    handler.state = state  # type: ignore[attr-defined]
    return handler


def respond_times(times: int, status: int, body: dict[str, Any]) -> Callable[..., Any]:
    """A before-send handler answering the first ``times`` requests with an HTTP error (as AWS would)."""
    from botocore.awsrequest import AWSResponse

    state = {"left": times}

    class _Raw:
        def __init__(self, data: bytes) -> None:
            self._data = data

        def stream(self, **_: Any):  # pragma: no cover - botocore reads .content
            yield self._data

    def handler(request: Any, **_: Any) -> Any:
        if state["left"] > 0:
            state["left"] -= 1
            data = json.dumps(body).encode()
            headers = {"x-amzn-errortype": body.get("__type", ""), "content-type": "application/json"}
            response = AWSResponse(request.url, status, headers, _Raw(data))
            response._content = data  # botocore reads .content
            return response
        return None

    handler.state = state  # type: ignore[attr-defined]
    return handler


def deploy_problems(settings: Settings) -> list[Any]:
    """What deploy's checks find in ``settings``, as ``invoke deploy`` asks (each section to its check)."""
    return preflight.deploy_problems(settings.function, settings.deploy, settings.layers, settings.package_type)


def zip_sections(settings: Settings) -> tuple[Any, Any, Any]:
    """The sections a zip deploy takes, as ``invoke deploy`` hands them: function, deploy, layers."""
    return settings.function, settings.deploy, settings.layers
