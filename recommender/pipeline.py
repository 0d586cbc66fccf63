"""The recommender's request pipeline, without HTTP: a verified caller and parsed parameters in,
JSON bytes (and where they came from: cache hit or miss) out.

    caller(services, authorization)                       TokenRejected (401) without a valid token
    recommendations / similar(services, principal, ...)   TokenNotPermitted (403) when the token's games
                                                          do not include the game; NoModel (404);
                                                          VectorStoreError (503)
    forget(services, principal, game, player)             admin tokens only (TokenNotPermitted), audited
    readiness(services)                                   the vector store answers

``Services`` are the clients the requests use, opened by the app's lifespan (``open_services``) or
given by a test or benchmark. The HTTP layer (``recommender.app``) parses requests into these calls
and turns their typed errors into statuses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from gamemetrics import metric_defs as m
from gamemetrics.readiness import Readiness, probe
from gamemetrics.settings import Settings, TokenSettings
from gamemetrics.tokens import Principal, RevokedTokens, bearer_token
from recommender.cache import AnswerCache, Source
from recommender.fast import VerifiedTokens
from recommender.service import Recommender
from recommender.settings import RecommenderSettings
from recommender.vectors import VectorStore

Audit = Callable[[str, str, "str | None", "str | None", dict[str, Any]], Awaitable[None]]


@dataclass
class Services:
    settings: Settings
    rec: RecommenderSettings
    tokens: TokenSettings
    store: VectorStore
    cache: AnswerCache
    recommender: Recommender
    revoked: RevokedTokens = field(default_factory=RevokedTokens)  # refreshed by the lifespan (store.tokens)
    audit: Audit | None = None

    tokens_cache: VerifiedTokens | None = None

    def __post_init__(self) -> None:
        if self.tokens_cache is None:
            self.tokens_cache = VerifiedTokens(self.tokens, revoked=self.revoked)
        if self.audit is None:
            from recommender.admin import audit_writer

            self.audit = audit_writer(self.settings)


def open_services(settings: Settings, rec: RecommenderSettings, tokens: TokenSettings) -> Services:
    """The vector store (embedded, this process's; or a Qdrant server) -> the Redis cache -> the Recommender."""
    store = VectorStore.open(settings, rec)
    cache = AnswerCache.connect(settings.redis_url, store.names.namespace, rec, one_process=store.embedded)
    return Services(settings, rec, tokens, store, cache, Recommender(store, cache, rec))


async def close_services(services: Services) -> None:
    await services.cache.close()
    await services.store.close()


def caller(services: Services, authorization: str | None) -> Principal:
    """The verified caller of ``Authorization: Bearer <token>``; TokenRejected otherwise."""
    return services.tokens_cache.verify(bearer_token(authorization))


def _k(services: Services, k: int | None) -> int:
    return min(k or services.rec.default_k, services.rec.max_k)


async def recommendations(services: Services, principal: Principal, game_id: str, player_id: str, k: int | None,
                          exclude_owned: bool = True, platform: str | None = None,
                          country: str | None = None) -> tuple[bytes, Source]:
    """The items recommended to the player, best first (``k``: default_k when None, at most max_k)."""
    principal.require_game(game_id)
    body, source = await services.recommender.recommend(game_id, player_id, _k(services, k), exclude_owned,
                                                        platform, country)
    m.RECOMMENDER_REQUESTS.labels("recommendations", "ok").inc()
    return body, source


async def similar(services: Services, principal: Principal, game_id: str, player_id: str,
                  k: int | None) -> tuple[bytes, Source]:
    """The players with the most similar play."""
    principal.require_game(game_id)
    body, source = await services.recommender.similar(game_id, player_id, _k(services, k))
    m.RECOMMENDER_REQUESTS.labels("similar", "ok").inc()
    return body, source


async def forget(services: Services, principal: Principal, game_id: str, player_id: str) -> dict[str, Any]:
    """Forget the player in every recommender store (admin tokens only); the erase is audited."""
    principal.require_admin("forgetting a player", game_id)
    from recommender.forget import forget_with

    counts = await forget_with(services.store, services.cache, game_id, player_id)
    await services.audit(f"token:{principal.subject}", "recommender.forget", game_id, player_id, counts)
    return counts


async def readiness(services: Services) -> Readiness:
    return Readiness({"qdrant": await probe(services.store.client.get_collections)})
