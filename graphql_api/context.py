"""The typed context of every operation: the process's services, the caller, the DataLoaders.

It knows no metric: a resolver asks it for the DataLoader of its own batch query
(:meth:`Context.loader`), so the analytics modules import the context and never the reverse.

HTTP requests get one context each (``Authorization`` header). A WebSocket gets one per
connection; its caller is set from the ``connection_init`` payload (``graphql_api.app``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from gamemetrics.settings import Settings
from gamemetrics.tokens import RevokedTokens
from graphql_api.auth import CREATE_HINT, LEEWAY, Principal, bearer_token, verify_token
from graphql_api.errors import ApiError, Unauthenticated
from graphql_api.lag_probe import LagProbe
from graphql_api.live import LiveHub
from graphql_api.settings import GraphQLSettings
from graphql_api.database import Database
from retention.settings import JobSettings

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
BatchQuery = Callable[[Database, list[K]], Awaitable[list[V]]]
"""One query for many keys (``analytics.games.game_stats``): a value per key, in the keys' order."""


@dataclass
class Services:
    """What one API process shares between requests, built once in the app's lifespan."""

    settings: Settings
    gql: GraphQLSettings
    db: Database
    hub: LiveHub
    lag: LagProbe
    revoked: RevokedTokens = field(default_factory=RevokedTokens)  # refreshed by the lifespan (store.tokens)
    gdpr_job: JobSettings | None = None  # read at start-up when mutations may run a GDPR job (gdpr_run_now)


class Context(BaseContext):
    def __init__(self, services: Services, authorization: object) -> None:
        super().__init__()
        self.services = services
        self._loaders: dict[BatchQuery[Any, Any], DataLoader[Any, Any]] = {}
        self.principal: Principal | None = None
        self.auth_error: ApiError | None = None
        self.authenticate(authorization)

    def loader(self, batch: BatchQuery[K, V]) -> DataLoader[K, V]:
        """This context's DataLoader of ``batch``: the children of listed objects load in one query
        per field. Uncached, so long-lived WebSocket contexts never read stale values."""
        loader = self._loaders.get(batch)
        if loader is None:
            db = self.services.db

            async def load(keys: list[K]) -> list[V]:
                return await batch(db, list(keys))

            loader = self._loaders[batch] = DataLoader(load, cache=False)
        return loader

    def authenticate(self, authorization: object) -> None:
        """Set the caller from an ``Authorization`` value (``Bearer <token>``)."""
        try:
            self.principal = verify_token(self.services.gql, bearer_token(authorization), revoked=self.services.revoked)
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
