"""ingest/suppression.py: the pure part, refusing suppressed players' events with their request index."""

from __future__ import annotations

from ingest.suppression import refuse_suppressed
from ingest.validation import Rejection


def test_suppressed_events_are_rejected_at_their_index_in_the_request():
    accepted = [{"event_id": "e0", "player_id": "ana"}, {"event_id": "e2", "player_id": "cy"},
                {"event_id": "e3", "player_id": "ana"}]
    rejected = [Rejection(1, "e1", ["events[1].ts: bad"])]
    kept, refused = refuse_suppressed(accepted, rejected, lambda p: p == "cy")
    assert [e["event_id"] for e in kept] == ["e0", "e3"]
    assert [(r.index, r.event_id) for r in refused] == [(1, "e1"), (2, "e2")]
    assert refused[1].errors[0].startswith("events[2].player_id: this player asked to be erased and suppressed")


def test_nobody_suppressed_changes_nothing():
    accepted = [{"event_id": "e0", "player_id": "ana"}]
    assert refuse_suppressed(accepted, [], lambda _p: False) == (accepted, [])
