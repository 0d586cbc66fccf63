"""The recommender's deletes are in the audit log (issue 21, item 7): DELETE /v1/players/{id} appends
a row naming the caller and the player's keyed hash (never the id), with what was removed."""

from __future__ import annotations

import asyncio

import pytest

from store import db
from store.audit import AuditLog
from store.privacy import PlayerHasher
from tests.recommender.helpers import token, train_simulated
from tests.recommender.test_service import Scenario

pytestmark = pytest.mark.integration


def test_a_delete_through_the_api_is_audited_by_hash(rec_settings):
    async def scenario() -> tuple[str, dict]:
        async with Scenario(rec_settings) as s:
            trained = await train_simulated(s.store, "g1", seed=0)
            player = trained.matrix.player_ids[1]
            r = await s.api.client.delete(f"/v1/players/{player}", params={"game_id": "g1"},
                                          headers=token(["g1"], "admin"))
            assert r.status_code == 200, r.text
            return player, r.json()

    player, counts = asyncio.run(scenario())
    assert counts["qdrant_points"] == 1
    with db.connect(rec_settings, autocommit=True) as conn:
        rows = conn.execute("SELECT actor, action, game_id, subject, detail FROM audit_log WHERE action = 'recommender.forget'"
                            ).fetchall()
        assert rows == [(rows[0][0], "recommender.forget", "g1", PlayerHasher.of(rec_settings)("g1", player), counts)]
        assert rows[0][0].startswith("token:")
        assert conn.execute("SELECT count(*) FROM audit_log t WHERE strpos(t::text, %s) > 0", (player,)).fetchone()[0] == 0
        assert AuditLog.of(rec_settings).verify(conn).intact
