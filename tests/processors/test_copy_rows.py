"""processors/copy_rows.py and processors/rollups.py, pure: the binary COPY payloads byte for byte
against psycopg's own binary dumpers, and the rollup aggregates against a plain recomputation."""

from __future__ import annotations

import struct
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings, strategies as st
from psycopg import pq
from psycopg.postgres import adapters, types

from processors.copy_rows import HEADER, KEY_COLUMNS, TRAILER, event_row, keys_copy_py as keys_copy, numeric_micro
from processors.enrich import EnrichedEvent
from processors.rollups import HOUR_MS, MINUTE_MS, aggregate
from store.tables import PLAYER_EVENT_COLUMNS

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def pg_binary(type_name: str, value) -> bytes:
    """psycopg's binary form of ``value`` as ``type_name``, with its length prefix."""
    dumper = adapters.get_dumper_by_oid(types.get(type_name).oid, pq.Format.BINARY)(type(value))
    data = bytes(dumper.dump(value))
    return struct.pack("!i", len(data)) + data


@settings(max_examples=300)
@given(st.integers(min_value=-(10**17) + 1, max_value=10**17 - 1))
def test_numeric_is_what_postgres_gets_from_the_decimal(micro):
    assert numeric_micro(micro) == pg_binary("numeric", Decimal(micro).scaleb(-6).quantize(Decimal("0.000001")))


def test_a_key_row_is_the_client_ts_then_the_uuid():
    event_id = str(uuid.uuid4())
    ts = 1_764_000_000_123
    payload = keys_copy([(event_id, ts)])
    assert KEY_COLUMNS == ("client_ts", "event_id")
    assert payload == (HEADER + struct.pack("!h", 2)
                       + pg_binary("timestamptz", _EPOCH + timedelta(milliseconds=ts))
                       + pg_binary("uuid", uuid.UUID(event_id)) + TRAILER)


def test_keys_go_in_sorted_by_client_ts_then_id():
    pairs = [(str(uuid.uuid4()), ts) for ts in (30, 10, 20, 10)]
    rows = keys_copy(pairs)[len(HEADER):-len(TRAILER)]
    stamps = [struct.unpack_from("!q", rows, i * 34 + 6)[0] for i in range(4)]
    ids = [rows[i * 34 + 18:i * 34 + 34] for i in range(4)]
    assert list(zip(stamps, ids)) == sorted(zip(stamps, ids))


def item(**over) -> EnrichedEvent:
    event = {"event_id": str(uuid.uuid4()), "event_time": 1_764_000_000_000, "player_id": "p1", "event_type": "purchase",
             "ts": 1_763_999_999_000, "session_id": "s1", "country": "DE", "properties": {"amount": 1.5, "x": "ü"}}
    event.update(over.pop("event", {}))
    fields = dict(event=event, game_id="g1", batch_id=str(uuid.uuid4()), received_at=1_764_000_000_500,
                  platform="ios", app_version="1.2", session_seq=3, is_new_player=False, revenue_usd=1.99,
                  lifetime_revenue_usd=5.0, delay_ms=500)
    fields.update(over)
    return EnrichedEvent(**fields)


def test_an_event_row_has_every_column_in_order_as_psycopg_would_send_it():
    from psycopg.types.json import Jsonb

    for e in (item(), item(event={"session_id": None, "country": None}, platform=None, app_version=None,
                           session_seq=None, is_new_player=True, revenue_usd=None)):
        ev = e.event
        values = {
            "event_id": ("uuid", uuid.UUID(ev["event_id"])),
            "event_time": ("timestamptz", _EPOCH + timedelta(milliseconds=ev["event_time"])),
            "game_id": ("text", e.game_id), "player_id": ("text", ev["player_id"]), "event_type": ("text", ev["event_type"]),
            "client_ts": ("timestamptz", _EPOCH + timedelta(milliseconds=ev["ts"])),
            "received_at": ("timestamptz", _EPOCH + timedelta(milliseconds=e.received_at)),
            "session_id": ("text", ev["session_id"]), "platform": ("text", e.platform),
            "app_version": ("text", e.app_version), "country": ("text", ev["country"]),
            "properties": ("jsonb", Jsonb(ev["properties"])), "batch_id": ("uuid", uuid.UUID(e.batch_id)),
            "session_seq": ("int4", e.session_seq), "is_new_player": ("bool", e.is_new_player),
            "revenue_usd": ("numeric", None if e.revenue_usd is None else Decimal(repr(e.revenue_usd)).quantize(Decimal("0.000001"))),
            "delay_ms": ("int8", e.delay_ms),
        }
        assert tuple(values) == PLAYER_EVENT_COLUMNS
        expected = struct.pack("!h", len(values)) + b"".join(
            struct.pack("!i", -1) if v is None else pg_binary(t, v) for t, v in values.values())
        # jsonb: psycopg's dumper writes json.dumps' spacing, ours orjson's; compare that field parsed
        assert _without_json(event_row(e)) == _without_json(expected)


def _without_json(row: bytes) -> list[bytes]:
    fields, at = [], 2
    while at < len(row):
        (n,) = struct.unpack_from("!i", row, at)
        at += 4
        fields.append(b"" if n < 0 else row[at:at + n])
        at += max(n, 0)
    json_at = PLAYER_EVENT_COLUMNS.index("properties")
    import json

    fields[json_at] = json.dumps(json.loads(fields[json_at][1:]), sort_keys=True).encode()
    return fields


events_st = st.lists(st.builds(
    lambda kind, player, session, minute, second, revenue, mode, duration, platform: item(
        event={"event_type": kind, "player_id": player, "session_id": session,
               "event_time": 1_764_000_000_000 + minute * MINUTE_MS + second * 1000,
               "properties": {"mode": mode, "outcome": "win", "duration_s": duration}},
        revenue_usd=revenue if kind == "purchase" else None, platform=platform),
    st.sampled_from(["session_start", "session_end", "purchase", "match_result", "level_up"]),
    st.sampled_from(["p1", "p2", "p3"]), st.sampled_from([None, "s1", "s2"]),
    st.integers(0, 180), st.integers(0, 59), st.floats(0, 1000).map(lambda x: round(x, 6)),
    st.sampled_from(["duel", "ranked"]), st.floats(0, 7200), st.sampled_from([None, "ios", "web"]),
), max_size=40)


@settings(max_examples=200)
@given(events_st)
def test_rollups_are_the_group_bys_of_the_events(events):
    r = aggregate(events)
    assert sum(row[3] for row in r.minutes) == len(events) == sum(row[4] for row in r.players)
    assert sum(row[4] for row in r.minutes) == sum(round((e.revenue_usd or 0) * 1e6) for e in events)
    assert {(e.game_id, e.event["event_time"] // MINUTE_MS * MINUTE_MS, e.event["event_type"], e.event["player_id"])
            for e in events} == set(r.minute_players)
    for table, width in (("minute_players", 4), ("minutes", 3), ("daily", 3), ("players", 2), ("sessions", 2)):
        keys = [row[:width] for row in getattr(r, table)]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)  # one row per key, in key order
    for game, session, player, first, last, ended, duration, n in r.sessions:
        mine = [e for e in events if e.event["session_id"] == session]
        ends = [e for e in mine if e.event["event_type"] == "session_end"]
        assert (player, first, last, n) == (min(e.event["player_id"] for e in mine), min(e.event["event_time"] for e in mine),
                                            max(e.event["event_time"] for e in mine), len(mine))
        assert ended == (max(e.event["event_time"] for e in ends) if ends else None)
        assert duration == (max(e.event["properties"]["duration_s"] for e in ends) if ends else None)
    for game, player, *_, platform, country, version in r.players:
        with_platform = [e for e in events if e.event["player_id"] == player and e.platform is not None]
        newest = max((e.event["event_time"] for e in with_platform), default=None)
        assert platform in ({e.platform for e in with_platform if e.event["event_time"] == newest} or {None})
    matches = [e for e in events if e.event["event_type"] == "match_result"]
    assert sorted(r.matches) == sorted(
        (g, b, m, o, sum(1 for e in matches if (e.game_id, e.event["event_time"] // HOUR_MS * HOUR_MS,
                                                  e.event["properties"]["mode"], "win") == (g, b, m, o)))
        for g, b, m, o in {(e.game_id, e.event["event_time"] // HOUR_MS * HOUR_MS, e.event["properties"]["mode"], "win")
                           for e in matches})
