"""The vector store: item and player vectors of each game's models in Qdrant, behind aliases.

Names (``ns`` is the deployment's database schema, so tests and tenants never share collections):

    {ns}__models                               one point per trained model: its metadata (payload)
    {ns}__{game}__items__{model_id}            item vectors (DOT: the score is the SVD reconstruction)
    {ns}__{game}__players__{model_id}          player vectors (COSINE: similar players)
    {ns}__{game}__items, {ns}__{game}__players the aliases the API and the worker read and write

A new model is written to new collections, then both aliases move to them in one atomic
``update_collection_aliases`` request, so a reader sees the old model or the new one, never
neither. Point ids are uuid5 of (game, item or player id): the worker and ``forget`` address a
player without a lookup.

The same code runs on the embedded store (``GAMEMETRICS_QDRANT_URL`` empty: a folder under the state
dir, held by one process at a time, the recommender service; Qdrant's engine in-process by
default, ``recommender.edge``, or qdrant-client's local mode) and on a Qdrant server. Client errors
are translated into ``VectorStoreError`` here.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from qdrant_client import AsyncQdrantClient, models

from gamemetrics.redact import redact
from gamemetrics.settings import Settings
from recommender.errors import LocalStorageBusy, VectorStoreError
from recommender.settings import RecommenderSettings

ID_NAMESPACE = uuid.UUID("6f1d2c1e-8a53-4f0e-9b0c-5d1f4a8e7c21")
UPSERT_BATCH = 1_000
UPSERT_IN_FLIGHT = 4  # batches written to a Qdrant server at once
ITEM_INDEXES = ("game_id", "item_id", "kind", "price_band", "model_version")
PLAYER_INDEXES = ("game_id", "player_id", "platform", "country", "model_version")
_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def point_id(game_id: str, key: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"{game_id}/{key}"))


def safe_name(text: str) -> str:
    return _SAFE.sub("_", text)


@dataclass(frozen=True)
class Names:
    namespace: str

    @property
    def models(self) -> str:
        return f"{self.namespace}__models"

    def alias(self, game_id: str, role: str) -> str:
        return f"{self.namespace}__{safe_name(game_id)}__{role}"

    def collection(self, game_id: str, role: str, model_id: str) -> str:
        return f"{self.alias(game_id, role)}__{model_id}"

    def model_of(self, collection: str) -> str:
        return collection.rsplit("__", 1)[1]


@dataclass(frozen=True)
class PlayerPoint:
    player_id: str
    vector: np.ndarray | None
    payload: dict[str, Any]

    @property
    def owned(self) -> list[str]:
        return list(self.payload.get("owned") or [])

    @property
    def history(self) -> dict[str, float]:
        return dict(zip(self.payload.get("history_items") or [], self.payload.get("history_weights") or [], strict=False))


@dataclass(frozen=True)
class ItemVectors:
    """A model's items, for fold-in: ids, kinds, vectors (items x factors)."""

    model_id: str
    item_ids: np.ndarray
    kinds: np.ndarray
    vectors: np.ndarray


def open_client(settings: Settings, rec: RecommenderSettings) -> Any:
    """A client on the Qdrant server of ``GAMEMETRICS_QDRANT_URL``, else on the embedded store under the
    state dir: Qdrant's engine in-process (``recommender.edge``, the default) or qdrant-client's local mode."""
    try:
        if settings.qdrant_url:
            return AsyncQdrantClient(**server_client_options(settings, rec))
        if rec.embedded_engine == "edge":
            from recommender.edge import EdgeClient

            return EdgeClient(settings.state_dir.expanduser().resolve() / "qdrant-edge")
        path = settings.state_dir.expanduser().resolve() / "qdrant"
        path.mkdir(parents=True, exist_ok=True)
        return AsyncQdrantClient(path=str(path))
    except RuntimeError as exc:  # local mode: "Storage folder ... is already accessed by another instance"
        raise LocalStorageBusy(
            f"the Qdrant local-mode folder {settings.state_dir}/qdrant is held by another process (local mode is "
            "one process at a time: stop it, or run a Qdrant server and set GAMEMETRICS_QDRANT_URL): " + str(exc)
        ) from exc


def server_client_options(settings: Settings, rec: RecommenderSettings) -> dict[str, Any]:
    """The ``AsyncQdrantClient`` options of the server of ``GAMEMETRICS_QDRANT_URL``: its API key, TLS
    (an https URL; ``qdrant_ca_file`` verifies the server against a private CA), gRPC if preferred."""
    options: dict[str, Any] = {
        "url": settings.qdrant_url, "timeout": int(rec.qdrant_timeout_s) or 1, "prefer_grpc": rec.qdrant_prefer_grpc,
        "grpc_port": rec.qdrant_grpc_port,
        # the bundled server is 1.18; a newer client only warns about the minor-version gap
        "check_compatibility": False,
    }
    key = settings.qdrant_api_key.get_secret_value()
    if key:
        options["api_key"] = key
    if settings.qdrant_url.startswith("https://"):
        options["https"] = True
        if settings.qdrant_ca_file is not None:
            options["verify"] = str(settings.qdrant_ca_file)  # REST (httpx); gRPC uses the system CAs
    return options


def _chunks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


class VectorStore:
    """The recommender's collections of one deployment (``namespace``) on one Qdrant client."""

    def __init__(self, client: Any, namespace: str, local: bool, embedded: bool | None = None) -> None:
        self.client = client
        self.names = Names(namespace)
        self.local = local  # qdrant-client local mode: no payload indexes, filters applied here
        self.embedded = local if embedded is None else embedded  # one process's store (edge or local mode)

    @classmethod
    def open(cls, settings: Settings, rec: RecommenderSettings) -> VectorStore:
        embedded = not settings.qdrant_url
        return cls(open_client(settings, rec), safe_name(settings.database_schema),
                   embedded and rec.embedded_engine == "local", embedded)

    async def close(self) -> None:
        await self.client.close()

    async def _call(self, what: str, coro: Any) -> Any:
        try:
            return await coro
        except VectorStoreError:
            raise
        except Exception as exc:  # qdrant_client raises httpx, grpc, ValueError and its own UnexpectedResponse
            raise VectorStoreError(redact(f"Qdrant: {what} failed: {type(exc).__name__}: {exc}")) from exc

    # -- models --------------------------------------------------------------------------------

    async def ensure_models_collection(self) -> None:
        name = self.names.models
        if not await self._call("collection_exists", self.client.collection_exists(name)):
            await self._call("create models collection", self.client.create_collection(
                name, vectors_config=models.VectorParams(size=1, distance=models.Distance.DOT)))
            await self._index(name, ("game_id", "model_id"))

    async def _index(self, collection: str, fields: Sequence[str]) -> None:
        if self.local:  # local mode has no payload indexes (it filters by scanning)
            return
        for field in fields:
            await self._call(f"index {collection}.{field}", self.client.create_payload_index(
                collection, field, field_schema=models.PayloadSchemaType.KEYWORD, wait=True))

    async def create_model_collections(self, game_id: str, model_id: str, factors: int) -> None:
        for role, distance, indexes in (("items", models.Distance.DOT, ITEM_INDEXES),
                                        ("players", models.Distance.COSINE, PLAYER_INDEXES)):
            name = self.names.collection(game_id, role, model_id)
            await self._call(f"create {name}", self.client.create_collection(
                name, vectors_config=models.VectorParams(size=factors, distance=distance),
                on_disk_payload=False))
            await self._index(name, indexes)

    async def upsert(self, collection: str, ids: Sequence[str], vectors: np.ndarray,
                     payloads: Sequence[dict[str, Any]], progress: Any = None) -> None:
        """Write points in batches of UPSERT_BATCH; to a server, UPSERT_IN_FLIGHT batches at a time (its
        writes are parallel; one at a time, each batch waited a round trip and the server idled)."""
        in_flight = 1 if self.embedded else UPSERT_IN_FLIGHT
        gate = asyncio.Semaphore(in_flight)

        async def one(part: slice) -> None:
            async with gate:
                await self._call(f"upsert into {collection}", self.client.upsert(
                    collection, points=models.Batch(ids=list(ids[part]), vectors=vectors[part].tolist(),
                                                    payloads=list(payloads[part])), wait=True))
                if progress is not None:
                    progress.update(part.stop - part.start)

        parts = list(_chunks(len(ids), UPSERT_BATCH))
        for start in range(0, len(parts), in_flight * 4):  # a bounded number of pending tasks
            await asyncio.gather(*(one(part) for part in parts[start:start + in_flight * 4]))

    async def save_model_meta(self, game_id: str, model_id: str, meta: dict[str, Any]) -> None:
        await self.ensure_models_collection()
        await self._call("save model metadata", self.client.upsert(self.names.models, points=[models.PointStruct(
            id=point_id(game_id, f"model/{model_id}"), vector=[1.0],
            payload={**meta, "game_id": game_id, "model_id": model_id})], wait=True))

    async def model_meta(self, game_id: str, model_id: str) -> dict[str, Any] | None:
        await self.ensure_models_collection()
        found = await self._call("read model metadata", self.client.retrieve(
            self.names.models, [point_id(game_id, f"model/{model_id}")], with_payload=True))
        return dict(found[0].payload or {}) if found else None

    async def list_models(self, game_id: str) -> list[dict[str, Any]]:
        await self.ensure_models_collection()
        points, _ = await self._call("list models", self.client.scroll(
            self.names.models, scroll_filter=_match("game_id", game_id), limit=1000, with_payload=True))
        return sorted((dict(p.payload or {}) for p in points), key=lambda m: m.get("trained_at", ""))

    async def swap(self, game_id: str, model_id: str) -> None:
        """Point both aliases of the game at ``model_id``'s collections in one atomic request."""
        current = await self._aliases()
        ops: list[Any] = []
        for role in ("items", "players"):
            alias = self.names.alias(game_id, role)
            if alias in current:
                ops.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
            ops.append(models.CreateAliasOperation(create_alias=models.CreateAlias(
                collection_name=self.names.collection(game_id, role, model_id), alias_name=alias)))
        await self._call("swap aliases", self.client.update_collection_aliases(change_aliases_operations=ops))

    async def _aliases(self) -> dict[str, str]:
        response = await self._call("list aliases", self.client.get_aliases())
        return {a.alias_name: a.collection_name for a in response.aliases}

    async def live_model_id(self, game_id: str) -> str | None:
        target = (await self._aliases()).get(self.names.alias(game_id, "items"))
        return self.names.model_of(target) if target else None

    async def game_collections(self, game_id: str, role: str) -> list[str]:
        prefix = self.names.alias(game_id, role) + "__"
        response = await self._call("list collections", self.client.get_collections())
        return sorted(c.name for c in response.collections if c.name.startswith(prefix))

    async def drop_models(self, game_id: str, keep: int) -> list[str]:
        """Delete all but the ``keep`` newest model versions of a game (never the live one)."""
        live = await self.live_model_id(game_id)
        versions = sorted({self.names.model_of(c) for role in ("items", "players")
                           for c in await self.game_collections(game_id, role)})
        doomed = [v for v in versions[: max(0, len(versions) - keep)] if v != live]
        for model_id in doomed:
            for role in ("items", "players"):
                await self._call("drop old model", self.client.delete_collection(
                    self.names.collection(game_id, role, model_id)))
        return doomed

    # -- reads and writes of the live model ----------------------------------------------------

    async def player(self, game_id: str, player_id: str, with_vector: bool = True) -> PlayerPoint | None:
        found = await self._call("read player", self.client.retrieve(
            self.names.alias(game_id, "players"), [point_id(game_id, player_id)], with_payload=True,
            with_vectors=with_vector))
        if not found:
            return None
        vector = np.asarray(found[0].vector, dtype=np.float32) if with_vector and found[0].vector is not None else None
        return PlayerPoint(player_id, vector, dict(found[0].payload or {}))

    async def players(self, game_id: str, player_ids: Sequence[str]) -> dict[str, PlayerPoint]:
        """The stored points of some players (payload only), by player id; unknown ones are absent."""
        found = await self._call("read players", self.client.retrieve(
            self.names.alias(game_id, "players"), [point_id(game_id, p) for p in player_ids], with_payload=True,
            with_vectors=False))
        out = {}
        for p in found:
            payload = dict(p.payload or {})
            out[payload.get("player_id", "")] = PlayerPoint(payload.get("player_id", ""), None, payload)
        return out

    async def upsert_players(self, game_id: str, points: Sequence[tuple[str, np.ndarray, dict[str, Any]]]) -> None:
        await self._call("upsert players", self.client.upsert(self.names.alias(game_id, "players"), points=[
            models.PointStruct(id=point_id(game_id, player), vector=vector.tolist(), payload=payload)
            for player, vector, payload in points], wait=True))

    async def upsert_player(self, game_id: str, player_id: str, vector: np.ndarray, payload: dict[str, Any]) -> None:
        await self._call("upsert player", self.client.upsert(self.names.alias(game_id, "players"), points=[
            models.PointStruct(id=point_id(game_id, player_id), vector=vector.tolist(), payload=payload)], wait=True))

    async def search_items(self, game_id: str, vector: np.ndarray, k: int, exclude: Sequence[str] = (),
                           kind: str = "item", others: int = 0) -> list[tuple[str, float]]:
        """The ``k`` best items of ``kind`` for ``vector``, without ``exclude``. ``others``: how many
        points of other kinds the collection holds (local mode over-fetches by that instead of filtering)."""
        return (await self.search_items_many(game_id, [(vector, exclude)], k, kind, others))[0]

    async def search_items_many(self, game_id: str, queries: Sequence[tuple[np.ndarray, Sequence[str]]], k: int,
                                kind: str = "item", others: int = 0) -> list[list[tuple[str, float]]]:
        """``search_items`` for several (vector, excluded items) at once (one request).

        A server filters by payload (indexed). Local mode evaluates a filter in Python point by point
        (~40 µs each: 80 ms for 2,000 items), so there the query is unfiltered, over-fetched by the
        excluded and other-kind points, and filtered here."""
        alias = self.names.alias(game_id, "items")
        if self.local:
            requests = [models.QueryRequest(query=vector.tolist(), limit=k + len(exclude) + others,
                                            with_payload=["item_id", "kind"]) for vector, exclude in queries]
        else:
            requests = [models.QueryRequest(query=vector.tolist(), filter=_item_filter(kind, exclude), limit=k,
                                            with_payload=["item_id", "kind"]) for vector, exclude in queries]
        responses = await self._call("search items", self.client.query_batch_points(alias, requests=requests))
        out = []
        for (_, exclude), response in zip(queries, responses, strict=True):
            blocked = set(exclude)
            found = [(str(p.payload["item_id"]), float(p.score)) for p in response.points
                     if p.payload.get("kind") == kind and p.payload["item_id"] not in blocked]
            out.append(found[:k])
        return out

    async def search_players(self, game_id: str, vector: np.ndarray, k: int, exclude: str) -> list[tuple[str, float]]:
        """The ``k`` nearest players but ``exclude`` (asked for k + 1 and dropped here: a has-id filter
        is a Python scan in local mode)."""
        response = await self._call("search players", self.client.query_points(
            self.names.alias(game_id, "players"), query=vector.tolist(), limit=k + 1, with_payload=["player_id"]))
        found = [(str(p.payload["player_id"]), float(p.score)) for p in response.points]
        return [(p, score) for p, score in found if p != exclude][:k]

    async def item_vectors(self, game_id: str) -> ItemVectors | None:
        """Every item of the live model with its vector (the worker's fold-in basis)."""
        model_id = await self.live_model_id(game_id)
        if model_id is None:
            return None
        collection = self.names.collection(game_id, "items", model_id)
        ids, kinds, vectors = [], [], []
        offset = None
        while True:
            points, offset = await self._call("read item vectors", self.client.scroll(
                collection, limit=1000, offset=offset, with_payload=["item_id", "kind"], with_vectors=True))
            for p in points:
                ids.append(p.payload["item_id"])
                kinds.append(p.payload["kind"])
                vectors.append(p.vector)
            if offset is None:
                break
        return ItemVectors(model_id, np.array(ids, dtype=object), np.array(kinds, dtype=object),
                           np.asarray(vectors, dtype=np.float32))

    async def delete_player(self, game_id: str, player_id: str) -> int:
        """Remove the player's point from every model version of the game; the number removed."""
        pid = point_id(game_id, player_id)
        removed = 0
        for collection in await self.game_collections(game_id, "players"):
            found = await self._call("find player", self.client.retrieve(collection, [pid], with_payload=False))
            if found:
                await self._call("delete player", self.client.delete(
                    collection, points_selector=models.PointIdsList(points=[pid]), wait=True))
                removed += 1
        return removed

    async def player_payloads(self, game_id: str, player_id: str) -> list[dict[str, Any]]:
        """What every model version of the game holds on the player (its point's payload), for an export."""
        pid = point_id(game_id, player_id)
        out = []
        for collection in await self.game_collections(game_id, "players"):
            for point in await self._call("find player", self.client.retrieve(collection, [pid], with_payload=True)):
                out.append({"collection": collection, **(point.payload or {})})
        return out

    async def count_player(self, game_id: str, player_id: str) -> int:
        pid = point_id(game_id, player_id)
        total = 0
        for collection in await self.game_collections(game_id, "players"):
            total += len(await self._call("find player", self.client.retrieve(collection, [pid], with_payload=False)))
        return total


def _item_filter(kind: str, exclude: Sequence[str]) -> models.Filter:
    return models.Filter(
        must=[models.FieldCondition(key="kind", match=models.MatchValue(value=kind))],
        must_not=[models.FieldCondition(key="item_id", match=models.MatchAny(any=list(exclude)))] if exclude else None,
    )


def _match(key: str, value: str) -> models.Filter:
    return models.Filter(must=[models.FieldCondition(key=key, match=models.MatchValue(value=value))])
