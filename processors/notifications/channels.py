"""Step 4 of notifications, channels: send one rendered notification to an SMTP server or an HTTP endpoint.

Every channel implements :class:`Channel` and raises only ``RetryableDeliveryError`` (5xx, 429,
408, timeouts, refused or dropped connections, SMTP 4xx) or ``PermanentDeliveryError`` (other
4xx, 3xx, SMTP 5xx, a malformed recipient, a channel left unconfigured); third-party errors are
translated here. Each passes the notification id on so the receiver can drop a re-sent copy:
``Idempotency-Key`` over HTTP, ``Message-ID`` in email.

- email:   SMTP (stdlib smtplib, in a thread), to the rendered target address;
- webhook: JSON POST to the rendered target URL, signed (``signing``);
- push, sms: JSON POST to the configured provider, addressed to the rendered target.
"""

from __future__ import annotations

import asyncio
import json
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from processors.notifications.errors import PermanentDeliveryError, RetryableDeliveryError
from processors.notifications.model import Notification
from processors.notifications.settings import NotificationSettings
from processors.notifications.signing import SIGNATURE_HEADER, signature_header
from processors.notifications.templates import render

USER_AGENT = "GameMetrics-Notifications/1"
IDEMPOTENCY_HEADER = "Idempotency-Key"
NOTIFICATION_ID_HEADER = "X-GameMetrics-Notification-Id"
RETRYABLE_STATUSES = frozenset({408, 429})
ERROR_BODY_CHARS = 200


class Channel(Protocol):
    name: str

    async def send(self, notification: Notification) -> None:
        """Deliver, or raise RetryableDeliveryError / PermanentDeliveryError."""


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def _retry_after_s(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


async def post_json(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], what: str) -> None:
    """POST ``body``; translate the answer or the transport failure into delivery errors."""
    try:
        response = await client.post(url, content=body, headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise PermanentDeliveryError(f"{what}: {url!r} is not a URL we can post to: {exc}") from exc
    except httpx.TimeoutException as exc:
        raise RetryableDeliveryError(f"{what}: {url} did not answer in time ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise RetryableDeliveryError(f"{what}: cannot reach {url}: {type(exc).__name__}: {exc}") from exc
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = f"{what}: {url} answered {status}: {response.text[:ERROR_BODY_CHARS]!r}"
    if status >= 500 or status in RETRYABLE_STATUSES:
        raise RetryableDeliveryError(detail, retry_after_s=_retry_after_s(response))
    raise PermanentDeliveryError(detail)


def _bearer(token: SecretStr) -> dict[str, str]:
    secret = token.get_secret_value()
    return {"Authorization": f"Bearer {secret}"} if secret else {}


def _ids(notification: Notification) -> dict[str, str]:
    return {IDEMPOTENCY_HEADER: str(notification.notification_id),
            NOTIFICATION_ID_HEADER: str(notification.notification_id)}


class EmailChannel:
    """SMTP, one connection per message, in a worker thread (smtplib blocks)."""

    name = "email"

    def __init__(self, host: str, port: int, sender: str, timeout_s: float, starttls: bool = False,
                 username: str = "", password: SecretStr = SecretStr("")) -> None:
        self._host, self._port, self._sender, self._timeout_s = host, port, sender, timeout_s
        self._starttls, self._username, self._password = starttls, username, password

    def message(self, notification: Notification) -> EmailMessage:
        """The email for ``notification``; PermanentDeliveryError when the recipient is not an address."""
        recipient = notification.recipient
        if "\r" in recipient or "\n" in recipient:  # before parseaddr, whose reading of them varies by Python patch release
            raise PermanentDeliveryError(
                f"email: cannot build a header for {recipient!r} of rule {notification.rule_id}: it holds a line break")
        if "@" not in parseaddr(recipient)[1]:
            raise PermanentDeliveryError(
                f"email: recipient {recipient!r} of rule {notification.rule_id} is not an email address")
        rendered = render(notification.template, notification.payload)
        message = EmailMessage()
        try:
            message["From"] = self._sender
            message["To"] = recipient
            message["Subject"] = rendered.title
            message["Message-ID"] = f"<{notification.notification_id}@gamemetrics>"
            message[NOTIFICATION_ID_HEADER] = str(notification.notification_id)
        except ValueError as exc:  # a line break in a header value
            raise PermanentDeliveryError(f"email: cannot build a header for {recipient!r}: {exc}") from exc
        message.set_content(rendered.body)
        return message

    def _send_blocking(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self._host, self._port, timeout=self._timeout_s) as smtp:
            if self._starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self._username:
                smtp.login(self._username, self._password.get_secret_value())
            smtp.send_message(message)

    async def send(self, notification: Notification) -> None:
        message = self.message(notification)
        where = f"email: SMTP {self._host}:{self._port}"
        try:
            await asyncio.to_thread(self._send_blocking, message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            error = RetryableDeliveryError if any(400 <= c < 500 for c in codes) else PermanentDeliveryError
            raise error(f"{where} refused {notification.recipient!r}: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            error = PermanentDeliveryError if 500 <= exc.smtp_code < 600 else RetryableDeliveryError
            raise error(f"{where} answered {exc.smtp_code} {exc.smtp_error!r}") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentDeliveryError(f"{where} does not support what we asked: {exc}") from exc
        except (smtplib.SMTPException, OSError) as exc:  # disconnected, refused, timed out, TLS
            raise RetryableDeliveryError(f"{where}: {type(exc).__name__}: {exc}") from exc


class WebhookChannel:
    """A signed JSON POST to the rule's URL (the rendered target)."""

    name = "webhook"

    def __init__(self, client: httpx.AsyncClient, secret: SecretStr, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._secret = secret
        self._clock = clock

    @staticmethod
    def body(notification: Notification) -> bytes:
        rendered = render(notification.template, notification.payload)
        return _json({
            "notification_id": str(notification.notification_id), "game_id": notification.game_id,
            "player_id": notification.player_id, "rule_id": notification.rule_id, "channel": notification.channel,
            "source_event_id": notification.source_event_id, "created_at": notification.created_at.isoformat(),
            "title": rendered.title, "body": rendered.body, "payload": dict(notification.payload),
        })

    async def send(self, notification: Notification) -> None:
        url = notification.recipient
        if urlsplit(url).scheme not in ("http", "https"):
            raise PermanentDeliveryError(
                f"webhook: target {url!r} of rule {notification.rule_id} is not an http(s) URL")
        body = self.body(notification)
        signed = signature_header(self._secret.get_secret_value(), body, int(self._clock()))
        await post_json(self._client, url, body, {SIGNATURE_HEADER: signed, **_ids(notification)}, "webhook")


class ProviderChannel:
    """A JSON POST to a push or SMS provider, addressed to the rendered target."""

    def __init__(self, name: str, client: httpx.AsyncClient, url: str, token: SecretStr) -> None:
        self.name = name
        self._client = client
        self._url = url
        self._token = token

    def body(self, notification: Notification) -> bytes:
        rendered = render(notification.template, notification.payload)
        document: dict[str, Any] = {"to": notification.recipient, "idempotency_key": str(notification.notification_id)}
        if self.name == "sms":
            document["text"] = rendered.text
        else:
            document.update(title=rendered.title, body=rendered.body, data=dict(notification.payload))
        return _json(document)

    async def send(self, notification: Notification) -> None:
        if not notification.recipient.strip():
            raise PermanentDeliveryError(f"{self.name}: rule {notification.rule_id} gave an empty recipient")
        headers = {**_bearer(self._token), **_ids(notification)}
        await post_json(self._client, self._url, self.body(notification), headers, f"{self.name} provider")


class UnconfiguredChannel:
    """Stands for a channel whose settings are missing: every notification fails, saying which one to set."""

    def __init__(self, name: str, setting: str) -> None:
        self.name = name
        self._setting = setting

    async def send(self, notification: Notification) -> None:
        raise PermanentDeliveryError(
            f"{self.name}: not configured; set {self._setting} and replay this dead letter "
            f"(notification {notification.notification_id}, rule {notification.rule_id})")


def build_channels(settings: NotificationSettings, client: httpx.AsyncClient) -> dict[str, Channel]:
    """Every channel by name, from the settings; HTTP channels share ``client``."""
    channels: dict[str, Channel] = {
        "email": EmailChannel(settings.smtp_host, settings.smtp_port, settings.smtp_from, settings.send_timeout_s,
                              settings.smtp_starttls, settings.smtp_username, settings.smtp_password),
        "webhook": (WebhookChannel(client, settings.webhook_secret) if settings.webhook_secret.get_secret_value()
                    else UnconfiguredChannel("webhook", "GAMEMETRICS_NOTIFY_WEBHOOK_SECRET")),
    }
    for name, url, token in (("push", settings.push_provider_url, settings.push_provider_token),
                             ("sms", settings.sms_provider_url, settings.sms_provider_token)):
        channels[name] = (ProviderChannel(name, client, url, token) if url
                          else UnconfiguredChannel(name, f"GAMEMETRICS_NOTIFY_{name.upper()}_PROVIDER_URL"))
    return channels
