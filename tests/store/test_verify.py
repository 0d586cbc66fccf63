"""store/verify.py: rollups against a GROUP BY of the events, and events stored twice."""

import uuid
from datetime import datetime, timezone

import pytest

from store import db
from store.verify import rollup_differences

pytestmark = pytest.mark.integration


def test_an_event_stored_twice_is_reported_with_its_key(isolated):
    when = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
    event_id = uuid.uuid4()
    with db.connect(isolated, autocommit=True) as conn:
        assert rollup_differences(conn) == {}
        for _ in range(2):  # by hand: player_events has no unique key (migration 0006); landing never does this
            conn.execute(
                "INSERT INTO player_events (event_id, event_time, game_id, player_id, event_type, client_ts, "
                "received_at, properties, batch_id) VALUES (%s, %s, 'g', 'p', 'x', %s, %s, '{}', %s)",
                (event_id, when, when, when, uuid.uuid4()),
            )
        problems = rollup_differences(conn)
    assert problems["player_events"] == [f"stored 2 times: event {event_id} (client ts {when.isoformat()})"]
