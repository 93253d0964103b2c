"""``invoke publish-image``: push the built image to ``image_repository`` through the registry HTTP API.

Each blob is asked for first (HEAD) and sent only when the registry lacks it: mounted from the base's repository
when that is on the same registry, else uploaded (one PUT when small, PATCH chunks when large). The manifest goes
by digest, then under its tag, the content hash. An ECR repository is created when missing (with no lifecycle
policy: that is the user's to choose) and logged in to through ``ecr.get_authorization_token`` (boto3's usual
credentials); any other registry takes LAMBDA_TASKS_REGISTRY_USERNAME/PASSWORD when it asks for them.
"""

from __future__ import annotations

import base64
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from .. import manifest as manifest_io
from ..aws import clients as aws
from ..errors import DeployError, RegistryError
from ..manifest import Blob, ImageRecord, Manifest
from ..oci_registry import OCI_MANIFEST, Client, Reference, env_credentials, parse_reference, push_scope, status_error
from ..report import Reporter, human_bytes
from ..sections import ImageSettings

CHUNK = 16 * 1024 * 1024  # ECR wants parts of at least 5 MiB (but the last)
ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


@dataclass
class PushResult:
    repository: str = ""
    digest: str = ""
    uploaded: list[str] = field(default_factory=list)  # digests sent (or, planned, that would be)
    uploaded_bytes: int = 0
    mounted: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    manifest: bool = False  # the manifest (or its tag) was (would be) pushed
    created_repository: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.uploaded or self.mounted or self.manifest or self.created_repository)

    @property
    def image_uri(self) -> str:
        return f"{self.repository}@{self.digest}"


def image_of(manifest: Manifest) -> ImageRecord:
    if manifest.image is None:
        raise DeployError("the build made zips, not an image: set package_type = \"image\" (and image_repository) "
                          "to build and push a container image")
    return manifest.image


def repository_of(image_repository: str | None) -> Reference:
    """The ``image_repository`` setting, parsed; a DeployError when it is unset."""
    if not image_repository:
        raise DeployError("no image_repository: set it to an ECR repository URI "
                          "(<account>.dkr.ecr.<region>.amazonaws.com/<name>) to push the image")
    return parse_reference(image_repository, "image_repository", repository_only=True)


def ecr_region(ref: Reference) -> str | None:
    match = ECR_HOST.match(ref.host)
    return match.group(2) if match else None


def ensure_repository(ref: Reference, clients: aws.Clients, plan: bool, reporter: Reporter) -> bool:
    """Create the ECR repository when missing; True when it was (or, planned, would be) created."""
    region = ecr_region(ref)
    assert region is not None
    ecr = clients.client("ecr", region)
    try:
        ecr.describe_repositories(repositoryNames=[ref.repository])
        return False
    except Exception as exc:  # noqa: BLE001 - botocore's errors are made at run time
        if aws.error_code(exc) != "RepositoryNotFoundException":
            raise aws.translate(exc, f"read ECR repository {ref.repository}") from None
    if not plan:
        aws.call(ecr.create_repository, f"create ECR repository {ref.repository}", repositoryName=ref.repository,
                 imageScanningConfiguration={"scanOnPush": False})
    reporter.info(f"ECR: {'would create' if plan else 'created'} repository {ref.repository} in {region} "
                  "(no lifecycle policy: old images stay until you set one)")
    return True


def ecr_credentials(ref: Reference, clients: aws.Clients) -> tuple[str, str]:
    """The registry user and password ECR hands out for 12 hours (never printed)."""
    region = ecr_region(ref)
    assert region is not None
    data = aws.call(clients.client("ecr", region).get_authorization_token, f"log in to ECR in {region}")
    try:
        token = data["authorizationData"][0]["authorizationToken"]
        user, _, password = base64.b64decode(token).decode().partition(":")
    except (KeyError, IndexError, ValueError) as error:
        raise RegistryError(f"ECR gave no usable authorization token in {region} ({type(error).__name__})\n"
                            "  run again; check the ecr:GetAuthorizationToken permission") from None
    return user, password


def publish_image(settings: ImageSettings, manifest: Manifest, *, clients: aws.Clients | None = None,
                  reporter: Reporter | None = None, plan: bool = False) -> PushResult:
    """Push what the registry lacks; with ``plan``, say what would be pushed. Records the push in the manifest."""
    reporter = reporter or Reporter()
    image = image_of(manifest)
    ref = repository_of(settings.image_repository)
    result = PushResult(repository=ref.name, digest=image.digest)
    if ecr_region(ref):
        clients = clients or aws.Clients()
        result.created_repository = ensure_repository(ref, clients, plan, reporter)
        credentials: tuple[str, str] | None = None if result.created_repository and plan else \
            ecr_credentials(ref, clients)
    else:
        credentials = env_credentials()
    layout = settings.output_dir / image.path / "blobs" / "sha256"
    pusher = _Pusher(Client(ref.host, credentials), ref, layout, reporter)
    if result.created_repository and plan:  # a new repository has nothing: everything would be sent
        result.uploaded = [blob.digest for blob in _blobs(image)]
        result.uploaded_bytes = sum(blob.size for blob in _blobs(image))
        result.manifest = True
    else:
        pusher.push(image, result, plan)
    done = "would push" if plan else "pushed"
    if plan:
        names = {blob.digest: blob.name or "base layer" for blob in image.all_layers()}
        names[image.config.digest] = "config"
        sizes = {blob.digest: blob.size for blob in _blobs(image)}
        for digest in result.uploaded:
            reporter.info(f"  would push {names[digest]}: {digest} ({human_bytes(sizes[digest])})")
    if result.uploaded or result.mounted or result.manifest:
        reporter.info(f"image: {done} {len(result.uploaded)} blob(s), {human_bytes(result.uploaded_bytes)}"
                      f"{f', mounted {len(result.mounted)}' if result.mounted else ''}; "
                      f"{len(result.present)} already there; {result.image_uri}")
    else:
        reporter.info(f"image: up to date in {ref.name} ({result.image_uri})")
    if not plan:
        image.pushed[ref.name] = image.digest
        manifest_io.save(manifest, settings.manifest_path)
    return result


def _blobs(image: ImageRecord) -> list[Blob]:
    return [*image.all_layers(), image.config]


class _Pusher:
    def __init__(self, client: Client, ref: Reference, layout: Path, reporter: Reporter) -> None:
        self.client, self.ref, self.layout, self.reporter = client, ref, layout, reporter
        self.scope = push_scope(ref.repository)
        self.lock = threading.Lock()
        self.sent = 0
        self.total = 0

    def push(self, image: ImageRecord, result: PushResult, plan: bool) -> None:
        missing = [blob for blob in _blobs(image) if not self._has(blob)]
        result.present = [blob.digest for blob in _blobs(image) if blob not in missing]
        base = parse_reference(image.base.reference, "image_base")
        mountable = {blob.digest for blob in image.base.layers} if base.host == self.ref.host else set()
        if not plan:
            for blob in [b for b in missing if b.digest in mountable]:
                if self._mount(blob, base.repository):
                    result.mounted.append(blob.digest)
        to_send = [blob for blob in missing if blob.digest not in result.mounted]
        result.uploaded = [blob.digest for blob in to_send]
        result.uploaded_bytes = sum(blob.size for blob in to_send)
        data = (self.layout / image.tag).read_bytes()
        result.manifest = not self._has_manifest(image.tag, image.digest)
        if plan:
            return
        self.total = result.uploaded_bytes
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(self._upload, to_send))
        if result.manifest:
            self._put_manifest(image.digest, data, image.digest)
            self._put_manifest(image.tag, data, image.digest)

    def _has(self, blob: Blob) -> bool:
        path = f"/v2/{self.ref.repository}/blobs/{blob.digest}"
        response = self.client.request("HEAD", path, self.scope, what=f"HEAD blob {blob.digest[:19]}")
        if response.status in (200, 404):
            return response.status == 200
        raise status_error(response.status, self.client.host, f"a check for blob {blob.digest[:19]}")

    def _has_manifest(self, tag: str, digest: str) -> bool:
        response = self.client.request("HEAD", f"/v2/{self.ref.repository}/manifests/{tag}", self.scope,
                                       headers={"Accept": OCI_MANIFEST}, what="HEAD the manifest")
        if response.status == 404:
            return False
        if response.status != 200:
            raise status_error(response.status, self.client.host, f"a check for the manifest in {self.ref.name}")
        return response.headers.get("Docker-Content-Digest") == digest

    def _mount(self, blob: Blob, source: str) -> bool:
        path = f"/v2/{self.ref.repository}/blobs/uploads/?mount={blob.digest}&from={quote(source, safe='')}"
        response = self.client.request("POST", path, f"{self.scope} repository:{source}:pull", what="mount")
        if response.status == 201:
            return True
        if response.status == 202:  # mounting refused: an upload session was opened instead; let it expire
            return False
        raise status_error(response.status, self.client.host, f"a blob mount into {self.ref.name}", response.data)

    def _location(self, response_headers: object, what: str) -> str:
        location = getattr(response_headers, "get", lambda _k: None)("Location")
        if not location:
            raise RegistryError(f"the registry {self.client.host} gave no upload location for {what}\n"
                                "  it may not support pushes: check the registry")
        return str(location)

    def _upload(self, blob: Blob) -> None:
        what = f"blob {blob.digest[:19]}"
        start = self.client.request("POST", f"/v2/{self.ref.repository}/blobs/uploads/", self.scope,
                                    what=f"start an upload of {what}")
        if start.status != 202:
            raise status_error(start.status, self.client.host, f"start an upload of {what}", start.data)
        location = self._location(start.headers, what)
        path = self.layout / blob.digest.removeprefix("sha256:")
        with open(path, "rb") as handle:
            if blob.size <= CHUNK:
                body = handle.read()
                self._finish(location, blob, body)
                return
            offset = 0
            while offset < blob.size:
                chunk = handle.read(CHUNK)
                end = offset + len(chunk) - 1
                response = self.client.request(
                    "PATCH", location, self.scope, body=chunk, what=f"upload {what}",
                    headers={"Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{end}",
                             "Content-Length": str(len(chunk))})
                if response.status != 202:
                    raise status_error(response.status, self.client.host, f"upload of {what}", response.data)
                location = self._location(response.headers, what)
                offset += len(chunk)
                self._progress(len(chunk))
        self._finish(location, blob, b"")

    def _finish(self, location: str, blob: Blob, body: bytes) -> None:
        url = self._absolute(location)
        url += ("&" if "?" in url else "?") + f"digest={blob.digest}"
        response = self.client.request("PUT", url, self.scope, body=body, what=f"finish blob {blob.digest[:19]}",
                                       headers={"Content-Type": "application/octet-stream",
                                                "Content-Length": str(len(body))})
        if response.status != 201:
            raise status_error(response.status, self.client.host, f"the upload of blob {blob.digest[:19]}",
                               response.data)
        if body:
            self._progress(len(body))

    def _absolute(self, location: str) -> str:
        return location if location.startswith(("http://", "https://")) else self.client.base + location

    def _progress(self, count: int) -> None:
        with self.lock:
            self.sent += count
            self.reporter.progress("image: upload", self.sent, self.total, " bytes")

    def _put_manifest(self, reference: str, data: bytes, digest: str) -> None:
        response = self.client.request("PUT", f"/v2/{self.ref.repository}/manifests/{reference}", self.scope,
                                       body=data, headers={"Content-Type": OCI_MANIFEST}, what="the manifest")
        if response.status != 201:
            raise status_error(response.status, self.client.host, f"the manifest of {self.ref.name}", response.data)
        stored = response.headers.get("Docker-Content-Digest")
        if stored and stored != digest:
            raise RegistryError(f"the registry {self.client.host} stored the manifest as {stored[:19]}..., not "
                                f"{digest[:19]}...\n  it rewrote the manifest: Lambda would get another image")
