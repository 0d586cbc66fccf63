"""GDPR requests under leases (issue 21, item 3): a request left ``running`` by a killed erase is taken
over once its lease expires and resumes at the first store not done; a live lease is respected."""

from __future__ import annotations

import time
import uuid

import pytest

from retention.errors import LeaseLost
from retention.gdpr import receipts, requests
from retention.gdpr.job import GdprJob
from retention.gdpr.forgetters import forgetters
from retention.objects import ObjectStore
from retention.settings import GdprSettings, OtherStages
from store import db
from store.audit import AuditLog
from store.games import create_game
from store.privacy import PlayerHasher

pytestmark = pytest.mark.integration


def test_an_erase_killed_while_running_is_taken_over_after_its_lease_and_resumes(isolated, s3, retention_settings):
    gdpr = GdprSettings(receipt_key="test-receipt-key", lease_s=1.0)
    with db.connect(isolated, autocommit=True) as conn:
        game = create_game(conn, f"lease-{uuid.uuid4().hex[:6]}")
        player = f"p-{uuid.uuid4().hex[:6]}"
        conn.execute("INSERT INTO players (game_id, player_id, first_seen, last_seen) VALUES (%s, %s, now(), now())",
                     (game.game_id, player))
        request = requests.create(conn, PlayerHasher.of(isolated), AuditLog.of(isolated), "erase", game.game_id,
                                  player, "test")
        # a job claims it, finishes the PostgreSQL store, and is killed (nothing else happens to the row)
        killed = requests.claim(conn, request, gdpr.lease_s)
        assert killed is not None
        first, forget = forgetters()[0]
        from retention.gdpr.forgetters import ForgetContext

        ctx = ForgetContext(isolated, retention_settings, conn, ObjectStore(s3), game.game_id, player, request.player_hash,
                            OtherStages.load())
        requests.step_done(conn, request, killed, first, forget(ctx), gdpr.lease_s)

        job = GdprJob(conn, isolated, retention_settings, gdpr, ObjectStore(s3), OtherStages.load())
        assert job.run_open().done == []  # the lease is live: nobody else may take it
        assert requests.get(conn, request.request_id).status == "running"

        time.sleep(gdpr.lease_s + 0.5)
        outcome = job.run_open()
        assert outcome.done == [str(request.request_id)]
        done = requests.get(conn, request.request_id)
        assert done.status == "done" and done.player_id is None and done.attempts == 2
        receipt = outcome.receipts[str(request.request_id)]
        receipts.verify(receipt, b"test-receipt-key")
        assert receipt["stores"]["postgresql"]["players"] == 1  # counted by the killed attempt, kept in the receipt
        assert set(receipt["stores"]) == {name for name, _ in forgetters()}
        kept = " ".join(receipt["kept"]["kafka_topics_until_retention"])
        for topic in ("player.events.raw", "player.events.processed", "recommendations.generated", "notifications",
                      "system.dlq"):
            assert topic in kept, kept
        # the killed job comes back: its lease is gone, it cannot record anything any more
        with pytest.raises(LeaseLost):
            requests.step_done(conn, request, killed, "archives", {}, gdpr.lease_s)
