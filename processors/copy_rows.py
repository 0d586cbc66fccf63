"""The binary COPY payloads landing writes straight into ``event_keys`` and ``player_events``. Pure.

PostgreSQL's binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html): a
signature header, then per row an int16 field count and per field an int32 length (-1 = NULL) and
the type's binary ``send`` form; an int16 -1 ends it. The values are built here from what the worker
holds (ids as text, times as epoch milliseconds) with no intermediate Python object (no UUID, no
datetime, no Decimal): uuid = its 16 bytes, timestamptz = int64 µs since 2000-01-01 UTC, jsonb =
version byte 1 + the JSON text, numeric = base-10000 digits (revenue, scale 6, from integer
micro-dollars so the value is exact).

The functions ending in ``_py`` are the reference of the payloads and the fallback; ``keys_copy`` and
``events_copy`` use the native crate's ``gamemetrics_avro.landing`` when the installed build has it
(``NATIVE``), which gives the same bytes (tests/processors/test_native_landing.py).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

import orjson

from processors.enrich import EnrichedEvent
from store.tables import PLAYER_EVENT_COLUMNS

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
TRAILER = struct.pack("!h", -1)
PG_EPOCH_MS = 946_684_800_000  # 2000-01-01T00:00:00Z in Unix ms
KEY_COLUMNS = ("client_ts", "event_id")  # event_keys' primary key order (migration 0007)
_NULL = struct.pack("!i", -1)
_KEY_ROW = struct.Struct("!hiqi")  # 2 fields; int64 client ts; then the uuid's length
_I8 = struct.Struct("!iq")
_I4 = struct.Struct("!ii")
_LEN = struct.Struct("!i")
_TRUE = struct.pack("!ib", 1, 1)
_FALSE = struct.pack("!ib", 1, 0)
_FIELDS = struct.pack("!h", len(PLAYER_EVENT_COLUMNS))
_REVENUE_SCALE = 6


def uuid_bytes(text: str) -> bytes:
    """A canonical (validated) UUID text -> its 16 bytes."""
    return bytes.fromhex(text.replace("-", ""))


def pg_micros(epoch_ms: int) -> int:
    return (epoch_ms - PG_EPOCH_MS) * 1000


def micro_units(value: float) -> int:
    """A revenue (rounded to 6 decimals by enrich) -> integer millionths, exactly."""
    return round(value * 1_000_000)


def numeric_micro(micro: int) -> bytes:
    """numeric's binary form of ``micro`` / 10**6 with display scale 6 (length prefix included)."""
    sign = 0x4000 if micro < 0 else 0
    n = abs(micro) * 100  # 8 fractional decimal digits = 2 base-10000 digits
    digits: list[int] = []
    while n:
        n, d = divmod(n, 10_000)
        digits.append(d)
    digits.reverse()
    weight = len(digits) - 3
    while digits and digits[-1] == 0:
        digits.pop()
    if not digits:
        weight, sign = 0, 0
    body = struct.pack(f"!hhHh{len(digits)}h", len(digits), weight, sign, _REVENUE_SCALE, *digits)
    return _LEN.pack(len(body)) + body


def _text(value: str | None) -> bytes:
    if value is None:
        return _NULL
    data = value.encode()
    return _LEN.pack(len(data)) + data


def keys_copy_py(events: Iterable[tuple[str, int]]) -> bytes:
    """``COPY event_keys (client_ts, event_id)`` of (event id, client ts ms) pairs, sorted by the key."""
    rows = sorted((pg_micros(ts), uuid_bytes(event_id)) for event_id, ts in events)
    return HEADER + b"".join([_KEY_ROW.pack(2, 8, ts, 16) + raw for ts, raw in rows]) + TRAILER


def event_row(item: EnrichedEvent) -> bytes:
    """One ``player_events`` row in ``PLAYER_EVENT_COLUMNS`` order."""
    e = item.event
    props = orjson.dumps(e["properties"])
    return b"".join((
        _FIELDS,
        b"\x00\x00\x00\x10", uuid_bytes(e["event_id"]),
        _I8.pack(8, pg_micros(e["event_time"])),
        _text(item.game_id), _text(e["player_id"]), _text(e["event_type"]),
        _I8.pack(8, pg_micros(e["ts"])),
        _I8.pack(8, pg_micros(item.received_at)),
        _text(e["session_id"]), _text(item.platform), _text(item.app_version), _text(e["country"]),
        _LEN.pack(len(props) + 1), b"\x01", props,
        b"\x00\x00\x00\x10", uuid_bytes(item.batch_id),
        _NULL if item.session_seq is None else _I4.pack(4, item.session_seq),
        _TRUE if item.is_new_player else _FALSE,
        _NULL if item.revenue_usd is None else numeric_micro(micro_units(item.revenue_usd)),
        _I8.pack(8, item.delay_ms),
    ))


def events_copy_py(events: Iterable[EnrichedEvent]) -> bytes:
    """``COPY player_events (PLAYER_EVENT_COLUMNS)`` of the enriched rows, in the given order."""
    return HEADER + b"".join([event_row(item) for item in events]) + TRAILER


def _native() -> Any:
    try:
        import gamemetrics_avro
    except ImportError:
        return None
    return getattr(gamemetrics_avro, "landing", None)  # builds before the landing module lack it


NATIVE = _native()


def keys_copy(events: Iterable[tuple[str, int]]) -> bytes:
    """``COPY event_keys (client_ts, event_id)`` of (event id, client ts ms) pairs, sorted by the key."""
    if NATIVE is None:
        return keys_copy_py(events)
    return NATIVE.copy_keys(list(events))


def events_copy(events: Iterable[EnrichedEvent]) -> bytes:
    """``COPY player_events (PLAYER_EVENT_COLUMNS)`` of the enriched rows, in the given order."""
    if NATIVE is None:
        return events_copy_py(events)
    return NATIVE.copy_events(list(events), orjson.dumps)
