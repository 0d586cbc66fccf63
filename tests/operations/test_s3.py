"""operations/stack/s3.py: the local S3 server (versitygw) starts, speaks S3 (SigV4, presigned URLs,
the pyarrow filesystem) and stops; and retention/objects.py translates its errors."""

from __future__ import annotations

import httpx
import pytest

from operations.stack.s3 import LocalS3
from retention.errors import ObjectStoreError
from retention.objects import ObjectStore
from retention.settings import S3Settings
from tests.services import free_port

pytestmark = pytest.mark.integration


def test_the_local_s3_server_serves_the_s3_api_and_stops(tmp_path, stack_settings):
    server = LocalS3(tmp_path, free_port())
    if not server.installed():
        server.bin_dir = LocalS3(stack_settings.state_dir.expanduser().resolve() / "s3").bin_dir
    assert server.installed(), "run `gamemetrics stack install` (builds versitygw)"
    assert server.start() and not server.start()  # a second start is a no-op
    try:
        server.wait_ready()
        store = ObjectStore(S3Settings(endpoint_url=server.endpoint_url, bucket="bucket-one"))
        assert store.ensure_bucket() and not store.ensure_bucket()
        (tmp_path / "x").write_bytes(b"payload" * 1000)
        store.put_file("a/b/x", tmp_path / "x")
        assert list(store.keys("a/")) == ["a/b/x"] and store.size("a/b/x") == 7000 and store.size("nope") is None
        assert httpx.get(store.presigned_url("a/b/x", 60)).content == b"payload" * 1000
        assert httpx.get(f"{server.endpoint_url}/bucket-one/a/b/x").status_code == 403  # unsigned: refused
        with pytest.raises(ObjectStoreError, match="wrong-secret|SignatureDoesNotMatch|InvalidAccessKeyId|bucket bucket-one"):
            ObjectStore(S3Settings(endpoint_url=server.endpoint_url, bucket="bucket-one",
                                   secret_access_key="wrong-secret")).get_bytes("a/b/x")
    finally:
        assert server.stop()
    assert server.running_pid() is None
