"""Where archive files live: one small interface, two kinds of storage (issue 17 point 4).

- ``LocalStorage``: a folder (ARCHIVE_ROOT, the instance's `archive/` by default): the embedded
  default, one machine.
- ``S3Storage``: a bucket of S3-compatible object storage (AWS S3, MinIO, Ceph RGW, and the
  S3-compatible services of Chinese clouds), chosen by ``CRM_STORAGE_URL=s3://bucket/prefix``;
  endpoint, keys and region from CRM_S3_ENDPOINT_URL, CRM_S3_ACCESS_KEY_ID,
  CRM_S3_SECRET_ACCESS_KEY, CRM_S3_REGION (without keys, boto3's own chain: AWS_* variables,
  an instance role). Every web server and worker then reads and writes the same files without
  a shared disk.

Files are addressed by a relative key with "/" separators (``2026/HT/00000042.pdf``,
``incoming/<uuid>.pdf``, ``contracts/7/<sha256>.pdf``): the key is what the database keeps, so
the same rows work on either storage. Everything that touches archive content — upload,
indexing, download, the integrity sweep, backup and restore, destruction and disposal — goes
through ``get_storage()``.
"""

import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from flask import current_app

CHUNK = 1024 * 1024


class StorageError(Exception):
    """A storage address that is not a key inside the storage (``..``, an absolute path)."""


def clean_key(key: str) -> str:
    """A relative key with "/" separators, refused when it would leave the storage."""
    path = PurePosixPath(str(key).replace("\\", "/"))
    if not key or path.is_absolute() or ".." in path.parts or not path.parts:
        raise StorageError(f"not a storage key: {key!r}")
    return path.as_posix()


def hash_stream(stream) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class Storage(Protocol):
    kind: str

    def put(self, key: str, stream: BinaryIO) -> tuple[str, int]:
        """Write the stream under ``key`` (whole or not at all); (sha256, size)."""

    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of the file; FileNotFoundError when it is not there."""

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> bool:
        """Remove the file; True when it was there."""

    def move(self, source: str, target: str) -> bool:
        """Give a file a new key; False when the source is not there."""

    def sha256(self, key: str) -> tuple[str, int] | None:
        """(sha256, size) of the stored bytes, read back from the storage; None if missing."""

    def iterate(self, prefix: str = "") -> Iterator[str]:
        """Every key (under ``prefix``), sorted."""

    def describe(self) -> str: ...


class LocalStorage:
    kind = "local"

    def __init__(self, root):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        path = (self.root / clean_key(key)).resolve()
        if self.root.resolve() not in path.parents:
            raise StorageError(f"{key!r} points outside {self.root}")
        return path

    def put(self, key, stream):
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
        digest, size = hashlib.sha256(), 0
        try:
            with tmp.open("wb") as fh:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    fh.write(chunk)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return digest.hexdigest(), size

    def open(self, key):
        path = self.path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        return path.open("rb")

    def get(self, key):
        with self.open(key) as fh:
            return fh.read()

    def exists(self, key):
        return self.path(key).is_file()

    def delete(self, key):
        path = self.path(key)
        if not path.is_file():
            return False
        path.unlink()
        return True

    def move(self, source, target):
        src, dst = self.path(source), self.path(target)
        if not src.is_file():
            return False
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)
        return True

    def sha256(self, key):
        try:
            with self.open(key) as fh:
                return hash_stream(fh)
        except FileNotFoundError:
            return None

    def iterate(self, prefix=""):
        base = self.path(prefix) if prefix else self.root
        if not base.is_dir():
            return iter(())
        root = self.root.resolve()
        return iter(
            sorted(
                p.resolve().relative_to(root).as_posix()
                for p in base.rglob("*")
                if p.is_file() and not p.name.endswith(".part")
            )
        )

    def describe(self):
        return str(self.root)


class S3Storage:
    kind = "s3"

    def __init__(self, bucket: str, prefix: str = "", client=None, **options):
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.client = client or make_client(**options)

    def _key(self, key: str) -> str:
        key = clean_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @staticmethod
    def _missing(exc) -> bool:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    def put(self, key, stream):
        # Hashed on the way to a spooled copy, then uploaded (multipart when large): the sum is
        # of the bytes sent, and the object appears whole or not at all.
        digest, size = hashlib.sha256(), 0
        with tempfile.SpooledTemporaryFile(max_size=8 * CHUNK) as spool:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                spool.write(chunk)
            spool.seek(0)
            self.client.upload_fileobj(spool, self.bucket, self._key(key))
        return digest.hexdigest(), size

    def open(self, key):
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except ClientError as exc:
            if self._missing(exc):
                raise FileNotFoundError(key) from exc
            raise

    def get(self, key):
        body = self.open(key)
        try:
            return body.read()
        finally:
            body.close()

    def exists(self, key):
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if self._missing(exc):
                return False
            raise
        return True

    def delete(self, key):
        if not self.exists(key):
            return False
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        return True

    def move(self, source, target):
        if not self.exists(source):
            return False
        self.client.copy(
            {"Bucket": self.bucket, "Key": self._key(source)}, self.bucket, self._key(target)
        )
        self.client.delete_object(Bucket=self.bucket, Key=self._key(source))
        return True

    def sha256(self, key):
        try:
            body = self.open(key)
        except FileNotFoundError:
            return None
        try:
            return hash_stream(body)
        finally:
            body.close()

    def iterate(self, prefix=""):
        start = self._key(prefix) if prefix else self.prefix
        if start and not start.endswith("/"):
            start += "/"
        cut = len(f"{self.prefix}/") if self.prefix else 0
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start
        )
        return iter(sorted(obj["Key"][cut:] for page in pages for obj in page.get("Contents", ())))

    def describe(self):
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def make_client(
    endpoint_url=None,
    access_key_id=None,
    secret_access_key=None,
    region=None,
    addressing_style=None,
):
    import boto3
    from botocore.config import Config as BotoConfig

    options = {
        "retries": {"max_attempts": 3, "mode": "standard"},
        "connect_timeout": 5,
        "read_timeout": 60,
    }
    if addressing_style:
        options["s3"] = {"addressing_style": addressing_style}
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or None,
        aws_access_key_id=access_key_id or None,
        aws_secret_access_key=secret_access_key or None,
        region_name=region or None,
        config=BotoConfig(**options),
    )


def storage_from(config) -> Storage:
    """The storage a configuration names: CRM_STORAGE_URL s3://bucket/prefix, else the folder
    ARCHIVE_ROOT."""
    url = config.get("STORAGE_URL") or ""
    if not url or url.startswith("file:"):
        root = url[len("file://") :] if url.startswith("file://") else config["ARCHIVE_ROOT"]
        return LocalStorage(root)
    if url.startswith("s3://"):
        bucket, _, prefix = url[len("s3://") :].partition("/")
        if not bucket:
            raise StorageError(f"CRM_STORAGE_URL {url!r} names no bucket")
        return S3Storage(
            bucket,
            prefix,
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            access_key_id=config.get("S3_ACCESS_KEY_ID"),
            secret_access_key=config.get("S3_SECRET_ACCESS_KEY"),
            region=config.get("S3_REGION"),
            addressing_style=config.get("S3_ADDRESSING_STYLE"),
        )
    raise StorageError(f"CRM_STORAGE_URL {url!r}: use s3://bucket/prefix or leave it unset")


_SETTINGS = (
    "STORAGE_URL",
    "ARCHIVE_ROOT",
    "S3_ENDPOINT_URL",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "S3_REGION",
    "S3_ADDRESSING_STYLE",
)


def get_storage() -> Storage:
    """The application's storage, made once per configuration (a boto3 client is reused)."""
    config = current_app.config
    made = current_app.extensions.setdefault("crm_storage", {})
    key = tuple(config.get(name) for name in _SETTINGS)
    if key not in made:
        made.clear()
        made[key] = storage_from(config)
    return made[key]


def copy_into(storage: Storage, key: str, source: Path) -> tuple[str, int]:
    with Path(source).open("rb") as fh:
        return storage.put(key, fh)


def copy_out(storage: Storage, key: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    body = storage.open(key)
    try:
        with target.open("wb") as fh:
            shutil.copyfileobj(body, fh, CHUNK)
    finally:
        body.close()
