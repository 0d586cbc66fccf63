"""The context (``graphql_api/context.py``): the caller from the header, DataLoaders that batch."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from gamemetrics.settings import load_settings
from graphql_api.analytics.games import game_stats
from graphql_api.auth import issue_token
from graphql_api.context import Context, Services
from graphql_api.live import LiveHub
from tests.graphql_api.conftest import GQL


class RecordingDatabase:
    """Stands in for the store: answers the stats query and records each round trip."""

    def __init__(self) -> None:
        self.queries: list[tuple[str, object]] = []

    async def fetch(self, query: str, params: object = ()) -> list[tuple]:
        self.queries.append((query, params))
        (game_ids,) = params
        return [(g, 10 * i, 100 * i, None) for i, g in enumerate(game_ids)]


def services(database: RecordingDatabase) -> Services:
    return Services(settings=load_settings(), gql=GQL, db=database, hub=LiveHub(10), lag=None)  # type: ignore[arg-type]


def test_the_stats_of_listed_games_load_in_one_query():
    database = RecordingDatabase()
    context = Context(services(database), None)

    async def load():
        return await asyncio.gather(*(context.loader(game_stats).load(g) for g in ("a", "b", "c")))

    stats = asyncio.run(load())
    assert [s.players for s in stats] == [0, 10, 20]
    assert len(database.queries) == 1 and database.queries[0][1] == (["a", "b", "c"],)


def test_the_caller_comes_from_the_authorization_value():
    token = issue_token(GQL, "analyst", ["g1"], timedelta(hours=1))
    assert Context(services(RecordingDatabase()), f"Bearer {token}").viewer.games == frozenset({"g1"})
    anonymous = Context(services(RecordingDatabase()), None)
    assert anonymous.principal is None and "missing token" in str(anonymous.auth_error)
