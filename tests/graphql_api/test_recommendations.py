"""``recommendations`` and ``similarPlayers`` in the GraphQL API (graphql_api/recommendations.py),
answered by a real recommender API process over Qdrant local mode and Redis."""

from __future__ import annotations

import asyncio

import pytest

from graphql_api.settings import GraphQLSettings
from store import db
from store.privacy import PlayerHasher
from recommender.vectors import VectorStore
from tests.graphql_api.conftest import TEST_SECRET, api_client, bearer
from tests.recommender.helpers import REC, train_simulated
from tests.services import running_service

pytestmark = pytest.mark.integration

QUERY = """query($g: String!, $p: String!) {
  recommendations(gameId: $g, playerId: $p, k: 3) { modelVersion strategy items { itemId score } }
  similarPlayers(gameId: $g, playerId: $p, k: 2) { strategy players { playerId } }
}"""


def test_recommendations_through_graphql_with_the_callers_game_scope(isolated, tmp_path, token):
    settings = isolated.model_copy(update={"qdrant_url": "", "state_dir": tmp_path / "state"})

    async def train():
        store = VectorStore.open(settings, REC)
        try:
            return await train_simulated(store, "g-rec")
        finally:
            await store.close()

    trained = asyncio.run(train())
    player = trained.matrix.player_ids[0]
    env = {"GAMEMETRICS_GRAPHQL_JWT_SECRET": TEST_SECRET, "GAMEMETRICS_RECOMMENDER_FACTORS": str(REC.factors)}
    with running_service(["serve", "recommender"], settings, tmp_path / "recommender.log",
                         lambda r: r.status_code == 200, "/readyz", env) as url:
        gql = GraphQLSettings(jwt_secret=TEST_SECRET, live_enabled=False, recommender_url=url)
        with api_client(settings, gql) as client:
            ok = client.post("/graphql", json={"query": QUERY, "variables": {"g": "g-rec", "p": player}},
                             headers=bearer(token("analyst", ["g-rec"])))
            body = ok.json()
            assert "errors" not in body, body
            recs = body["data"]["recommendations"]
            assert recs["strategy"] == "personal" and recs["modelVersion"] == trained.model_id
            assert len(recs["items"]) == 3 and not set(trained.matrix.owned_by(player)) & {
                i["itemId"] for i in recs["items"]}
            assert len(body["data"]["similarPlayers"]["players"]) == 2
            # both reads of the player's data are in the audit log, by keyed hash (issue 21, item 7)
            with db.connect(settings, autocommit=True) as conn:
                audited = conn.execute("SELECT action, game_id, subject FROM audit_log ORDER BY seq").fetchall()
            subject = PlayerHasher.of(settings)("g-rec", player)
            assert {("graphql.recommendations_read", "g-rec", subject),
                    ("graphql.similar_players_read", "g-rec", subject)} <= set(audited)
            other = client.post("/graphql", json={"query": QUERY, "variables": {"g": "g-rec", "p": player}},
                                headers=bearer(token("analyst", ["another-game"])))
            assert other.json()["data"] is None
            assert {e["extensions"]["code"] for e in other.json()["errors"]} == {"FORBIDDEN"}
