"""The recommender's answers in the GraphQL API: ``recommendations`` and ``similarPlayers``.

The resolvers check the caller's token for the game, then ask the recommender API
(``gamemetrics serve recommender``, at ``GAMEMETRICS_GRAPHQL_RECOMMENDER_URL``) with a short-lived
token for that game only, minted with the shared secret; so the recommender's own cache, cold
start and owned-item rules apply unchanged. Mixed into ``Query`` by ``graphql_api.schema``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import strawberry

from graphql_api.auth import issue_token
from graphql_api.errors import BadArgument, Unavailable
from graphql_api.gdpr import audit
from graphql_api.types import Cost

FORWARDED_TOKEN_TTL = timedelta(seconds=60)
TIMEOUT_S = 5.0


@strawberry.type(description="One recommended item, best first.")
class RecommendedItem:
    item_id: str
    score: float


@strawberry.type(description="Items recommended to a player from the live model of their game.")
class Recommendations:
    game_id: str
    player_id: str
    model_version: str
    strategy: str = strawberry.field(description="personal (the player's vector) or popular (cold start: their segment).")
    segment: str | None = strawberry.field(description="platform|country whose popularity a cold start used.")
    items: list[RecommendedItem]


@strawberry.type(description="A player with similar play, most similar first.")
class SimilarPlayer:
    player_id: str
    score: float


@strawberry.type(description="Players whose vectors are nearest to this player's.")
class SimilarPlayers:
    game_id: str
    player_id: str
    model_version: str
    strategy: str = strawberry.field(description="similar, or popular when the player is unknown (then no players).")
    players: list[SimilarPlayer]


async def _ask(info: Any, game_id: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
    principal = info.context.require_game(game_id)
    gql = info.context.services.gql
    forwarded = issue_token(gql, "analyst", [game_id], FORWARDED_TOKEN_TTL, subject=f"graphql:{principal.subject}")
    try:
        async with httpx.AsyncClient(base_url=gql.recommender_url, timeout=TIMEOUT_S) as client:
            response = await client.get(path, params={"game_id": game_id, **params},
                                        headers={"Authorization": f"Bearer {forwarded}"})
    except httpx.HTTPError as exc:
        raise Unavailable(f"the recommender API at {gql.recommender_url} did not answer: {exc}") from exc
    if response.status_code == 404:
        raise BadArgument(response.json().get("detail", "no model for this game"))
    if response.status_code != 200:
        raise Unavailable(f"the recommender API answered {response.status_code}: {response.text[:300]}")
    return response.json()


@strawberry.type
class RecommendationQueries:
    @strawberry.field(description="Store items for a player (owned items excluded unless excludeOwned is false).",
                      directives=[Cost(weight=2)])
    async def recommendations(self, info: strawberry.Info, game_id: str, player_id: str, k: int = 10,
                              exclude_owned: bool = True) -> Recommendations:
        if not 1 <= k <= 100:
            raise BadArgument("recommendations: k must be 1 to 100")
        body = await _ask(info, game_id, f"/v1/recommendations/{player_id}",
                          {"k": k, "exclude_owned": str(exclude_owned).lower()})
        await audit(info, "graphql.recommendations_read", game_id, player_id, {"k": k})
        return Recommendations(game_id=body["game_id"], player_id=body["player_id"],
                               model_version=body["model_version"], strategy=body["strategy"],
                               segment=body.get("segment"),
                               items=[RecommendedItem(item_id=i["item_id"], score=i["score"]) for i in body["items"]])

    @strawberry.field(description="Players with the most similar play (matchmaking hints).", directives=[Cost(weight=2)])
    async def similar_players(self, info: strawberry.Info, game_id: str, player_id: str, k: int = 10) -> SimilarPlayers:
        if not 1 <= k <= 100:
            raise BadArgument("similarPlayers: k must be 1 to 100")
        body = await _ask(info, game_id, f"/v1/players/{player_id}/similar", {"k": k})
        await audit(info, "graphql.similar_players_read", game_id, player_id, {"k": k})
        return SimilarPlayers(game_id=body["game_id"], player_id=body["player_id"],
                              model_version=body["model_version"], strategy=body["strategy"],
                              players=[SimilarPlayer(player_id=p["player_id"], score=p["score"]) for p in body["players"]])
