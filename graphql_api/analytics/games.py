"""``games`` and the batched ``Game.stats`` (one query for every listed game), with their types."""

from __future__ import annotations

from datetime import datetime

import strawberry

from graphql_api.auth import Principal
from graphql_api.context import Context
from graphql_api.database import Database
from graphql_api.types import Cost
from store.rollups import EVENTS_PER_MINUTE, PLAYERS


@strawberry.type(description="Headline numbers of a game, read from the rollups.")
class GameStats:
    players: int = strawberry.field(description="Players ever seen.")
    events_last_24h: int = strawberry.field(description="Events with an event time in the last 24 hours.")
    last_event_minute: datetime | None = strawberry.field(description="The newest minute holding an event (UTC).")


@strawberry.type
class Game:
    game_id: str
    name: str
    created_at: datetime

    @strawberry.field(description="Headline numbers (batched across the listed games).",
                      directives=[Cost(weight=1)])
    async def stats(self, info: strawberry.Info[Context, None]) -> GameStats:
        return await info.context.loader(game_stats).load(self.game_id)


async def visible_games(db: Database, principal: Principal) -> list[Game]:
    if principal.all_games:
        rows = await db.fetch("SELECT game_id, name, created_at FROM games ORDER BY name")
    else:
        rows = await db.fetch(
            "SELECT game_id, name, created_at FROM games WHERE game_id = ANY(%s) ORDER BY name", (sorted(principal.games),)
        )
    return [Game(game_id=g, name=n, created_at=c) for g, n, c in rows]


async def game_stats(db: Database, game_ids: list[str]) -> list[GameStats]:
    rows = await db.fetch(
        f"""
        SELECT g.game_id,
               (SELECT count(*) FROM {PLAYERS.table} p WHERE p.game_id = g.game_id),
               (SELECT coalesce(sum(r.events), 0) FROM {EVENTS_PER_MINUTE.table} r
                 WHERE r.game_id = g.game_id AND r.bucket >= now() - interval '24 hours'),
               (SELECT max(r.bucket) FROM {EVENTS_PER_MINUTE.table} r WHERE r.game_id = g.game_id)
        FROM unnest(%s::text[]) AS g(game_id)
        """,
        (list(game_ids),),
    )
    by_game = {g: GameStats(players=p, events_last_24h=int(e), last_event_minute=last) for g, p, e, last in rows}
    return [by_game[g] for g in game_ids]
