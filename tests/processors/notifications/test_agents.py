"""End to end on the real stack: processed batches on Kafka -> the notification process
(``gamemetrics notifications worker``, processors/notifications/worker.py) -> a real SMTP server and a
real HTTP receiver; failures to system.dlq; duplicates delivered once.

One worker process serves the module (its Faust start-up is the slow part); each test uses its own
game, whose rules were added before the worker started, so tests do not see each other's messages.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer

from gamemetrics.envvars import settings_env
from gamemetrics.settings import Settings
from store import db
from store.games import create_game
from processors.notifications.model import notification_id
from processors.notifications.rules import Rule
from processors.notifications.rules_store import add_rule
from schemas.catalog import load_catalog
from schemas.ids import schema_ids
from schemas.wire import AvroDeserializer, AvroSerializer
from streams.app import APP_ID, NOTIFICATIONS_APP_ID
from streams.topics import DLQ, GAME_ID_HEADER, NOTIFICATIONS, PROCESSED_EVENTS
from tests.processors.notifications.events import processed_batch, processed_event, purchase
from tests.processors.notifications.receivers import HttpReceiver, SmtpServer
from tests.helpers import group_topics
from tests.services import wait_for

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
SECRET = "whsec_end_to_end"
MAX_ATTEMPTS = 3
DEADLINE_S = 90.0  # includes the worker's start-up and consumer group join
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Running:
    settings: Settings
    smtp: SmtpServer
    http: HttpReceiver
    games: dict[str, str]
    log: Path

    def publish(self, batch: dict, game_header: str | None = None) -> None:
        topic = self.settings.topic(PROCESSED_EVENTS.name)
        serializer = AvroSerializer(schema_ids(""), topic, load_catalog().latest("ProcessedEventBatch"))
        headers = [(GAME_ID_HEADER, game_header.encode())] if game_header is not None else None
        self.produce(topic, batch["player_id"].encode(), serializer.encode(batch), headers)

    def produce(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]] | None = None) -> None:
        producer = Producer({"bootstrap.servers": self.settings.kafka_bootstrap_servers, "acks": "all"})
        producer.produce(topic, key=key, value=value, headers=headers)
        assert producer.flush(10) == 0

    def wait_for(self, check, what: str):
        try:
            return wait_for(check, timeout_s=DEADLINE_S, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; worker log:\n{self.log.read_text()[-4000:]}") from None


def delivery_row(settings: Settings, nid: uuid.UUID):
    with db.connect(settings) as conn:
        return conn.execute("SELECT status, attempts, last_error FROM notification_deliveries "
                            "WHERE notification_id = %s", (nid,)).fetchone()


def start_worker(settings: Settings, extra_env: dict[str, str], log: Path) -> subprocess.Popen:
    env = {**os.environ, **settings_env(settings), **extra_env}
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "operations", "notifications", "worker"], cwd=REPO,
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def running(isolated_module: Settings, tmp_path_factory) -> Iterator[Running]:
    state = tmp_path_factory.mktemp("notify-worker")
    settings = isolated_module.model_copy(update={"state_dir": state, "log_level": "info"})
    with SmtpServer() as smtp, HttpReceiver() as http:
        http.statuses["/hooks/down"] = 500
        with db.connect(settings) as conn:
            games = {name: create_game(conn, f"{name} {uuid.uuid4().hex[:6]}").game_id
                     for name in ("receipts", "spend", "achievements", "failing", "replay")}
            for rule in (
                Rule("receipt", "purchase", "email", "Your receipt for ${item_id}\nYou paid ${amount} ${currency}.",
                     "${player_id}@players.example", game_id=games["receipts"]),
                Rule("whale", "purchase", "webhook", "${player_id} spent over ${threshold_usd} USD",
                     f"{http.url}/hooks/spend", game_id=games["spend"], lifetime_spend_threshold_usd=100.0),
                Rule("cheer", "achievement", "push", "Achievement unlocked!\nYou earned ${achievement_id}.",
                     "player:${player_id}", game_id=games["achievements"]),
                Rule("crm-down", "purchase", "webhook", "bought ${item_id}", f"{http.url}/hooks/down",
                     game_id=games["failing"]),
                Rule("crm", "purchase", "webhook", "bought ${item_id}", f"{http.url}/hooks/replay",
                     game_id=games["replay"]),
            ):
                add_rule(conn, rule)
        log = state / "worker.log"
        proc = start_worker(settings, {
            "GAMEMETRICS_NOTIFY_SMTP_HOST": "127.0.0.1", "GAMEMETRICS_NOTIFY_SMTP_PORT": str(smtp.port),
            "GAMEMETRICS_NOTIFY_SMTP_FROM": "Studio <noreply@studio.example>",
            "GAMEMETRICS_NOTIFY_WEBHOOK_SECRET": SECRET,
            "GAMEMETRICS_NOTIFY_PUSH_PROVIDER_URL": f"{http.url}/push",
            "GAMEMETRICS_NOTIFY_SMS_PROVIDER_URL": f"{http.url}/sms",
            "GAMEMETRICS_NOTIFY_RETRY_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            "GAMEMETRICS_NOTIFY_RETRY_FIRST_DELAY_S": "0.05", "GAMEMETRICS_NOTIFY_RETRY_MAX_DELAY_S": "0.2",
            "GAMEMETRICS_NOTIFY_SEND_TIMEOUT_S": "2", "GAMEMETRICS_WORKER_METRICS_PORT": "0",
        }, log)
        try:
            yield Running(settings, smtp, http, games, log)
        finally:
            stop_worker(proc)


def test_the_notification_process_consumes_in_its_own_group_not_the_landing_workers(running):
    settings = running.settings
    topics = running.wait_for(lambda: group_topics(settings, NOTIFICATIONS_APP_ID), "the process's assignment")
    assert topics == {settings.topic(PROCESSED_EVENTS.name), settings.topic(NOTIFICATIONS.name)}
    assert group_topics(settings, APP_ID) is None  # it runs no landing agent


def test_a_purchase_reaches_the_smtp_server_as_a_receipt_email(running):
    event = purchase("ana", 4.99, 4.99, item_id="starter_pack")
    running.publish(processed_batch(running.games["receipts"], "ana", [event]))
    [message] = running.wait_for(lambda: running.smtp.recorder.to("ana@players.example"), "the receipt email")
    assert message["From"] == "Studio <noreply@studio.example>"
    assert message["Subject"] == "Your receipt for starter_pack"
    assert message.get_content().strip() == "You paid 4.99 USD."
    nid = notification_id("receipt", event["event"]["event_id"])
    assert message["X-GameMetrics-Notification-Id"] == str(nid)
    running.wait_for(lambda: delivery_row(running.settings, nid) == ("delivered", 1, None),
                     "the delivery to be recorded")


def test_a_batch_whose_game_header_names_a_game_without_rules_is_skipped_undecoded(running):
    # The header is the producer's promise of the batch's game: the agent trusts it and skips.
    skipped = purchase("eve", 4.99, 4.99, item_id="skipped")
    running.publish(processed_batch(running.games["receipts"], "eve", [skipped]), game_header="no-such-game")
    kept = purchase("eve", 1.99, 1.99, item_id="kept")
    running.publish(processed_batch(running.games["receipts"], "eve", [kept]), game_header=running.games["receipts"])
    # same key, same partition: once the second batch's email arrived, the first was handled (skipped)
    [message] = running.wait_for(lambda: running.smtp.recorder.to("eve@players.example"), "the receipt email")
    assert message["Subject"] == "Your receipt for kept"
    assert delivery_row(running.settings, notification_id("receipt", skipped["event"]["event_id"])) is None


def test_crossing_the_lifetime_threshold_reaches_the_webhook_once_with_a_valid_signature(running):
    events = [purchase("ben", 60.0, 60.0), purchase("ben", 50.0, 110.0), purchase("ben", 20.0, 130.0)]
    running.publish(processed_batch(running.games["spend"], "ben", events))
    [request] = running.wait_for(lambda: running.http.at("/hooks/spend"), "the spend webhook")
    document = request.json()
    assert document["player_id"] == "ben" and document["title"] == "ben spent over 100.00 USD"
    assert document["source_event_id"] == events[1]["event"]["event_id"]
    parts = dict(part.split("=", 1) for part in request.headers["X-GameMetrics-Signature"].split(","))
    expected = hmac.new(SECRET.encode(), parts["t"].encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    # the events before and after the crossing made nothing: still one request once the delivery is recorded
    running.wait_for(lambda: delivery_row(running.settings, uuid.UUID(document["notification_id"])), "the record")
    assert len(running.http.at("/hooks/spend")) == 1


def test_an_achievement_reaches_the_push_provider(running):
    event = processed_event("achievement", "cleo", {"achievement_id": "dragon_slayer"})
    running.publish(processed_batch(running.games["achievements"], "cleo", [event]))
    [request] = running.wait_for(lambda: running.http.at("/push"), "the push request")
    assert request.json()["to"] == "player:cleo"
    assert request.json()["title"] == "Achievement unlocked!"
    assert request.json()["body"] == "You earned dragon_slayer."
    assert request.json()["idempotency_key"] == str(notification_id("cheer", event["event"]["event_id"]))


def dead_letter_where(settings: Settings, matches, what: str):
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": f"dlq-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([settings.topic(DLQ.name)])
    reader = AvroDeserializer(schema_ids(""), load_catalog().latest("DeadLetter"))

    def poll():
        message = consumer.poll(1.0)
        if message is None or message.error():
            return None
        record = reader.decode(message.value())
        return record if matches(record) else None

    try:
        return wait_for(poll, timeout_s=DEADLINE_S, what=what)
    finally:
        consumer.close()


def test_a_receiver_answering_500_ends_in_the_dlq_after_the_configured_attempts(running):
    event = purchase("dan", 9.99, 9.99, item_id="sword")
    running.publish(processed_batch(running.games["failing"], "dan", [event]))
    event_id = event["event"]["event_id"]
    record = dead_letter_where(running.settings, lambda r: r["event_id"] == event_id, f"a dead letter for {event_id}")
    nid = notification_id("crm-down", event["event"]["event_id"])
    assert record["error_type"] == "delivery_failed" and record["processor"] == "notifications.delivery"
    assert f"after {MAX_ATTEMPTS} attempt(s), retries_exhausted" in record["detail"] and "500" in record["detail"]
    original = AvroDeserializer(schema_ids(""), load_catalog().latest("Notification")).decode(record["original"])
    assert str(original["notification_id"]) == str(nid) and original["payload"]["item_id"] == "sword"
    assert record["source_topic"] == running.settings.topic("notifications") and record["source_key"] == b"dan"
    tries = [r for r in running.http.at("/hooks/down") if r.json()["notification_id"] == str(nid)]
    assert len(tries) == MAX_ATTEMPTS
    running.wait_for(lambda: delivery_row(running.settings, nid), "the failure to be recorded")
    status, attempts, last_error = delivery_row(running.settings, nid)
    assert (status, attempts) == ("failed", MAX_ATTEMPTS) and "answered 500" in last_error
    # the receiver is fixed: replaying the dead letter (as `gamemetrics dlq replay` does) delivers it
    running.http.statuses["/hooks/down"] = 200
    running.produce(record["source_topic"], record["source_key"], record["original"])
    running.wait_for(lambda: delivery_row(running.settings, nid)[0] == "delivered", "the replayed delivery")
    assert delivery_row(running.settings, nid)[1] == MAX_ATTEMPTS + 1


def test_the_same_processed_batch_published_twice_delivers_once(running):
    game = running.games["replay"]
    batch = processed_batch(game, "eve", [purchase("eve", 1.99, 1.99, item_id="potion")])
    running.publish(batch)
    running.publish(batch)
    # a later purchase of the same player travels behind both copies (same key, same partitions):
    # once it is delivered, the second copy has been handled
    later = purchase("eve", 2.99, 4.98, item_id="elixir")
    running.publish(processed_batch(game, "eve", [later]))
    running.wait_for(lambda: any(r.json()["payload"]["item_id"] == "elixir" for r in running.http.at("/hooks/replay")),
                     "the later purchase's webhook")
    items = [r.json()["payload"]["item_id"] for r in running.http.at("/hooks/replay")]
    assert items == ["potion", "elixir"]
    nid = notification_id("crm", batch["events"][0]["event"]["event_id"])
    assert delivery_row(running.settings, nid) == ("delivered", 1, None)


def test_undecodable_messages_go_to_the_dlq_and_do_not_block_their_partition(running):
    garbage = b"\x00\x00\x00\x00\x07not a processed batch"
    running.produce(running.settings.topic(PROCESSED_EVENTS.name), b"fay", garbage)
    running.produce(running.settings.topic(NOTIFICATIONS.name), b"fay", garbage + b" nor a notification")
    for processor, original in (("notifications.rules", garbage),
                                ("notifications.delivery", garbage + b" nor a notification")):
        record = dead_letter_where(running.settings, lambda r: r["original"] == original, f"{processor}'s dead letter")
        assert record["error_type"] == "undecodable" and record["processor"] == processor
        assert record["source_key"] == b"fay" and "does not decode" in record["detail"]
    # fay's next purchase, behind the garbage in the same partitions, is still delivered
    running.publish(processed_batch(running.games["receipts"], "fay", [purchase("fay", 0.99, 0.99)]))
    running.wait_for(lambda: running.smtp.recorder.to("fay@players.example"), "fay's receipt")
