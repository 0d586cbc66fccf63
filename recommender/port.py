"""The vector-store port: what training, forget, export and `recommender models` need of the store,
with two implementations chosen from the settings by ``open_store``:

    direct       recommender.vectors.VectorStore on its own client: a Qdrant server
                 (GAMEMETRICS_QDRANT_URL set; every role is its own process or pod), or the embedded
                 store when no recommender service holds it (nothing else runs)
    via service  ServiceStore: the same calls as HTTP requests to the admin API of the recommender
                 service that owns the embedded store (recommender.admin), with a short-lived admin
                 token minted from the token settings; the service checks the role and audits

The embedded store is one process's (a folder is opened by one process at a time), so while
`gamemetrics serve recommender` runs it is the owner: it serves, folds new play in, and runs the
writes of `recommender train` and the erases and exports of retention for them.

    open_store(settings, rec, tokens) -> StorePort      (a server URL -> direct; else the service if it
                                                         answers, else direct)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import quote

import httpx
import numpy as np
import orjson

from gamemetrics.settings import Settings, TokenSettings
from gamemetrics.tokens import issue_token
from recommender.errors import VectorStoreError
from recommender.settings import RecommenderSettings
from recommender.vectors import Names, VectorStore, safe_name

ADMIN = "/v1/admin/games"


def _q(segment: str) -> str:
    return quote(segment, safe="")


class StorePort(Protocol):
    """The store operations of training (publish), forget, export and the models listing."""

    names: Names

    async def create_model_collections(self, game_id: str, model_id: str, factors: int) -> None: ...
    async def upsert(self, collection: str, ids: Sequence[str], vectors: np.ndarray,
                     payloads: Sequence[dict[str, Any]], progress: Any = None) -> None: ...
    async def save_model_meta(self, game_id: str, model_id: str, meta: dict[str, Any]) -> None: ...
    async def swap(self, game_id: str, model_id: str) -> None: ...
    async def drop_models(self, game_id: str, keep: int) -> list[str]: ...
    async def live_model_id(self, game_id: str) -> str | None: ...
    async def list_models(self, game_id: str) -> list[dict[str, Any]]: ...
    async def player_payloads(self, game_id: str, player_id: str) -> list[dict[str, Any]]: ...
    async def count_player(self, game_id: str, player_id: str) -> int: ...
    async def delete_player(self, game_id: str, player_id: str) -> int: ...
    async def close(self) -> None: ...


class ServiceStore:
    """``StorePort`` through the admin API of the recommender service that owns the embedded store."""

    def __init__(self, client: httpx.AsyncClient, namespace: str, rec: RecommenderSettings) -> None:
        self._client = client
        self.names = Names(namespace)
        self._batch = rec.admin_upsert_batch
        self.via = str(client.base_url)

    @classmethod
    def connect(cls, settings: Settings, rec: RecommenderSettings, tokens: TokenSettings,
                transport: httpx.AsyncBaseTransport | None = None, subject: str = "recommender-cli") -> ServiceStore:
        token = issue_token(tokens, "admin", ["*"], timedelta(seconds=rec.admin_token_ttl_s), subject=subject)
        client = httpx.AsyncClient(base_url=rec.service_url, transport=transport, timeout=max(rec.qdrant_timeout_s, 60.0),
                                   headers={"Authorization": f"Bearer {token}"})
        return cls(client, safe_name(settings.database_schema), rec)

    async def close(self) -> None:
        await self._client.aclose()

    async def _request(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise VectorStoreError(f"the recommender service at {self.via} (owner of the embedded store): {what} "
                                   f"failed: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise VectorStoreError(f"the recommender service at {self.via} refused {what}: HTTP "
                                   f"{response.status_code} {response.text[:500]}")
        return orjson.loads(response.content) if response.content else None

    async def create_model_collections(self, game_id: str, model_id: str, factors: int) -> None:
        await self._request("POST", f"{ADMIN}/{_q(game_id)}/models/{model_id}/collections", "create collections",
                            json={"factors": factors})

    async def upsert(self, collection: str, ids: Sequence[str], vectors: np.ndarray,
                     payloads: Sequence[dict[str, Any]], progress: Any = None) -> None:
        for start in range(0, len(ids), self._batch):
            stop = min(start + self._batch, len(ids))
            body = orjson.dumps({"ids": list(ids[start:stop]), "vectors": np.asarray(vectors[start:stop], dtype=np.float32),
                                 "payloads": list(payloads[start:stop])}, option=orjson.OPT_SERIALIZE_NUMPY)
            await self._request("POST", f"/v1/admin/collections/{collection}/points", "upsert", content=body,
                                headers={"Content-Type": "application/json"})
            if progress is not None:
                progress.update(stop - start)

    async def save_model_meta(self, game_id: str, model_id: str, meta: dict[str, Any]) -> None:
        await self._request("PUT", f"{ADMIN}/{_q(game_id)}/models/{model_id}/meta", "save model metadata",
                            content=orjson.dumps(meta), headers={"Content-Type": "application/json"})

    async def swap(self, game_id: str, model_id: str) -> None:
        await self._request("POST", f"{ADMIN}/{_q(game_id)}/models/{model_id}/live", "make the model live")

    async def drop_models(self, game_id: str, keep: int) -> list[str]:
        return list(await self._request("POST", f"{ADMIN}/{_q(game_id)}/models/drop", "drop old models",
                                        params={"keep": keep}))

    async def live_model_id(self, game_id: str) -> str | None:
        return (await self._request("GET", f"{ADMIN}/{_q(game_id)}/models", "list models"))["live"]

    async def list_models(self, game_id: str) -> list[dict[str, Any]]:
        return list((await self._request("GET", f"{ADMIN}/{_q(game_id)}/models", "list models"))["models"])

    async def player_payloads(self, game_id: str, player_id: str) -> list[dict[str, Any]]:
        return list(await self._request("GET", f"{ADMIN}/{_q(game_id)}/players/{_q(player_id)}", "export the player"))

    async def count_player(self, game_id: str, player_id: str) -> int:
        return len(await self.player_payloads(game_id, player_id))

    async def delete_player(self, game_id: str, player_id: str) -> int:
        """The player's points removed from every model version (through the service's audited erase,
        which also drops their cached answers); the number removed."""
        return int((await self.forget(game_id, player_id)).get("qdrant_points", 0))

    async def forget(self, game_id: str, player_id: str) -> dict[str, int]:
        """The service's erase: the player's points in every model version and their cached answers."""
        return dict(await self._request("DELETE", f"/v1/players/{_q(player_id)}", "forget the player",
                                        params={"game_id": game_id}))


def service_answers(rec: RecommenderSettings) -> bool:
    """True when the recommender service at ``rec.service_url`` answers its health check."""
    try:
        return httpx.get(f"{rec.service_url}/healthz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def open_store(settings: Settings, rec: RecommenderSettings, tokens: TokenSettings,
               subject: str = "recommender-cli") -> VectorStore | ServiceStore:
    """The store of these settings: a Qdrant server directly; the embedded store through the service that
    owns it while it runs, else directly (nothing else holds it)."""
    if settings.qdrant_url or not service_answers(rec):
        return VectorStore.open(settings, rec)
    return ServiceStore.connect(settings, rec, tokens, subject=subject)
