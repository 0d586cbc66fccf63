"""processors/notifications/channels.py against a real SMTP server and a real HTTP server on 127.0.0.1.

What each receiver gets, and how each failure is classified (retryable or permanent).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from datetime import datetime, timezone

import httpx
import pytest
from pydantic import SecretStr

from processors.notifications.channels import EmailChannel, ProviderChannel, WebhookChannel, build_channels
from processors.notifications.errors import PermanentDeliveryError, RetryableDeliveryError
from processors.notifications.model import RECIPIENT, Notification
from processors.notifications.settings import NotificationSettings
from tests.services import free_port

SENDER = "GameMetrics <notify@studio.example>"
SECRET = "whsec_channels"
TIMEOUT_S = 2.0


def notification(channel: str, recipient: str, template: str = "Receipt for $item_id\nYou paid $amount USD.",
                 **payload: str) -> Notification:
    return Notification(
        notification_id=uuid.uuid4(), game_id="g1", player_id="p-1", channel=channel, rule_id="r1",
        template=template, payload={"item_id": "gem_pack", "amount": "4.99", **payload, RECIPIENT: recipient},
        source_event_id=str(uuid.uuid4()), created_at=datetime(2026, 11, 22, 10, tzinfo=timezone.utc),
    )


def send(channel, n: Notification) -> None:
    asyncio.run(channel.send(n))


def send_http(make_channel, n: Notification) -> None:
    async def run() -> None:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            await make_channel(client).send(n)

    asyncio.run(run())


def webhook(client: httpx.AsyncClient) -> WebhookChannel:
    return WebhookChannel(client, SecretStr(SECRET))


def email(port: int) -> EmailChannel:
    return EmailChannel("127.0.0.1", port, SENDER, TIMEOUT_S)


class TestEmail:
    def test_the_smtp_server_receives_subject_body_and_the_notification_id(self, smtp_server):
        n = notification("email", "ana@players.example")
        send(email(smtp_server.port), n)
        [message] = smtp_server.recorder.to("ana@players.example")
        assert message["From"] == SENDER and message["X-Envelope-To"] == "ana@players.example"
        assert message["Subject"] == "Receipt for gem_pack"
        assert message.get_content().strip() == "You paid 4.99 USD."
        assert message["Message-ID"] == f"<{n.notification_id}@gamemetrics>"
        assert message["X-GameMetrics-Notification-Id"] == str(n.notification_id)

    def test_smtp_5xx_is_permanent_and_4xx_retryable(self, smtp_server):
        smtp_server.recorder.refusals = {"gone@players.example": "550 5.1.1 no such user",
                                         "full@players.example": "452 4.2.2 mailbox full"}
        with pytest.raises(PermanentDeliveryError, match="550"):
            send(email(smtp_server.port), notification("email", "gone@players.example"))
        with pytest.raises(RetryableDeliveryError, match="452"):
            send(email(smtp_server.port), notification("email", "full@players.example"))
        assert smtp_server.recorder.messages == []

    def test_a_refused_connection_is_retryable(self):
        with pytest.raises(RetryableDeliveryError, match="ConnectionRefusedError"):
            send(email(free_port()), notification("email", "ana@players.example"))

    def test_a_recipient_that_is_no_address_is_permanent_and_not_sent(self, smtp_server):
        with pytest.raises(PermanentDeliveryError, match="not an email address"):
            send(email(smtp_server.port), notification("email", "player:p-1"))
        with pytest.raises(PermanentDeliveryError, match="header"):
            send(email(smtp_server.port), notification("email", "a@b.example\nBcc: all@b.example"))
        assert smtp_server.recorder.messages == []


class TestWebhook:
    def test_the_receiver_gets_json_it_can_verify_with_the_shared_secret(self, http_receiver):
        n = notification("webhook", f"{http_receiver.url}/hooks/crm")
        send_http(lambda c: WebhookChannel(c, SecretStr(SECRET), clock=lambda: 1_800_000_000.5), n)
        [request] = http_receiver.at("/hooks/crm")
        document = request.json()
        assert document["notification_id"] == str(n.notification_id)
        assert (document["title"], document["body"]) == ("Receipt for gem_pack", "You paid 4.99 USD.")
        assert document["payload"]["item_id"] == "gem_pack" and document["source_event_id"] == n.source_event_id
        assert request.headers["Idempotency-Key"] == str(n.notification_id)
        timestamp, v1 = (part.split("=", 1)[1] for part in request.headers["X-GameMetrics-Signature"].split(","))
        assert timestamp == "1800000000"
        assert v1 == hmac.new(SECRET.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()

    @pytest.mark.parametrize(("status", "error"), [
        (500, RetryableDeliveryError), (503, RetryableDeliveryError), (429, RetryableDeliveryError),
        (400, PermanentDeliveryError), (404, PermanentDeliveryError), (410, PermanentDeliveryError),
    ])
    def test_statuses_are_classified(self, http_receiver, status, error):
        http_receiver.statuses["/hooks/x"] = status
        with pytest.raises(error, match=str(status)):
            send_http(webhook, notification("webhook", f"{http_receiver.url}/hooks/x"))

    def test_retry_after_of_a_429_is_passed_on(self, http_receiver):
        http_receiver.statuses["/hooks/busy"] = 429
        http_receiver.headers["/hooks/busy"] = {"Retry-After": "7"}
        with pytest.raises(RetryableDeliveryError) as caught:
            send_http(webhook, notification("webhook", f"{http_receiver.url}/hooks/busy"))
        assert caught.value.retry_after_s == 7

    def test_timeouts_and_refused_connections_are_retryable(self, http_receiver):
        http_receiver.delays_s["/hooks/slow"] = 1.0

        async def run(url: str) -> None:
            async with httpx.AsyncClient(timeout=0.2) as client:
                await WebhookChannel(client, SecretStr(SECRET)).send(notification("webhook", url))

        with pytest.raises(RetryableDeliveryError, match="did not answer in time"):
            asyncio.run(run(f"{http_receiver.url}/hooks/slow"))
        with pytest.raises(RetryableDeliveryError, match="cannot reach"):
            asyncio.run(run(f"http://127.0.0.1:{free_port()}/hooks"))

    def test_a_target_that_is_no_url_is_permanent(self):
        with pytest.raises(PermanentDeliveryError, match="not an http"):
            send_http(webhook, notification("webhook", "crm-team"))


class TestProviders:
    def test_push_posts_title_body_and_data_to_the_provider(self, http_receiver):
        n = notification("push", "player:p-1", template="Achievement!\nYou earned $achievement_id.",
                         achievement_id="first_blood")
        send_http(lambda c: ProviderChannel("push", c, f"{http_receiver.url}/push", SecretStr("tok")), n)
        [request] = http_receiver.at("/push")
        assert request.json()["to"] == "player:p-1"
        assert (request.json()["title"], request.json()["body"]) == ("Achievement!", "You earned first_blood.")
        assert request.json()["idempotency_key"] == str(n.notification_id)
        assert request.headers["Authorization"] == "Bearer tok"

    def test_sms_posts_the_whole_text(self, http_receiver):
        n = notification("sms", "+33600000001", template="Thanks for $item_id\nSee you soon")
        send_http(lambda c: ProviderChannel("sms", c, f"{http_receiver.url}/sms", SecretStr("")), n)
        [request] = http_receiver.at("/sms")
        assert request.json() == {"to": "+33600000001", "text": "Thanks for gem_pack\nSee you soon",
                                  "idempotency_key": str(n.notification_id)}
        assert "Authorization" not in request.headers

    def test_a_channel_left_unconfigured_fails_permanently_naming_its_setting(self):
        async def run(channel: str) -> None:
            async with httpx.AsyncClient() as client:
                await build_channels(NotificationSettings(), client)[channel].send(notification(channel, "x"))

        for channel, setting in (("push", "GAMEMETRICS_NOTIFY_PUSH_PROVIDER_URL"),
                                 ("sms", "GAMEMETRICS_NOTIFY_SMS_PROVIDER_URL"),
                                 ("webhook", "GAMEMETRICS_NOTIFY_WEBHOOK_SECRET")):
            with pytest.raises(PermanentDeliveryError, match=setting):
                asyncio.run(run(channel))
