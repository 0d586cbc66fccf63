"""Fixtures of the notification tests: real local SMTP and HTTP receivers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.processors.notifications.receivers import HttpReceiver, SmtpServer


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver
