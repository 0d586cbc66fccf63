"""A real S3 server (versitygw, the one `gamemetrics stack up` runs) started by the test session on
a free port under a temporary directory, and a bucket per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from operations.stack.s3 import LocalS3
from retention.objects import ObjectStore
from retention.settings import GdprSettings, RetentionSettings, S3Settings
from tests.services import free_port


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory, stack_settings) -> Iterator[LocalS3]:
    own = LocalS3(Path(tmp_path_factory.mktemp("s3")), free_port())
    installed = LocalS3(stack_settings.state_dir.expanduser().resolve() / "s3")
    if not own.installed():
        own.bin_dir = installed.bin_dir  # the binary `gamemetrics stack install` built
    if not own.installed():
        pytest.fail("versitygw is not installed: run `gamemetrics stack install`")
    own.start()
    try:
        own.wait_ready()
        yield own
    finally:
        own.stop()


@pytest.fixture
def s3(s3_server: LocalS3) -> S3Settings:
    settings = S3Settings(endpoint_url=s3_server.endpoint_url, bucket=f"t-{uuid.uuid4().hex[:12]}")
    ObjectStore(settings).ensure_bucket()
    return settings


@pytest.fixture
def retention_settings() -> RetentionSettings:
    return RetentionSettings(row_group_rows=1000)


@pytest.fixture
def gdpr_settings() -> GdprSettings:
    return GdprSettings(receipt_key="test-receipt-key")
