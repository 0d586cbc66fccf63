"""``player``: a profile from ``players`` and its events from ``player_events``, newest first,
paginated by an opaque keyset cursor over ``(event_time, event_id)``, with their types."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from graphql_api.context import Context
from graphql_api.errors import BadArgument
from graphql_api.database import Database
from graphql_api.types import Cost
from store.rollups import PLAYERS

@strawberry.type
class PlayerEvent:
    event_id: str
    event_type: str
    event_time: datetime
    received_at: datetime
    session_id: str | None
    platform: str | None
    app_version: str | None
    country: str | None
    properties: JSON
    revenue_usd: float | None
    session_seq: int | None


@strawberry.type
class PlayerEventEdge:
    cursor: str
    node: PlayerEvent


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class PlayerEventConnection:
    edges: list[PlayerEventEdge]
    page_info: PageInfo


@strawberry.type
class Player:
    game_id: str
    player_id: str
    first_seen: datetime
    last_seen: datetime
    events: int
    sessions: int
    purchases: int
    lifetime_revenue_usd: float
    platform: str | None
    country: str | None
    app_version: str | None

    @strawberry.field(description="The player's events, newest first; pass `endCursor` as `after` for the next page.",
                      directives=[Cost(weight=2)])
    async def recent_events(self, info: strawberry.Info[Context, None], first: int = 20,
                            after: str | None = None) -> PlayerEventConnection:
        return await recent_events(info.context.services.db, self.game_id, self.player_id, first, after)


MAX_PAGE = 100
_FIELDS = ("event_id", "event_type", "event_time", "received_at", "session_id", "platform", "app_version", "country",
           "properties", "revenue_usd", "session_seq")
_COLUMNS = ("event_id::text, event_type, event_time, received_at, session_id, platform, app_version, country, "
            "properties, revenue_usd::float8, session_seq")


def encode_cursor(event_time: datetime, event_id: str) -> str:
    return base64.urlsafe_b64encode(f"{event_time.isoformat()}|{event_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        t, event_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(t), uuid.UUID(event_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadArgument(f"after: {cursor!r} is not a cursor this API returned (use pageInfo.endCursor)") from exc


async def player(db: Database, game_id: str, player_id: str) -> Player | None:
    rows = await db.fetch(
        "SELECT first_seen, last_seen, events, sessions, purchases, lifetime_revenue_usd::float8, platform, country, "
        f"app_version FROM {PLAYERS.table} WHERE game_id = %s AND player_id = %s",
        (game_id, player_id),
    )
    if not rows:
        return None
    first, last, events, sessions, purchases, revenue, platform, country, version = rows[0]
    return Player(game_id=game_id, player_id=player_id, first_seen=first, last_seen=last, events=events,
                  sessions=sessions, purchases=purchases, lifetime_revenue_usd=revenue, platform=platform,
                  country=country, app_version=version)


async def recent_events(db: Database, game_id: str, player_id: str, first: int,
                        after: str | None) -> PlayerEventConnection:
    if not 0 < first <= MAX_PAGE:
        raise BadArgument(f"recentEvents: first must be 1 to {MAX_PAGE} (got {first})")
    if after is None:
        rows = await db.fetch(
            f"SELECT {_COLUMNS} FROM player_events WHERE game_id = %s AND player_id = %s "
            "ORDER BY event_time DESC, event_id DESC LIMIT %s",
            (game_id, player_id, first + 1),
        )
    else:
        t, event_id = decode_cursor(after)
        rows = await db.fetch(
            f"SELECT {_COLUMNS} FROM player_events WHERE game_id = %s AND player_id = %s "
            "AND (event_time, event_id) < (%s, %s) ORDER BY event_time DESC, event_id DESC LIMIT %s",
            (game_id, player_id, t, event_id, first + 1),
        )
    edges = [
        PlayerEventEdge(cursor=encode_cursor(row[2], row[0]), node=PlayerEvent(**dict(zip(_FIELDS, row))))
        for row in rows[:first]
    ]
    return PlayerEventConnection(
        edges=edges, page_info=PageInfo(has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None)
    )
