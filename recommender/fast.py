"""The cache hit without FastAPI: a pure ASGI layer in front of the app for
``GET /v1/recommendations/{player_id}``.

    parse the query (game_id, k, exclude_owned, platform, country) -> the bearer token (verified once,
    then remembered until it expires: VerifiedTokens) -> the game's live model as this process last
    read it -> one Redis HGET -> the cached bytes, sent as they are

Anything else falls through to the app, unchanged: a miss, a token that does not verify or does
not cover the game (the app answers 401/403 with its message), a query the app would refuse (422),
a model not read within model_refresh_s, Redis unavailable. So the fast path answers exactly what
the app would, only the hits, at a fraction of the cost (FastAPI's dependency and validation layers
are ~85 % of a hit's CPU; measured in bench/RESULTS.md).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl

from gamemetrics import metric_defs as m
from gamemetrics.errors import TokenRejected
from gamemetrics.settings import TokenSettings
from gamemetrics.tokens import NO_REVOCATIONS, Principal, RevokedTokens, bearer_token, verify_token

PREFIX = "/v1/recommendations/"
_TRUE = {"true", "1", "yes", "on", "t", "y"}
_FALSE = {"false", "0", "no", "off", "f", "n"}
_HIT_SECONDS = m.RECOMMENDER_REQUEST_SECONDS.labels("recommendations", "hit")
_HIT_CACHE = m.RECOMMENDER_CACHE.labels("hit")
_OK = m.RECOMMENDER_REQUESTS.labels("recommendations", "ok")


class VerifiedTokens:
    """Tokens this process verified, by their text, until they expire (HMAC-SHA256 and claim checks
    once per token, not per request). Bounded: past ``limit`` entries the memory starts over."""

    def __init__(self, settings: TokenSettings, limit: int = 10_000, revoked: RevokedTokens = NO_REVOCATIONS) -> None:
        self._settings = settings
        self._limit = limit
        self._revoked = revoked  # replaced in place by its refresher: a revoked token stops on the next request
        self._known: dict[str, Principal] = {}

    def verify(self, token: str) -> Principal:
        principal = self._known.get(token)
        if principal is not None and not principal.expired() and principal.token_id not in self._revoked:
            return principal
        principal = verify_token(self._settings, token, revoked=self._revoked)  # raises TokenRejected
        if len(self._known) >= self._limit:
            self._known.clear()
        self._known[token] = principal
        return principal


def _query(raw: bytes, max_k: int, default_k: int) -> tuple[str, int, bool, str | None, str | None] | None:
    """The request's parameters as the app would read them, or None when the app should judge them."""
    game_id, k, exclude_owned, platform, country = None, default_k, True, None, None
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if key == "game_id":
            game_id = value
        elif key == "k":
            if not value.isdigit() or int(value) < 1:
                return None
            k = min(int(value), max_k)
        elif key == "exclude_owned":
            low = value.lower()
            if low not in _TRUE and low not in _FALSE:
                return None
            exclude_owned = low in _TRUE
        elif key == "platform":
            platform = value
        elif key == "country":
            country = value
    if not game_id or len(game_id) > 200 or (platform is not None and len(platform) > 32) or (
            country is not None and len(country) > 2):
        return None
    return game_id, k, exclude_owned, platform or None, country or None


class FastHits:
    """ASGI middleware: answers cache hits of the recommendations endpoint itself; the rest goes to ``app``."""

    def __init__(self, app: Any, owner: Any) -> None:
        self.app = app
        self.owner = owner  # the FastAPI app, whose state.services the lifespan set

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith(PREFIX):
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        body = await self._hit(scope)
        if body is None:
            return await self.app(scope, receive, send)
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"x-cache", b"hit")]})
        await send({"type": "http.response.body", "body": body})
        _OK.inc()
        _HIT_CACHE.inc()
        _HIT_SECONDS.observe(time.perf_counter() - started)

    async def _hit(self, scope: dict) -> bytes | None:
        services = getattr(self.owner.state, "services", None)
        player_id = scope["path"][len(PREFIX):]
        if services is None or not player_id or "/" in player_id:
            return None
        query = _query(scope["query_string"], services.rec.max_k, services.rec.default_k)
        if query is None:
            return None
        game_id, k, exclude_owned, platform, country = query
        authorization = next((v for h, v in scope["headers"] if h == b"authorization"), None)
        try:
            principal = services.tokens_cache.verify(bearer_token(authorization.decode("latin-1") if authorization else None))
        except TokenRejected:
            return None
        if not principal.may_read(game_id):
            return None
        model = services.recommender.fresh_model(game_id)
        if model is None:
            return None
        field = services.recommender.field_of(model.model_id, k, exclude_owned, platform, country)
        return await services.cache.peek(game_id, player_id, field)
