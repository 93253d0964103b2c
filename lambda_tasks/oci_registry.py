"""A client for the registry HTTP API (OCI distribution spec): references, authentication, requests.

Build fetches the base image with it; ``aws/registry.py`` pushes with it. Plain HTTP is used only for a registry
on this machine (127.0.0.1, localhost, ::1), which is what tests and local mirrors are; every other host is
HTTPS. Authentication follows the registry's own ``WWW-Authenticate`` challenge: Basic with the credentials
given, or a Bearer token from the realm it names (anonymous when no credentials are given).

Every wait is bounded (``deadlines``): a read or connect waits at most ``LAMBDA_TASKS_NETWORK_TIMEOUT`` seconds
(20), three attempts; a registry that accepts and never answers is reported in about a minute, naming it and the
step, never as a raw urllib3 error.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import urllib3

from .deadlines import ATTEMPTS, NETWORK_ENV, network_timeout
from .errors import RegistryError

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
INDEXES = (OCI_INDEX, DOCKER_LIST)
MANIFESTS = (OCI_MANIFEST, DOCKER_MANIFEST)
GZIP_LAYERS = (OCI_LAYER_GZIP, DOCKER_LAYER_GZIP)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
DOCKER_HUB = "registry-1.docker.io"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_REPOSITORY = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class Reference:
    """``host[:port]/repository[:tag][@sha256:...]``; a name without a host is Docker Hub's."""

    host: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def local(self) -> bool:
        return self.host.rsplit(":", 1)[0] in LOCAL_HOSTS or self.host in LOCAL_HOSTS

    @property
    def name(self) -> str:
        """host/repository, without tag or digest."""
        return f"{self.host}/{self.repository}"

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def parse_reference(text: str, what: str = "image reference", *, repository_only: bool = False) -> Reference:
    """Parse an image reference; RegistryError naming ``what`` when it is not one."""
    rest, _, after = text.partition("@")
    digest = after if "@" in text else None
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        host, path = first, remainder
    else:
        host, path = DOCKER_HUB, rest if "/" in rest else f"library/{rest}"
    tag = None
    if ":" in path.rsplit("/", 1)[-1]:
        path, tag = path.rsplit(":", 1)
    problems = []
    if not _REPOSITORY.match(path):
        problems.append(f"repository {path!r} must be lower-case letters, digits and . _ - separated by /")
    if tag is not None and not _TAG.match(tag):
        problems.append(f"tag {tag!r} is not a valid tag")
    if digest is not None and not _DIGEST.match(digest):
        problems.append(f"digest {digest!r} must be sha256: and 64 hex digits")
    if repository_only and (tag or digest):
        problems.append("give the repository only (no :tag or @digest): the tag is the image's content hash")
    if problems:
        raise RegistryError(f"{what} {text!r} is not a valid image reference\n  " + "\n  ".join(problems))
    return Reference(host, path, tag, digest)


def digest_problem(data: bytes, expected: str) -> str | None:
    actual = "sha256:" + hashlib.sha256(data).hexdigest()
    return None if actual == expected else f"its bytes hash to {actual}, not {expected}"


class Response:
    """A registry's answer: status, headers, and the body (read, or a stream for blobs)."""

    def __init__(self, raw: Any, host: str = "", what: str = "") -> None:
        self.raw, self.host, self.what = raw, host, what
        self.status: int = raw.status
        self.headers: Mapping[str, str] = raw.headers

    @property
    def data(self) -> bytes:
        return bytes(self.raw.data)

    def json(self) -> Any:
        return json.loads(self.data)

    def stream(self, size: int = 1 << 20) -> Iterator[bytes]:
        try:
            yield from self.raw.stream(size)
        except urllib3.exceptions.HTTPError as error:
            raise unreachable(self.host, self.what or "a download", error) from None
        finally:
            self.raw.release_conn()


class Client:
    """One registry, one set of credentials; thread-safe (urllib3's pool), tokens cached per scope."""

    def __init__(self, host: str, credentials: tuple[str, str] | None = None) -> None:
        self.host = host
        self.local = Reference(host, "x").local
        self.base = f"{'http' if self.local else 'https'}://{host}"
        self.credentials = credentials
        seconds = network_timeout()
        self.pool = urllib3.PoolManager(maxsize=8, timeout=urllib3.Timeout(connect=seconds, read=seconds),
                                        retries=urllib3.Retry(total=4, connect=ATTEMPTS - 1, read=ATTEMPTS - 1,
                                                              redirect=5, backoff_factor=0.5,
                                                              status_forcelist=(429, 502, 503, 504)))
        self._auth: dict[str, str] = {}  # scope -> Authorization header value

    def request(self, method: str, path: str, scope: str, *, headers: Mapping[str, str] | None = None,
                body: bytes | None = None, stream: bool = False, what: str = "") -> Response:
        """``path`` below the registry (``/v2/...``) or an absolute URL it gave (a Location); authenticates on a
        401 challenge and tries once more. Errors other than 401 are left to the caller (``status``)."""
        url = path if path.startswith(("http://", "https://")) else self.base + path
        sent = dict(headers or {})
        for attempt in range(2):
            if scope in self._auth:
                sent["Authorization"] = self._auth[scope]
            raw = self._send(method, url, sent, body, stream, what)
            if raw.status != 401 or attempt:
                return Response(raw, self.host, what)
            challenge = raw.headers.get("WWW-Authenticate", "")
            raw.drain_conn()
            self._auth[scope] = self._answer(challenge, scope, what)
        raise AssertionError("unreachable")

    def _send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, stream: bool,
              what: str) -> Any:
        try:
            return self.pool.request(method, url, headers=dict(headers), body=body, preload_content=not stream,
                                     redirect=method in ("GET", "HEAD"))
        except urllib3.exceptions.HTTPError as error:
            raise unreachable(self.host, what or method, error) from None

    def _answer(self, challenge: str, scope: str, what: str) -> str:
        scheme, _, rest = challenge.partition(" ")
        params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if scheme.lower() == "basic":
            if self.credentials is None:
                raise RegistryError(f"the registry {self.host} asks for a user name and password ({what})\n"
                                    "  set LAMBDA_TASKS_REGISTRY_USERNAME and LAMBDA_TASKS_REGISTRY_PASSWORD "
                                    "(ECR repositories log in through boto3 by themselves)")
            return "Basic " + _basic(self.credentials)
        if scheme.lower() != "bearer" or "realm" not in params:
            raise RegistryError(f"the registry {self.host} asks for authentication we do not speak ({what}): "
                                f"{challenge[:80]!r}")
        query = {"service": params.get("service", self.host), "scope": params.get("scope") or scope}
        headers = {"Authorization": "Basic " + _basic(self.credentials)} if self.credentials else {}
        raw = self._send("GET", _with_query(params["realm"], query), headers, None, False, f"a token for {what}")
        if raw.status != 200:
            raise status_error(raw.status, self.host, f"a token for {what}", raw.data)
        try:
            data = json.loads(raw.data)
            token = data.get("token") or data["access_token"]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise RegistryError(f"the registry {self.host}'s token service gave no token ({what})") from None
        return f"Bearer {token}"


def unreachable(host: str, what: str, error: BaseException) -> RegistryError:
    """A registry that did not answer, or could not be reached: one line naming it and the step."""
    cause = getattr(error, "reason", None) or error
    seconds = network_timeout()
    if isinstance(cause, (urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.ConnectTimeoutError)):
        attempts = ATTEMPTS if isinstance(error, urllib3.exceptions.MaxRetryError) else 1
        kind = "connect" if isinstance(cause, urllib3.exceptions.ConnectTimeoutError) else "read"
        first = f"the registry {host} did not answer in {attempts * seconds:g} s ({what}; {attempts} attempts " \
                f"timed out on {kind})"
        return RegistryError(f"{first[:150]}\n  check the host name, the network or the proxy, and that the registry "
                             f"is running; each attempt waits {seconds:g} s ({NETWORK_ENV})")
    detail = " ".join(str(cause).split())[:200]
    return RegistryError(f"cannot reach the registry {host} ({what})"[:150] + f"\n  {detail}\n"
                         "  check the host name, the network and that the registry is running")


def _with_query(url: str, query: Mapping[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(query)


def _basic(credentials: tuple[str, str] | None) -> str:
    assert credentials is not None
    return base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()


def pull_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


def push_scope(repository: str) -> str:
    return f"repository:{repository}:pull,push"


def status_error(status: int, host: str, what: str, body: bytes = b"") -> RegistryError:
    """A registry's refusal as one line saying what to do."""
    detail = _error_detail(body)
    advice = {
        401: "the credentials were refused: log in again (ECR tokens last 12 hours) or check the user and password",
        403: "the credentials are not allowed to do this: check the repository's policy and your IAM permissions",
        404: "the registry has no such repository or image: check the name, or create the repository",
        405: "the registry does not allow this here (a read-only mirror?)",
        413: "the registry refused the size: check its upload limits",
        429: "the registry is throttling: wait and run again",
    }.get(status, "the registry failed: run again; if it persists, check the registry's status")
    return RegistryError(f"registry {host} answered {status} to {what}{': ' + detail if detail else ''}"[:159]
                         + f"\n  {advice}")


def _error_detail(body: bytes) -> str:
    try:
        errors = json.loads(body).get("errors") or []
        return "; ".join(f"{e.get('code', '')} {e.get('message', '')}".strip() for e in errors)[:100]
    except (ValueError, AttributeError, TypeError):
        return ""


def platform_of(architecture: str) -> str:
    """Lambda's architecture name -> the OCI platform's (GOARCH)."""
    return {"x86_64": "amd64", "arm64": "arm64"}[architecture]


def pick_platform(index: Mapping[str, Any], architecture: str, what: str) -> Mapping[str, Any]:
    """The descriptor of ``index``'s linux manifest for Lambda's ``architecture``; RegistryError when none."""
    wanted = platform_of(architecture)
    found = []
    for descriptor in index.get("manifests") or []:
        platform = descriptor.get("platform") or {}
        found.append(f"{platform.get('os')}/{platform.get('architecture')}")
        if platform.get("os") == "linux" and platform.get("architecture") == wanted and \
                platform.get("variant") in (None, "", "v8"):
            return dict(descriptor)
    raise RegistryError(f"{what} has no linux/{wanted} image for {architecture}\n  it has: "
                        f"{', '.join(found) or 'nothing'}\n  pick a base image built for {architecture}")


def env_credentials() -> tuple[str, str] | None:
    """A registry user and password from LAMBDA_TASKS_REGISTRY_USERNAME/PASSWORD (for registries other than ECR)."""
    user, password = os.environ.get("LAMBDA_TASKS_REGISTRY_USERNAME"), os.environ.get("LAMBDA_TASKS_REGISTRY_PASSWORD")
    return (user, password) if user and password else None
