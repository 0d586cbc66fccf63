"""Produce to Kafka and wait for the acknowledgements (acks=all, idempotent producer).

confluent-kafka delivers acknowledgements through callbacks served by ``poll()``; one thread
polls, and each callback resolves the asyncio future of its message on the event loop.

While librdkafka reports every broker down, requests fail at once (503) instead of each waiting
out the delivery timeout; the poll thread probes the cluster and clears the state when it answers.

A *fatal* error (librdkafka's idempotence guarantees can no longer be kept, e.g. a sequence gap the
broker refuses after a restart) leaves the client unusable for good: every produce() fails from
then on. The poll thread then replaces it with a new client (a new producer id); what the old one
still held is purged, so those sends fail (503, the client retries with the same body, and landing
stores an event once whatever reached Kafka twice).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass

import structlog
from confluent_kafka import KafkaError, Producer

from gamemetrics.retry import UNTIL_BACK, RetryPolicy
from streams.errors import ProduceError

log = structlog.get_logger("streams.producer")

POLL_TIMEOUT_S = 0.05
PROBE_INTERVAL_S = 1.0


@dataclass(frozen=True)
class ProducerConfig:
    """Producer tuning; the guarantees (acks=all, idempotence) are not settings."""

    linger_ms: int = 5
    compression: str = "lz4"
    delivery_timeout_ms: int = 10_000
    max_message_bytes: int = 8 * 1024 * 1024
    # recovery: reconnect to a restarted broker within a second or two (librdkafka's default backs
    # off to 10 s), and give up on a frozen (SIGSTOPped) broker's socket after 10 s, not 60 s
    reconnect_backoff_max_ms: int = 1_000
    socket_timeout_ms: int = 10_000


class EventProducer:
    """Sends messages and resolves once Kafka has every one of them."""

    def __init__(self, bootstrap_servers: str, config: ProducerConfig = ProducerConfig(),
                 security: Mapping[str, str] | None = None) -> None:
        """``security``: ``Settings.kafka_security()`` (SASL/SSL); None or empty for PLAINTEXT."""
        self._config = {
            "bootstrap.servers": bootstrap_servers,
            **(security or {}),
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": config.linger_ms,
            "compression.type": config.compression,
            "message.timeout.ms": config.delivery_timeout_ms,
            "message.max.bytes": config.max_message_bytes,
            "reconnect.backoff.max.ms": config.reconnect_backoff_max_ms,
            "socket.timeout.ms": config.socket_timeout_ms,
            "error_cb": self._on_error,
        }
        self._producer = Producer(self._config)
        # a callback that never comes (a client replaced after a fatal error) must not hold a request forever
        self._ack_deadline_s = config.delivery_timeout_ms / 1000 + 5.0
        self._bootstrap = bootstrap_servers
        self._brokers_down = False
        self._fatal: str | None = None
        self.replacements = 0
        """How many times a fatal error made this replace its client."""
        self._running = True
        self._poller = threading.Thread(target=self._poll_loop, name="kafka-producer-poll", daemon=True)
        self._poller.start()

    def _on_error(self, err: KafkaError) -> None:
        if err.code() == KafkaError._ALL_BROKERS_DOWN:
            self._brokers_down = True
        if err.fatal():
            self._fatal = err.str()
        log.warning("kafka_producer_error", error=err.str(), fatal=err.fatal())

    def _replace_after_fatal(self) -> None:
        """Swap in a new client; the old one's queued and in-flight messages fail (purged)."""
        reason, self._fatal = self._fatal, None
        old, self._producer = self._producer, Producer(self._config)
        self.replacements += 1
        log.error("kafka_producer_replaced", reason=reason, replacements=self.replacements)
        try:
            old.purge()
            old.flush(1.0)  # serves the purged messages' callbacks: their requests answer 503
        except Exception as exc:  # a fatal client may refuse even this; its futures then time out
            log.warning("kafka_producer_purge_failed", error=str(exc))

    def _poll_loop(self) -> None:
        last_probe = 0.0
        while self._running:
            self._producer.poll(POLL_TIMEOUT_S)
            if self._fatal is not None:
                self._replace_after_fatal()
            if self._brokers_down and time.monotonic() - last_probe > PROBE_INTERVAL_S:
                last_probe = time.monotonic()
                if self.reachable(timeout_s=PROBE_INTERVAL_S):
                    self._brokers_down = False
                    log.info("kafka_reachable_again", bootstrap_servers=self._bootstrap)

    @property
    def available(self) -> bool:
        return not self._brokers_down

    async def send_all(
        self, topic: str, messages: list[tuple[bytes, bytes]], headers: list[list[tuple[str, bytes]]] | None = None
    ) -> None:
        """Produce every (key, value), with ``headers[i]`` on message i if given; return when all are
        acknowledged, else raise ProduceError."""
        await self.produce_all(topic, messages, headers)

    def produce_all(
        self, topic: str, messages: list[tuple[bytes, bytes]], headers: list[list[tuple[str, bytes]]] | None = None
    ) -> Awaitable[None]:
        """``send_all`` in two halves: hands every message to the client now (raising ProduceError if
        it cannot) and returns what to await for the acknowledgements, so a caller can tell the CPU of
        producing from the wait for Kafka."""
        if self._brokers_down:
            raise ProduceError(f"every Kafka broker of {self._bootstrap} is down")
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[None]] = [loop.create_future() for _ in messages]

        def callback_for(future: asyncio.Future[None]):
            def on_delivery(err: KafkaError | None, _msg: object) -> None:
                if err is None:
                    loop.call_soon_threadsafe(_resolve, future, None)
                else:
                    loop.call_soon_threadsafe(_resolve, future, ProduceError(f"Kafka did not take the message: {err.str()}"))

            return on_delivery

        try:
            for i, ((key, value), future) in enumerate(zip(messages, futures, strict=True)):
                self._producer.produce(topic, value=value, key=key, headers=headers[i] if headers else None,
                                       on_delivery=callback_for(future))
        except BufferError as exc:
            raise ProduceError(f"the producer queue for {self._bootstrap} is full: {exc}") from exc
        except Exception as exc:  # KafkaException for an unknown topic, oversize message, ...
            raise ProduceError(f"producing to {topic} failed: {exc}") from exc
        return self._acknowledged(futures)

    async def _acknowledged(self, futures: list[asyncio.Future[None]]) -> None:
        try:
            results = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), self._ack_deadline_s)
        except TimeoutError as exc:
            raise ProduceError(f"no acknowledgement from {self._bootstrap} within {self._ack_deadline_s:.0f} s") from exc
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise ProduceError(f"{len(failures)} of {len(futures)} messages not acknowledged: {failures[0]}")

    def reachable(self, timeout_s: float = 2.0) -> bool:
        try:
            return len(self._producer.list_topics(timeout=timeout_s).brokers) > 0
        except Exception:
            return False

    def close(self, timeout_s: float = 10.0) -> None:
        self._producer.flush(timeout_s)
        self._running = False
        self._poller.join(timeout=1.0)


def _resolve(future: asyncio.Future[None], error: Exception | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


async def send_acknowledged(
    producer: EventProducer, topic: str, messages: list[tuple[bytes, bytes]], policy: RetryPolicy = UNTIL_BACK
) -> None:
    """``producer.send_all``, repeated while Kafka does not acknowledge."""
    for attempt in range(1, policy.max_attempts + 1):
        try:
            await producer.send_all(topic, messages)
            return
        except ProduceError as exc:
            if attempt == policy.max_attempts:
                raise
            delay = policy.delay_after(attempt)
            log.warning("kafka_unavailable", topic=topic, messages=len(messages), attempt=attempt,
                        retry_in_s=delay, error=str(exc))
            await asyncio.sleep(delay)
