"""boto3 at the edge: clients, retries, waiters, and AWS errors turned into one-line messages.

boto3 is imported lazily, so importing the tasks (and a no-op build) stays fast.
"""

from __future__ import annotations

import base64
import os
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from ..errors import AwsError, RevisionConflict
from ..lambda_values import region_problem
from ..limits import MAX_LAYERS
from . import waiting

T = TypeVar("T")
Sleep = Callable[[float], None]

USER_AGENT_EXTRA = "lambda-tasks"
#: botocore "standard" retry mode: throttling, 5xx and connection errors, with jittered backoff.
MAX_ATTEMPTS = 6
#: Our own retries of 409 ResourceConflictException (botocore never retries it).
CONFLICT_ATTEMPTS = 8
CONFLICT_BASE_DELAY = 1.0
CONFLICT_MAX_DELAY = 20.0

#: Error codes that mean "try again later" and that the caller may safely retry itself.
TRANSIENT_CODES = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "ServiceException",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "SlowDown",
    }
)


def code_sha256(hex_digest: str) -> str:
    """Lambda's ``CodeSha256``: base64 of the raw SHA-256 digest, from our hex digest."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def client_config(max_attempts: int = MAX_ATTEMPTS, kind: waiting.Kind = waiting.API) -> Any:
    """The botocore Config every client of ours uses: standard retries, the timeouts of its kind of call."""
    # lazy: boto3/botocore (~280 ms) load only when AWS is called
    from botocore.config import Config

    limits = waiting.timeouts(kind)
    return Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        user_agent_extra=USER_AGENT_EXTRA,
        connect_timeout=limits.connect,
        read_timeout=limits.read,
    )


class Clients:
    """Creates (and caches) boto3 clients from boto3's own credential, region and endpoint chain.

    ``on_client(service, region, client)`` is called once for every new client: tests hook faults there.
    Each client has the timeouts and deadline of its kind of call (``waiting``): ``api`` for short calls,
    ``upload`` for the calls that carry a zip.
    """

    def __init__(self, on_client: Callable[[str, str, Any], None] | None = None) -> None:
        self._on_client = on_client
        self._session: Any = None
        self._clients: dict[tuple[str, str, int, str], Any] = {}
        self._lock = threading.RLock()  # boto3 sessions are not thread-safe; the clients they made are

    @property
    def session(self) -> Any:
        if self._session is None:
            # lazy: boto3/botocore (~280 ms) load only when AWS is called
            import boto3
            from botocore.exceptions import BotoCoreError

            try:
                self._session = boto3.session.Session()
            except BotoCoreError as exc:  # ProfileNotFound and friends
                raise translate(exc, "start an AWS session") from None
        return self._session

    def default_region(self) -> str | None:
        """boto3's region (AWS_DEFAULT_REGION, the profile), else AWS_REGION, which botocore ignores."""
        return self.session.region_name or os.environ.get("AWS_REGION") or None

    def regions(self, configured: Iterable[str]) -> tuple[str, ...]:
        """The regions to work in: the configured ones, else boto3's default region."""
        chosen = tuple(dict.fromkeys(r for r in configured if r))
        if chosen:
            return chosen
        region = self.default_region()
        if not region:
            raise AwsError("no AWS region: set AWS_REGION (or a region in your AWS profile), or pass --region")
        problem = region_problem(region)
        if problem:
            raise AwsError(f"the default AWS region (AWS_REGION, AWS_DEFAULT_REGION or the profile's) {problem}")
        return (region,)

    def client(self, service: str, region: str, max_attempts: int = MAX_ATTEMPTS,
               kind: waiting.Kind = waiting.API) -> Any:
        with self._lock:
            return self._client(service, region, max_attempts, kind)

    def _client(self, service: str, region: str, max_attempts: int, kind: waiting.Kind) -> Any:
        key = (service, region, max_attempts, kind)
        if key not in self._clients:
            # lazy: boto3/botocore (~280 ms) load only when AWS is called
            from botocore.exceptions import BotoCoreError

            try:
                client = self.session.client(service, region_name=region, config=client_config(max_attempts, kind))
            except BotoCoreError as exc:
                raise translate(exc, f"create an AWS {service} client") from None
            waiting.install(client, kind, max_attempts)
            if self._on_client is not None:
                self._on_client(service, region, client)
            self._clients[key] = client
        return self._clients[key]

    def lambda_(self, region: str) -> Any:
        return self.client("lambda", region)

    def lambda_upload(self, region: str, max_attempts: int = MAX_ATTEMPTS) -> Any:
        """A Lambda client for the calls that carry a zip (longer read timeout and deadline)."""
        return self.client("lambda", region, max_attempts, kind=waiting.UPLOAD)

    def s3(self, region: str) -> Any:
        return self.client("s3", region)

    def iam(self, region: str) -> Any:
        """IAM is global; the region only picks the partition's endpoint (AWS_ENDPOINT_URL applies as for all)."""
        return self.client("iam", region)

    def s3_upload(self, region: str) -> Any:
        """An S3 client for uploading parts (longer read timeout and deadline)."""
        return self.client("s3", region, kind=waiting.UPLOAD)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError, or ''."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", "") or "")
    return ""


def is_transient(exc: BaseException) -> bool:
    """Throttling, a 5xx or a dropped connection: retrying later may work."""
    # lazy: boto3/botocore (~280 ms) load only when AWS is called
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError

    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        return True
    code = error_code(exc)
    if code in TRANSIENT_CODES:
        return True
    status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0) if code else 0
    return isinstance(status, int) and status >= 500


def is_conflict(exc: BaseException) -> bool:
    return error_code(exc) == "ResourceConflictException"


def is_superseded(exc: BaseException) -> bool:
    """The write carried a RevisionId the resource no longer has: another writer got in between."""
    return error_code(exc) == "PreconditionFailedException"


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def safe_endpoint(url: str | None) -> str:
    """An endpoint URL without any user:password part."""
    if not url:
        return "AWS"
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def translate(exc: BaseException, action: str) -> AwsError:
    """One line saying what failed and what to do; never a credential."""
    # lazy: boto3/botocore (~280 ms) load only when AWS is called
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        HTTPClientError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ProfileNotFound,
        WaiterError,
    )
    from botocore.exceptions import ConnectionError as BotoConnectionError

    if isinstance(exc, AwsError):
        return exc
    if isinstance(exc, waiting.NoAnswer):
        return _no_answer(exc, action)
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return AwsError(
            f"cannot {action}: no AWS credentials found; set AWS_PROFILE or configure credentials "
            "(aws configure / aws sso login)"
        )
    if isinstance(exc, ProfileNotFound):
        return AwsError(f"cannot {action}: the AWS profile in AWS_PROFILE does not exist; check ~/.aws/config")
    if isinstance(exc, NoRegionError):
        return AwsError(f"cannot {action}: no AWS region; set AWS_REGION or pass --region")
    if isinstance(exc, EndpointConnectionError):
        url = safe_endpoint(getattr(exc, "kwargs", {}).get("endpoint_url"))
        return AwsError(
            f"cannot {action}: could not connect to {url}; check the network, the region and AWS_ENDPOINT_URL, "
            "then run the command again"
        )
    if type(exc).__name__ == "ReadTimeoutError":
        endpoint = str(getattr(exc, "kwargs", {}).get("endpoint_url") or "")
        return _no_answer(waiting.NoAnswer(endpoint, waiting.timeouts().read, 1, "ReadTimeoutError"), action)
    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        endpoint_url = getattr(exc, "kwargs", {}).get("endpoint_url")
        where = f"AWS at {safe_endpoint(endpoint_url)}" if endpoint_url else "AWS"
        return AwsError(f"cannot {action}: the connection to {where} failed ({type(exc).__name__}); "
                        "run the command again")
    if isinstance(exc, WaiterError):
        reason = _one_line(getattr(exc, "last_response", {}).get("Configuration", {}).get("StateReason", "") or exc)
        return AwsError(f"cannot {action}: the function did not become ready: {reason}")
    if isinstance(exc, ClientError):
        return _client_error(exc, action)
    s3_failed = _s3_upload_failed(exc)
    if s3_failed:
        return AwsError(f"cannot {action}: the S3 upload failed: {_one_line(str(exc))}; {s3_failed}")
    return AwsError(f"cannot {action}: {type(exc).__name__}: {_one_line(str(exc))}")


def _no_answer(exc: waiting.NoAnswer, action: str) -> AwsError:
    """``cannot <step>: AWS at <endpoint> did not answer within N s (k tries); check ...``: one line if it fits."""
    where = f"AWS at {safe_endpoint(exc.endpoint or None)}" if exc.endpoint else "AWS"
    tries = f"{exc.attempts} tries" if exc.attempts > 1 else "1 try"
    seconds = int(exc.seconds)
    if exc.cause == "ConnectTimeoutError":
        what = f"{where} did not accept a connection within {seconds} s ({tries})"
    elif exc.cause == "ReadTimeoutError":
        what = f"{where} did not answer within {seconds} s ({tries})"
    else:
        what = f"the connection to {where} kept failing for {seconds} s ({exc.cause}, {tries})"
    custom = any(name.startswith("AWS_ENDPOINT_URL") for name in os.environ)
    advice = "check AWS_ENDPOINT_URL and the network, then run again" if custom else "check the network, then run again"
    head = f"cannot {action}: {what}"
    if len(head) + len(advice) + 2 < 160:
        return AwsError(f"{head}; {advice}")
    if len(head) < 160:
        return AwsError(f"{head}\n  {advice}")
    short = what.replace(f"{where} ", "AWS ", 1).replace(f"to {where} ", "to AWS ", 1)
    return AwsError(f"cannot {action}: {short}\n  endpoint {where.removeprefix('AWS at ')}; {advice}")


def _s3_upload_failed(exc: BaseException) -> str:
    try:
        # lazy: boto3/botocore (~280 ms) load only when AWS is called
        from boto3.exceptions import S3UploadFailedError
    except ImportError:  # pragma: no cover
        return ""
    if not isinstance(exc, S3UploadFailedError):
        return ""
    text = str(exc)
    if "NoSuchBucket" in text:
        return "the bucket does not exist: create it or fix the s3_bucket setting"
    if "AccessDenied" in text:
        return "allow s3:PutObject on the bucket for these credentials"
    return "run the command again (finished uploads are kept and skipped)"


_ADVICE = {
    "AccessDenied": "the credentials are not allowed to; grant the IAM permission or use another AWS_PROFILE",
    "AccessDeniedException": "the credentials are not allowed to; grant the IAM permission or use another AWS_PROFILE",
    "UnrecognizedClientException": "the credentials are not valid here; check AWS_PROFILE and the region",
    "InvalidClientTokenId": "the credentials are not valid here; check AWS_PROFILE and the region",
    "ExpiredToken": "the credentials have expired; refresh them (aws sso login) and run again",
    "ExpiredTokenException": "the credentials have expired; refresh them (aws sso login) and run again",
    "InvalidSignatureException": "the secret key does not match; check the credentials",
    "NoSuchBucket": "the S3 bucket does not exist: create it or fix the s3_bucket setting",
    "RequestEntityTooLargeException": "the zip is too large to send inline: set s3_bucket so it goes through S3",
    "CodeStorageExceededException": (
        "Lambda's code storage in this region is full: delete old layer or function versions"
    ),
    "TooManyRequestsException": "AWS kept throttling after several retries: run the command again later",
    "ThrottlingException": "AWS kept throttling after several retries: run the command again later",
    "ResourceConflictException": "another update is still in progress: wait a moment and run the command again",
    "ServiceException": "Lambda had an internal error: run the command again",
    "KMSAccessDeniedException": "Lambda cannot use the KMS key: check the key policy",
}


def _client_error(exc: Any, action: str) -> AwsError:
    code = error_code(exc)
    message = _one_line(exc.response.get("Error", {}).get("Message", "") or "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    lowered = message.lower()
    if code == "InvalidParameterValueException" and "role" in lowered:
        advice = "check --role: it must exist and trust lambda.amazonaws.com (new roles take a few seconds to work)"
    elif code in ("404", "NotFound", "NoSuchBucket") and "bucket" in action:
        advice = "the S3 bucket does not exist: create it or fix the s3_bucket setting"
    elif code in ("403", "Forbidden"):
        advice = "access denied: grant the IAM permission or use another AWS_PROFILE"
    elif code == "InvalidParameterValueException" and ("size" in lowered or "smaller" in lowered):
        advice = "a zip is over Lambda's size limit: set s3_bucket, or slim or split the dependencies"
    elif code == "InvalidParameterValueException" and "layers" in lowered:
        advice = f"a function takes at most {MAX_LAYERS} layers: lower max_layers or extra_layers"
    else:
        advice = _ADVICE.get(code, "")
    detail = f"{code}: {message}" if message else (code or f"HTTP {status}")
    return AwsError(f"cannot {action}: {detail}" + (f"; {advice}" if advice else ""))


def call(
    fn: Callable[..., T],
    action: str,
    *,
    sleep: Sleep = time.sleep,
    attempts: int = CONFLICT_ATTEMPTS,
    on_retry: Callable[[int, float], None] | None = None,
    missing_ok: bool = False,
    **kwargs: Any,
) -> T:
    """``fn(**kwargs)``, retrying 409 ResourceConflictException with jittered exponential backoff.

    Throttling and 5xx are retried inside botocore (standard mode). Any other failure, or a conflict
    that outlasts the attempts, becomes an AwsError that says what to do. With ``missing_ok`` a
    "not found" answer returns None instead.
    """
    for attempt in range(1, attempts + 1):
        try:
            with waiting.step(action):
                return fn(**kwargs)
        except Exception as exc:
            if is_conflict(exc) and attempt < attempts:
                delay = backoff(attempt)
                if on_retry is not None:
                    on_retry(attempt, delay)
                sleep(delay)
                continue
            if missing_ok and not_found(exc):
                return None  # type: ignore[return-value]
            if is_superseded(exc):
                raise RevisionConflict(f"cannot {action}: another writer changed it since it was read") from None
            if _is_aws_failure(exc):
                raise translate(exc, action) from None
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def backoff(attempt: int, base: float = CONFLICT_BASE_DELAY, cap: float = CONFLICT_MAX_DELAY) -> float:
    """Full-jitter exponential backoff for the ``attempt``-th retry (1-based)."""
    return random.uniform(base / 2, min(cap, base * 2 ** (attempt - 1)))


def _is_aws_failure(exc: BaseException) -> bool:
    # lazy: boto3/botocore (~280 ms) load only when AWS is called
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, (BotoCoreError, ClientError, waiting.NoAnswer)):
        return True
    return bool(_s3_upload_failed(exc))


def wait(client: Any, waiter: str, function_name: str, action: str) -> None:
    """Block on a Lambda waiter (``function_active_v2`` / ``function_updated_v2``): polls 2 s apart, at most
    ``waiting.waiter_attempts()`` (150: 300 s), each poll bounded like any api call."""
    config = {"Delay": waiting.WAITER_DELAY, "MaxAttempts": waiting.waiter_attempts()}
    try:
        with waiting.step(action):
            client.get_waiter(waiter).wait(FunctionName=function_name, WaiterConfig=config)
    except Exception as exc:
        if _is_aws_failure(exc):
            raise translate(exc, action) from None
        raise


def not_found(exc: BaseException) -> bool:
    return error_code(exc) in {"ResourceNotFoundException", "NotFoundException", "404", "NotFound", "NoSuchKey",
                               "NoSuchEntity"}
