"""The shared build cache in S3 (``cache_bucket``, ``cache_prefix``): layers built once per content for every
runner. The entry format is ``layer_cache.py``'s; this is the boto3 side.

    <prefix>zips/<sha256>.zip          each layer zip, by content (metadata sha256)
    <prefix>records/<fingerprint>.json  the entry: which zips, in which order, and the layers' bill of
                                        materials (layers/pylock.toml's text); written last

Reading checks every zip against the record's sha256 before any file is put in place, so a corrupt or half
uploaded entry is a miss (with a warning) and the build runs as without the cache. Writers of the same
fingerprint write the same zips to the same keys and a whole record each (S3 replaces objects whole): the last
one wins and every record names zips that are there. The cache is optional: missing bucket, access denied and a
corrupt entry are one-line warnings, unless ``cache_required`` makes them (and a miss) errors.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import AwsError, CacheError
from ..layer_cache import Bom, CachedLayers, parse_record, record_bytes, record_key, zip_key
from ..manifest import BillOfMaterials, LayerRecord
from ..report import Reporter, human_bytes
from ..sections import DeploySettings, LayerSettings
from . import clients as aws
from . import waiting

_CHUNK = 1 << 20
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class _Broken(Exception):
    """The cache cannot be used now: the message is the one line to print."""


class S3LayerCache:
    """``layer_cache.LayerCache`` in an S3 bucket."""

    def __init__(self, settings: DeploySettings, reporter: Reporter, clients: aws.Clients | None = None) -> None:
        assert settings.cache_bucket
        self.bucket = settings.cache_bucket
        self.prefix = settings.cache_prefix
        self.where = f"s3://{self.bucket}/{self.prefix}"
        self.required = settings.cache_required
        self.reporter = reporter
        self.clients = clients or aws.Clients()
        self.regions = settings.regions
        self._bad: set[str] = set()  # keys found corrupt: store() writes them again
        #: why the cache is not used again in this build (it did not answer): a silent S3 costs one deadline
        self._silent: str | None = None

    def _s3(self) -> Any:
        """S3 in the first region deploy uses, else boto3's default (S3 redirects to the bucket's own region)."""
        region = next(iter(self.regions), None)
        if region is None:
            try:
                region = self.clients.default_region()
            except AwsError:
                region = None
        return self.clients.client("s3", region or "us-east-1", waiting.CACHE_ATTEMPTS, waiting.CACHE)

    # -- reading
    def fetch(self, fingerprint: str, settings: LayerSettings) -> CachedLayers | None:
        started = time.monotonic()
        try:
            found = self._fetch(fingerprint, settings)
        except _Broken as exc:
            if self.required:
                raise CacheError(f"{exc}\n  cache_required is set, so this runner does not resolve; fix the cache "
                                 "or set cache_required = false") from None
            self.reporter.warn(f"{exc}; building the layers here")
            return None
        if found is None:
            if self.required:
                raise CacheError(
                    f"the layers are not in the shared cache ({self.where}) and cache_required is set\n"
                    "  build them once on a runner that may resolve (cache_required = false), then run again")
            self.reporter.info(f"layers: not in the shared cache ({self.where}) yet; building them")
            return None
        found.seconds = time.monotonic() - started
        return found

    def _fetch(self, fingerprint: str, settings: LayerSettings) -> CachedLayers | None:
        s3 = self._s3()
        key = record_key(self.prefix, fingerprint)
        data = self._get(s3, key)
        if data is None:
            return None
        try:
            layers, unit_bytes, bom = parse_record(data, fingerprint, settings)
        except ValueError as exc:
            self._bad.add(key)
            raise _Broken(f"the shared cache's entry s3://{self.bucket}/{key} is corrupt: {exc}") from None
        temps: list[tuple[Path, Path]] = []
        try:
            for record in layers:
                temps.append((self._download(s3, record, settings.output_dir), settings.output_dir / record.path))
            for temp, final in temps:  # all checked: now put them in place
                os.replace(temp, final)
        finally:
            for temp, _ in temps:
                temp.unlink(missing_ok=True)
        return CachedLayers(layers, unit_bytes, self.where, bom, downloaded=sum(r.zip_bytes for r in layers))

    def _get(self, s3: Any, key: str) -> bytes | None:
        try:
            return bytes(s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except Exception as exc:  # noqa: BLE001 - classified
            if aws.error_code(exc) in _MISSING:
                return None
            raise _Broken(self._trouble(exc, "read the shared cache")) from None

    def _download(self, s3: Any, record: LayerRecord, output_dir: Path) -> Path:
        """The zip in a temp file beside its place, checked against the record's sha256 and size."""
        key = zip_key(self.prefix, record.sha256)
        final = output_dir / record.path
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
        temp = Path(name)
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as out:
                try:
                    body = s3.get_object(Bucket=self.bucket, Key=key)["Body"]
                    for chunk in iter(lambda: body.read(_CHUNK), b""):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                except Exception as exc:  # noqa: BLE001 - classified
                    if aws.error_code(exc) in _MISSING:
                        raise _Broken(f"the shared cache's entry for {record.name} is incomplete: "
                                      f"s3://{self.bucket}/{key} is missing") from None
                    raise _Broken(self._trouble(exc, "download from the shared cache")) from None
            os.chmod(temp, 0o644)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        if digest.hexdigest() != record.sha256 or size != record.zip_bytes:
            temp.unlink(missing_ok=True)
            self._bad.add(key)
            raise _Broken(f"the shared cache's s3://{self.bucket}/{key} is corrupt ({human_bytes(size)}, sha256 "
                          f"{digest.hexdigest()[:12]}..., not {record.sha256[:12]}...)")
        return temp

    def _trouble(self, exc: BaseException, action: str) -> str:
        message = str(aws.translate(exc, f"{action} {self.where}")).splitlines()[0]
        if isinstance(exc, waiting.NoAnswer) or (aws.is_transient(exc) and not aws.error_code(exc)):
            self._silent = message
        if aws.error_code(exc) in {"NoSuchBucket"}:
            message = f"cannot {action}: bucket {self.bucket} does not exist; create it or fix cache_bucket"
        return message

    # -- writing
    def store(self, fingerprint: str, settings: LayerSettings, layers: Sequence[LayerRecord],
              unit_bytes: Mapping[str, int], bill_of_materials: BillOfMaterials | None = None) -> None:
        if self._silent is not None:
            self.reporter.warn(f"layers: not stored in the shared cache ({self.where}): it did not answer earlier "
                               "in this build")
            return
        started = time.monotonic()
        try:
            s3 = self._s3()
            sent = 0
            for record in layers:
                sent += self._put_zip(s3, record, settings.output_dir)
            entry = record_bytes(fingerprint, settings, layers, unit_bytes, f"lambda-tasks {__version__}",
                                 _bom(settings.output_dir, bill_of_materials))
            key = record_key(self.prefix, fingerprint)
            try:  # last: a reader finds a record only once every zip it names is there
                s3.put_object(Bucket=self.bucket, Key=key, Body=entry, ContentType="application/json")
            except Exception as exc:  # noqa: BLE001
                raise _Broken(self._trouble(exc, "write to the shared cache")) from None
        except _Broken as exc:
            self.reporter.warn(f"{exc}; the build is done, the next runner builds the layers again")
            return
        self.reporter.info(f"layers: stored in the shared cache ({self.where}) in {time.monotonic() - started:.2f}s"
                           f" ({human_bytes(sent)} uploaded)")

    def _put_zip(self, s3: Any, record: LayerRecord, output_dir: Path) -> int:
        """Upload the zip unless its key holds it already; the bytes sent."""
        key = zip_key(self.prefix, record.sha256)
        if key not in self._bad:
            head = None
            try:
                head = s3.head_object(Bucket=self.bucket, Key=key)
            except Exception as exc:  # noqa: BLE001 - a missing key is the usual answer; silence is not
                if isinstance(exc, waiting.NoAnswer) or (aws.is_transient(exc) and not aws.error_code(exc)):
                    raise _Broken(self._trouble(exc, "write to the shared cache")) from None
            if head is not None and head.get("ContentLength") == record.zip_bytes and \
                    head.get("Metadata", {}).get("sha256") == record.sha256:
                return 0
        path = output_dir / record.path
        try:
            s3.upload_file(str(path), self.bucket, key, ExtraArgs={"Metadata": {"sha256": record.sha256}})
        except Exception as exc:  # noqa: BLE001
            raise _Broken(self._trouble(exc, "write to the shared cache")) from None
        self._bad.discard(key)
        return record.zip_bytes


def _bom(output_dir: Path, written: BillOfMaterials | None) -> Bom | None:
    """The bill of materials the build wrote, as the record carries it (checked against the manifest's sha256)."""
    if written is None:
        return None
    try:
        data = (output_dir / written.path).read_bytes()
    except OSError as exc:
        raise _Broken(f"cannot read {written.path} for the shared cache: {exc.strerror or exc}") from None
    if hashlib.sha256(data).hexdigest() != written.sha256:
        raise _Broken(f"{written.path} changed while the build stored its layers")
    return Bom(data.decode("utf-8"), written.distributions)
