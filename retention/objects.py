"""The object store (S3 API, boto3): archives under ``events/``, export bundles under ``exports/``.

One small interface (put a file, read, list, delete, presign) so the rest of retention never sees
botocore; every botocore error becomes an ``ObjectStoreError`` saying which object and what to do.
``arrow_filesystem`` gives pyarrow (and through it DuckDB) the same bucket, to read Parquet in place.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from gamemetrics.redact import redact, redact_url
from retention.errors import ObjectStoreError
from retention.settings import S3Settings

_CONFIG = Config(
    retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=60,
    s3={"addressing_style": "path"}, signature_version="s3v4",
    request_checksum_calculation="when_required", response_checksum_validation="when_required",
)


class ObjectStore:
    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self.bucket = settings.bucket
        self._s3 = boto3.client(
            "s3",
            endpoint_url=settings.endpoint_url or None,
            aws_access_key_id=settings.access_key_id,
            aws_secret_access_key=settings.secret_access_key.get_secret_value(),
            region_name=settings.region,
            config=_CONFIG,
        )

    def _fail(self, what: str, exc: Exception) -> ObjectStoreError:
        where = redact_url(self.settings.endpoint_url) if self.settings.endpoint_url else "AWS"
        why = redact(str(exc), [self.settings.secret_access_key.get_secret_value()])
        return ObjectStoreError(
            f"object store {where} bucket {self.bucket}: {what} failed: {why}"
            " (is the S3 server up? `gamemetrics stack status`; check GAMEMETRICS_S3_*)"
        )

    def ensure_bucket(self) -> bool:
        """Create the bucket when missing (and allowed); True when created."""
        try:
            self._s3.head_bucket(Bucket=self.bucket)
            return False
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise self._fail("head_bucket", exc) from exc
        except BotoCoreError as exc:
            raise self._fail("head_bucket", exc) from exc
        if not self.settings.create_bucket:
            raise ObjectStoreError(f"bucket {self.bucket} does not exist and GAMEMETRICS_S3_CREATE_BUCKET is off")
        try:
            self._s3.create_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("create_bucket", exc) from exc
        return True

    def reachable(self) -> bool:
        try:
            self._s3.list_buckets()
            return True
        except (ClientError, BotoCoreError):
            return False

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> None:
        try:
            self._s3.upload_file(str(path), self.bucket, key, ExtraArgs={"ContentType": content_type})
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(f"upload of {key}", exc) from exc

    def get_file(self, key: str, path: Path) -> None:
        try:
            self._s3.download_file(self.bucket, key, str(path))
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(f"download of {key}", exc) from exc

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(f"read of {key}", exc) from exc

    def size(self, key: str) -> int | None:
        """The object's size, None when it does not exist."""
        try:
            return int(self._s3.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._fail(f"head of {key}", exc) from exc
        except BotoCoreError as exc:
            raise self._fail(f"head of {key}", exc) from exc

    def keys(self, prefix: str) -> Iterator[str]:
        try:
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield item["Key"]
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(f"listing {prefix}", exc) from exc

    def delete(self, key: str) -> None:
        try:
            self._s3.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(f"delete of {key}", exc) from exc

    def presigned_url(self, key: str, ttl_s: int) -> str:
        try:
            return self._s3.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=ttl_s
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(f"presigning {key}", exc) from exc

    def arrow_filesystem(self) -> Any:
        """A pyarrow S3 filesystem on the same endpoint and credentials (paths are "bucket/key")."""
        from urllib.parse import urlsplit

        from pyarrow import fs

        s = self.settings
        options: dict[str, Any] = {
            "access_key": s.access_key_id, "secret_key": s.secret_access_key.get_secret_value(), "region": s.region,
        }
        if s.endpoint_url:
            url = urlsplit(s.endpoint_url)
            options.update(endpoint_override=url.netloc, scheme=url.scheme or "https", force_virtual_addressing=False)
        return fs.S3FileSystem(**options)
