"""Publish the manifest's layers: reuse a version with the same content, else publish one.

Our content hash lives in each version's Description (``lambda-tasks sha256:<hex>``) and is confirmed
against ``get_layer_version``'s CodeSha256, so a re-run (or an interrupted run) never publishes twice.
Planning is pure; the boto3 calls live in :class:`Publisher`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .. import limits
from .. import manifest as manifest_mod
from ..aws import clients as aws
from ..aws import waiting
from ..errors import AwsError, LimitError, ManifestError
from ..files import file_sha256
from ..manifest import LayerRecord, Manifest
from ..report import Reporter, human_bytes
from ..sections import LayerSettings, Shipping, Uploads, Where
from . import preflight as validate
from .layer_versions import RemoteVersion, candidates, layer_description, matches, version_of

PUBLISH_ATTEMPTS = 5
MULTIPART_CHUNK = 16 * limits.MB


# ---------------------------------------------------------------- pure planning


def inline_limit(settings: Shipping) -> int:
    """The largest zip we send inline; larger ones must go through S3."""
    return min(settings.layer_zip_limit, limits.INLINE_ZIP_BYTES)


def via_s3(settings: Shipping, zip_bytes: int) -> bool:
    """All zips go through S3 when a bucket is set; without one, those over the inline limit must."""
    return bool(settings.s3_bucket) or zip_bytes > inline_limit(settings)


def check_uploadable(settings: Shipping, what: str, zip_bytes: int) -> None:
    if zip_bytes > inline_limit(settings) and not settings.s3_bucket:
        raise LimitError(
            f"{what} is {human_bytes(zip_bytes)}, over the {human_bytes(inline_limit(settings))} Lambda accepts "
            "inline; set s3_bucket (a bucket in the same region) so it is uploaded through S3"
        )


def bucket_for(settings: Uploads, region: str) -> str:
    """``s3_bucket``, with ``{region}`` filled in (one bucket per region: Lambda reads only its own region)."""
    assert settings.s3_bucket
    return settings.s3_bucket.replace("{region}", region)


def s3_key(settings: Uploads, sha256_hex: str) -> str:
    """Content-addressed: the same zip always lands at the same key."""
    return f"{settings.s3_prefix}{sha256_hex}.zip"


def bucket_region(location: str | None) -> str:
    """GetBucketLocation's answer as a region name (None means us-east-1, EU means eu-west-1)."""
    if not location:
        return "us-east-1"
    return "eu-west-1" if location == "EU" else location


@dataclass
class LayerStep:
    """What happens to one layer in one region."""

    region: str
    record: LayerRecord
    action: Literal["keep", "reuse", "publish"]
    arn: str | None = None
    via_s3: bool = False
    #: another deploy published the same content while this one prepared to: reused instead
    raced: bool = False

    def describe(self, settings: Uploads, planned: bool) -> str:
        label = f"layer {self.record.name} [{self.region}]"
        if self.action == "keep":
            return f"{label}: up to date ({self.arn})"
        if self.action == "reuse" and self.raced:
            return (f"{label}: another deploy published the same content meanwhile as version "
                    f"{version_of(self.arn or '')}, reusing it")
        if self.action == "reuse":
            return f"{label}: content already published as version {version_of(self.arn or '')}, reusing it"
        how = "inline"
        if self.via_s3:
            how = f"via s3://{bucket_for(settings, self.region)}/{s3_key(settings, self.record.sha256)}"
        size = human_bytes(self.record.zip_bytes)
        if planned:
            return f"{label}: would publish a new version ({size}, {how})"
        return f"{label}: published version {version_of(self.arn or '')} ({size}, {how})"


@dataclass
class PublishResult:
    steps: list[LayerStep] = field(default_factory=list)
    #: the regions worked in, once known (for the summary of an interrupted run)
    regions: list[str] = field(default_factory=list)

    @property
    def published(self) -> list[LayerStep]:
        return [s for s in self.steps if s.action == "publish"]

    def arns(self, region: str) -> list[str]:
        """The layer ARNs for ``region`` in manifest order (None for planned, unpublished ones)."""
        return [s.arn or f"<new {s.record.name}>" for s in self.steps if s.region == region]


# ---------------------------------------------------------------- files


def verified_path(settings: Where, relative: str, sha256_hex: str) -> Path:
    """The artifact on disk, checked against the manifest's hash."""
    path = settings.output_dir / relative
    if not path.is_file():
        raise ManifestError(f"{relative} is missing; run `invoke build`")
    if file_sha256(path) != sha256_hex:
        raise ManifestError(f"{relative} changed since the build wrote the manifest; run `invoke build`")
    return path


# ---------------------------------------------------------------- boto3


class Publisher:
    """Finds or publishes layer versions and uploads zips to S3, as the layers' section says (the target, the
    bucket, the inline limit)."""

    def __init__(
        self,
        settings: LayerSettings,
        clients: aws.Clients,
        reporter: Reporter,
        sleep: aws.Sleep = time.sleep,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.reporter = reporter
        self.sleep = sleep
        self._checked_buckets: set[tuple[str, str]] = set()

    # -- lookups
    def get_version(self, region: str, name: str, number: int) -> RemoteVersion | None:
        client = self.clients.lambda_(region)
        data = aws.call(
            client.get_layer_version, f"read layer {name} version {number}", sleep=self.sleep,
            missing_ok=True, LayerName=name, VersionNumber=number,
        )
        return None if data is None else RemoteVersion.from_api(data)

    def list_versions(self, region: str, name: str) -> list[RemoteVersion]:
        client = self.clients.lambda_(region)
        found: list[RemoteVersion] = []
        marker: str | None = None
        while True:
            kwargs: dict[str, Any] = {"LayerName": name}
            if marker:
                kwargs["Marker"] = marker
            page = aws.call(client.list_layer_versions, f"list versions of layer {name}", sleep=self.sleep,
                            missing_ok=True, **kwargs)
            if page is None:
                return found
            found.extend(RemoteVersion.from_api(v) for v in page.get("LayerVersions", []))
            marker = page.get("NextMarker")
            if not marker:
                return found

    def find_existing(self, region: str, record: LayerRecord) -> RemoteVersion | None:
        """A published version holding exactly this zip for our target, confirmed by CodeSha256 (the newest; when
        two deploys published the same content at once, the others are named once)."""
        found = candidates(self.list_versions(region, record.name), record.sha256)
        for candidate in found:
            full = self.get_version(region, record.name, candidate.version)
            if full is not None and matches(full, record.sha256, self.settings.target):
                twins = sorted(v.version for v in found if v.version != full.version)
                if twins:
                    self.reporter.info(
                        f"layer {record.name} [{region}]: versions {', '.join(map(str, twins))} and {full.version} "
                        f"hold the same content (deploys that published at once); using {full.version}")
                return full
        return None

    def plan_layer(self, region: str, record: LayerRecord) -> LayerStep:
        s3 = via_s3(self.settings, record.zip_bytes)
        check_uploadable(self.settings, f"layer {record.name} ({record.path})", record.zip_bytes)
        recorded = record.published.get(region)
        number = version_of(recorded) if recorded else None
        if recorded and number is not None:
            current = self.get_version(region, record.name, number)
            target = self.settings.target
            if current is not None and current.arn == recorded and matches(current, record.sha256, target):
                return LayerStep(region, record, "keep", recorded, s3)
        existing = self.find_existing(region, record)
        if existing is not None:
            return LayerStep(region, record, "reuse", existing.arn, s3)
        return LayerStep(region, record, "publish", None, s3)

    # -- changes
    def publish(self, step: LayerStep) -> RemoteVersion:
        """Publish one version; a failed or lost request is followed by a search, never a blind retry."""
        record, region, settings = step.record, step.region, self.settings
        path = verified_path(settings, record.path, record.sha256)
        if step.via_s3:
            bucket = bucket_for(settings, region)
            key = s3_key(settings, record.sha256)
            self.upload(region, bucket, key, path, record.sha256)
            content: dict[str, Any] = {"S3Bucket": bucket, "S3Key": key}
        else:
            content = {"ZipFile": path.read_bytes()}
        # a deploy of the same stage may have published this content since the plan: a race then costs nothing
        raced = self.find_existing(region, record)
        if raced is not None:
            step.action, step.raced = "reuse", True
            return raced
        client = self.clients.lambda_upload(region, max_attempts=1)
        action = f"publish layer {record.name} in {region}"
        for attempt in range(1, PUBLISH_ATTEMPTS + 1):
            try:
                with waiting.step(action):
                    data = client.publish_layer_version(
                        LayerName=record.name,
                        Description=layer_description(record),
                        Content=content,
                        CompatibleRuntimes=[settings.runtime],
                        CompatibleArchitectures=[settings.arch],
                    )
                break
            except Exception as exc:  # noqa: BLE001 - classified below
                if attempt < PUBLISH_ATTEMPTS and (aws.is_transient(exc) or aws.is_conflict(exc)):
                    self.reporter.warn(f"{action}: {aws.error_code(exc) or type(exc).__name__}, checking and retrying")
                    self.sleep(aws.backoff(attempt))
                    existing = self.find_existing(region, record)  # the lost request may have succeeded
                    if existing is not None:
                        return existing
                    continue
                raise aws.translate(exc, action) from None
        version = RemoteVersion.from_api(data)
        if version.code_sha256 != aws.code_sha256(record.sha256):
            self._delete_quietly(region, record.name, version.version)
            source = f"s3://{content['S3Bucket']}/{content['S3Key']}" if step.via_s3 else record.path
            raise AwsError(
                f"Lambda stored layer {record.name} with CodeSha256 {version.code_sha256 or '(empty)'}, not the "
                f"built zip's {aws.code_sha256(record.sha256)} (from {source}); the version was deleted, run again"
            )
        return version

    def _delete_quietly(self, region: str, name: str, number: int) -> None:
        try:
            self.clients.lambda_(region).delete_layer_version(LayerName=name, VersionNumber=number)
        except Exception:  # noqa: BLE001 - best effort; a wrong version is never reused anyway
            self.reporter.warn(f"could not delete the bad version {number} of layer {name}")

    def check_bucket(self, region: str, bucket: str) -> None:
        if (region, bucket) in self._checked_buckets:
            return
        s3 = self.clients.s3(region)
        try:
            with waiting.step(f"check S3 bucket {bucket}"):
                location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")
        except Exception as exc:  # noqa: BLE001
            if aws.error_code(exc) in {"NoSuchBucket", "404", "NotFound"}:
                raise AwsError(
                    f"S3 bucket {bucket} does not exist; create it in {region} or fix the s3_bucket setting"
                ) from None
            raise aws.translate(exc, f"check S3 bucket {bucket}") from None
        where = bucket_region(location)
        if where != region:
            raise AwsError(
                f"S3 bucket {bucket} is in {where}, but Lambda in {region} only reads buckets in its own region; "
                "use a bucket there (s3_bucket may contain {region})"
            )
        self._checked_buckets.add((region, bucket))

    def upload(self, region: str, bucket: str, key: str, path: Path, sha256_hex: str) -> bool:
        """Put ``path`` at s3://bucket/key unless an object with the same content is there; True if uploaded."""
        self.check_bucket(region, bucket)
        s3 = self.clients.s3(region)
        size = path.stat().st_size
        head = aws.call(s3.head_object, f"check s3://{bucket}/{key}", sleep=self.sleep, missing_ok=True,
                        Bucket=bucket, Key=key)
        if head is not None and head.get("ContentLength") == size and head.get("Metadata", {}).get("sha256") in (
            None, sha256_hex,
        ):
            self.reporter.info(f"s3://{bucket}/{key}: already uploaded")
            return False
        # lazy: boto3/botocore (~280 ms) load only when AWS is called
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(
            multipart_threshold=MULTIPART_CHUNK, multipart_chunksize=MULTIPART_CHUNK, max_concurrency=4
        )
        lock = threading.Lock()
        done = [0]

        def progress(amount: int) -> None:
            with lock:
                done[0] += amount
                self.reporter.progress(f"uploading {path.name}", min(done[0], size), size, " bytes")

        try:
            with waiting.step(f"upload {path.name} to s3://{bucket}/{key}", live=False):
                self.clients.s3_upload(region).upload_file(
                    str(path), bucket, key, ExtraArgs={"Metadata": {"sha256": sha256_hex}}, Config=config,
                    Callback=progress)
        except Exception as exc:  # noqa: BLE001
            raise aws.translate(exc, f"upload {path.name} to s3://{bucket}/{key}") from None
        return True


def publish_layers(
    settings: LayerSettings,
    manifest: Manifest,
    *,
    publisher: Publisher | None = None,
    clients: aws.Clients | None = None,
    reporter: Reporter | None = None,
    plan: bool = False,
    regions: Sequence[str] = (),
    sleep: aws.Sleep = time.sleep,
    result: PublishResult | None = None,
) -> PublishResult:
    """Make every manifest layer available in each of ``regions`` (the setting; none: boto3's default region);
    record the ARNs (saved after each one, so an interrupted run is remembered). ``result`` is filled as steps
    finish: after a Ctrl-C it says what was done."""
    validate.refuse(validate.publish_problems(settings, regions) + validate.manifest_problems(settings, manifest))
    if publisher is None:
        publisher = Publisher(settings, clients or aws.Clients(), reporter or Reporter(), sleep)
    clients, reporter = publisher.clients, publisher.reporter
    result = result if result is not None else PublishResult()
    result.regions = list(clients.regions(regions))
    with waiting.watching(reporter):
        for region in result.regions:
            for record in manifest.layers:
                step = publisher.plan_layer(region, record)
                if step.action == "publish" and not plan:
                    step.arn = publisher.publish(step).arn
                if step.arn and not plan and record.published.get(region) != step.arn:
                    record.published[region] = step.arn
                    manifest_mod.save(manifest, settings.manifest_path)
                result.steps.append(step)
                reporter.info(step.describe(settings, planned=plan))
    if not result.published:
        reporter.info("layers: nothing to publish, every layer is already published")
    return result
