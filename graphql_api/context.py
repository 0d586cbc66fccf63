"""The typed context of every operation: the process's services, the caller, the DataLoaders.

HTTP requests get one context each (``Authorization`` header). A WebSocket gets one per
connection; its caller is set from the ``connection_init`` payload (``graphql_api.app``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from gamemetrics.settings import Settings
from graphql_api.auth import CREATE_HINT, LEEWAY, Principal, bearer_token, verify_token
from graphql_api.errors import ApiError, Unauthenticated
from graphql_api.analytics.pipeline import LagProbe
from graphql_api.live import LiveHub
from graphql_api.settings import GraphQLSettings
from graphql_api.database import Database
from graphql_api.types import GameStats


@dataclass
class Services:
    """What one API process shares between requests, built once in the app's lifespan."""

    settings: Settings
    gql: GraphQLSettings
    db: Database
    hub: LiveHub
    lag: LagProbe


class Loaders:
    """Batch the children of listed objects into one query per field (uncached: no stale reads
    on long-lived WebSocket contexts)."""

    def __init__(self, services: Services) -> None:
        from graphql_api.analytics.games import game_stats

        async def load_stats(game_ids: list[str]) -> list[GameStats]:
            return await game_stats(services.db, game_ids)

        self.game_stats: DataLoader[str, GameStats] = DataLoader(load_stats, cache=False)


class Context(BaseContext):
    def __init__(self, services: Services, authorization: object) -> None:
        super().__init__()
        self.services = services
        self.loaders = Loaders(services)
        self.principal: Principal | None = None
        self.auth_error: ApiError | None = None
        self.authenticate(authorization)

    def authenticate(self, authorization: object) -> None:
        """Set the caller from an ``Authorization`` value (``Bearer <token>``)."""
        try:
            self.principal = verify_token(self.services.gql, bearer_token(authorization))
            self.auth_error = None
        except ApiError as exc:
            self.principal, self.auth_error = None, exc

    @property
    def viewer(self) -> Principal:
        """The caller; raises ``Unauthenticated`` (with the reason) when there is none."""
        if self.principal is None:
            raise self.auth_error or Unauthenticated("missing token")
        if self.principal.expires_at + LEEWAY < datetime.now(timezone.utc):  # a long-lived WebSocket
            raise Unauthenticated(f"token expired; {CREATE_HINT}")
        return self.principal

    def require_game(self, game_id: str) -> Principal:
        principal = self.viewer
        principal.require_game(game_id)
        return principal
