"""One deploy of a stage at a time where AWS offers no revision to write against: a lease in S3.

A function's writes carry its RevisionId (deployer.py, revisions.py), but API Gateway imports, EventBridge rules,
event source mappings and subscriptions take none. So, when the shared build cache's bucket is set
(``cache_bucket``), a deploy (not a ``--plan``) of a stage takes a lease on
``s3://<cache_bucket>/<cache_prefix>deploy-locks/<app_name>-<stage>.json`` with a conditional PUT (``If-None-Match:
*``: S3 lets one writer create it). The object says who holds it and until when. Another deploy of the same stage
waits, saying so in one line, until the holder releases it or its lease runs out (a killed runner's lock expires
by itself: the holder renews the lease while it deploys); ``--break-lock`` removes a lock on purpose. Without a
bucket there is nowhere both runners can see: deploy says so once.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..aws import clients as aws
from ..errors import DeployError
from ..report import Reporter

#: how long a lease lasts unless renewed, and how often the holder renews it
LEASE_S = 600
RENEW_S = 120
#: how long a deploy waits for another deploy of its stage before giving up, and how often it looks
WAIT_S = 1800
POLL_S = 5.0


@dataclass(frozen=True)
class Lease:
    """Who holds a stage's lock, and until when (seconds since the epoch)."""

    holder: str
    taken: float
    until: float

    def to_json(self) -> bytes:
        return json.dumps({"holder": self.holder, "taken": self.taken, "until": self.until}, sort_keys=True).encode()

    @classmethod
    def parse(cls, data: bytes) -> Lease | None:
        """None when the object is not a lease we wrote (then it is treated as expired: it guards nothing)."""
        try:
            raw = json.loads(data)
            return cls(str(raw["holder"])[:200], float(raw["taken"]), float(raw["until"]))
        except (ValueError, KeyError, TypeError):
            return None

    def expired(self, now: float) -> bool:
        return now >= self.until


def lock_key(prefix: str, app_name: str, stage: str) -> str:
    return f"{prefix}deploy-locks/{app_name}-{stage}.json"


def holder_name() -> str:
    """``user@host pid N``, or the CI run when one is named (GitHub Actions, GitLab)."""
    run = os.environ.get("GITHUB_RUN_ID") or os.environ.get("CI_PIPELINE_ID")
    where = f"CI run {run}" if run else f"{os.environ.get('USER') or 'someone'}@{socket.gethostname()}"
    return f"{where} pid {os.getpid()}"


class StageLock:
    """The lease, through one S3 client (``s3``)."""

    def __init__(self, s3: Any, bucket: str, key: str, reporter: Reporter, *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.s3, self.bucket, self.key, self.reporter = s3, bucket, key, reporter
        self.clock, self.sleep = clock, sleep
        self.etag: str | None = None
        self.where = f"s3://{bucket}/{key}"

    def read(self) -> tuple[Lease | None, str | None]:
        """The lease there and its ETag, or (None, None) when there is none."""
        try:
            data = self.s3.get_object(Bucket=self.bucket, Key=self.key)
        except Exception as exc:  # noqa: BLE001 - classified
            if aws.not_found(exc) or aws.error_code(exc) == "NoSuchKey":
                return None, None
            raise aws.translate(exc, f"read the deploy lock {self.where}") from None
        return Lease.parse(data["Body"].read()), data.get("ETag")

    def _put(self, lease: Lease, **condition: str) -> bool:
        """Write ``lease`` if ``condition`` holds (If-None-Match / If-Match); False when another got there first."""
        try:
            answer = self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=lease.to_json(),
                                        ContentType="application/json", **condition)
        except Exception as exc:  # noqa: BLE001 - classified
            if aws.error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
                return False
            raise aws.translate(exc, f"take the deploy lock {self.where}") from None
        self.etag = answer.get("ETag")
        return True

    def acquire(self, wait_s: float = WAIT_S) -> None:
        deadline = self.clock() + wait_s
        said = ""
        while True:
            now = self.clock()
            mine = Lease(holder_name(), now, now + LEASE_S)
            if self._put(mine, IfNoneMatch="*"):
                return
            lease, etag = self.read()
            if etag is None:
                continue  # released meanwhile: try again at once
            if lease is None or lease.expired(now):  # abandoned (or not ours to read): take it over
                if self._put(mine, IfMatch=etag):
                    who = lease.holder if lease else "an unreadable lock"
                    self.reporter.warn(f"deploy lock {self.where}: took over the expired lease of {who}")
                    return
                continue
            if now >= deadline:
                raise DeployError(
                    f"another deploy of this stage holds {self.where} ({lease.holder}, lease until "
                    f"{time.strftime('%H:%M:%S', time.gmtime(lease.until))} UTC)\n"
                    "  wait for it to finish; if it was killed, its lease expires by itself, or run the deploy again "
                    "with --break-lock")
            line = f"deploy: waiting for another deploy of this stage ({lease.holder}) to release {self.where}"
            if line != said:
                self.reporter.info(line)
                said = line
            self.sleep(min(POLL_S, max(deadline - now, 0.1)))

    def renew(self) -> bool:
        """Extend our lease; False when it is no longer ours (broken or taken over)."""
        now = self.clock()
        return self.etag is not None and self._put(Lease(holder_name(), now, now + LEASE_S), IfMatch=self.etag)

    def release(self) -> None:
        lease, etag = self.read()
        if etag is not None and etag == self.etag:
            try:
                self.s3.delete_object(Bucket=self.bucket, Key=self.key)
            except Exception:  # noqa: BLE001 - the lease expires by itself
                self.reporter.warn(f"could not release the deploy lock {self.where}; it expires by itself")
        elif lease is not None:
            self.reporter.warn(f"deploy lock {self.where} was taken by {lease.holder} during this deploy")

    def remove(self) -> bool:
        """``--break-lock``: delete whatever lock is there; True when there was one."""
        lease, etag = self.read()
        if etag is None:
            return False
        self.s3.delete_object(Bucket=self.bucket, Key=self.key)
        self.reporter.warn(f"deploy lock {self.where}: broke the lock of {lease.holder if lease else 'someone'}")
        return True


@contextmanager
def stage_lock(lock: StageLock | None, *, break_lock: bool = False, renew_every: float = RENEW_S) -> Iterator[None]:
    """Hold ``lock`` (None: no bucket, nothing to hold) for the block, renewing the lease in the background."""
    if lock is None:
        yield
        return
    if break_lock:
        lock.remove()
    lock.acquire()
    stop = threading.Event()

    def keep() -> None:
        while not stop.wait(renew_every):
            if not lock.renew():
                lock.reporter.warn(f"deploy lock {lock.where} is no longer this deploy's (broken or expired)")
                return

    keeper = threading.Thread(target=keep, name="deploy-lock", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join(timeout=5)
        lock.release()
