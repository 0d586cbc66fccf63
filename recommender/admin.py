"""The admin API of the recommender service: the store operations of training, export and the
models listing, run by the service on the store it owns (the embedded store is one process's; see
recommender.port, whose ServiceStore calls these). Every route needs an admin token; the ones that
change what players are served or read a player's data are written to the audit log.

    POST /v1/admin/games/{game}/models/{model}/collections   {"factors": n}       audited
    POST /v1/admin/collections/{collection}/points           {"ids", "vectors", "payloads"} (token for '*')
    PUT  /v1/admin/games/{game}/models/{model}/meta          the model's metadata
    POST /v1/admin/games/{game}/models/{model}/live          the alias swap                audited
    POST /v1/admin/games/{game}/models/drop?keep=n           old versions dropped          audited
    GET  /v1/admin/games/{game}/models                       {"live": id, "models": [...]}
    GET  /v1/admin/games/{game}/players/{player}             the player's payloads (export) audited
    (DELETE /v1/players/{player}?game_id= in app.py: the erase, audited)
"""


# no `from __future__ import annotations`: FastAPI reads the routes' Annotated[..., Depends(caller)] at
# definition time, and ``caller`` is a local of admin_router
import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import numpy as np
import orjson
import structlog
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from gamemetrics.errors import TokenNotPermitted
from gamemetrics.settings import Settings
from gamemetrics.tokens import Principal

log = structlog.get_logger("recommender.admin")


def audit_writer(settings: Settings) -> Callable[[str, str, str | None, str | None, dict[str, Any]], Awaitable[None]]:
    """An async ``audit(actor, action, game_id, player_id, detail)`` appending to the store's audit log
    (the player as its keyed hash), in a thread (psycopg is synchronous)."""
    from store import db
    from store.audit import AuditLog
    from store.privacy import PlayerHasher

    log_, hasher = AuditLog.of(settings), PlayerHasher.of(settings)

    def append(actor: str, action: str, game_id: str | None, player_id: str | None, detail: dict[str, Any]) -> None:
        with db.connect(settings, autocommit=True) as conn:
            log_.append(conn, actor, action, game_id, hasher(game_id, player_id) if game_id and player_id else None,
                        detail)

    async def audit(actor: str, action: str, game_id: str | None, player_id: str | None, detail: dict[str, Any]) -> None:
        await asyncio.to_thread(append, actor, action, game_id, player_id, detail)
        log.info("admin_action", actor=actor, action=action, game_id=game_id, **detail)

    return audit


def admin_router(caller: Callable[..., Any], http_error: type[Exception]) -> APIRouter:
    """The routes; ``caller`` is the app's token dependency, ``http_error(status, detail)`` its error."""
    router = APIRouter(prefix="/v1/admin", include_in_schema=True, tags=["admin"])

    def admin(principal: Principal, action: str, game_id: str | None) -> None:
        try:
            principal.require_admin(action, game_id)
        except TokenNotPermitted as exc:
            raise http_error(403, str(exc)) from exc

    def services(request: Request) -> Any:
        return request.app.state.services

    async def body_of(request: Request) -> Any:
        try:
            return orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise http_error(400, f"the body is not JSON: {exc}") from exc

    @router.post("/games/{game_id}/models/{model_id}/collections", summary="Create a model's collections")
    async def create_collections(request: Request, game_id: str, model_id: str,
                                 principal: Annotated[Principal, Depends(caller)]) -> dict[str, str]:
        admin(principal, "creating a model", game_id)
        body = await body_of(request)
        factors = body.get("factors") if isinstance(body, dict) else None
        if not isinstance(factors, int) or factors < 1:
            raise http_error(400, f"the body must be {{\"factors\": <positive int>}}, not {body!r}"[:300])
        s = services(request)
        await s.store.create_model_collections(game_id, model_id, factors)
        await s.audit(f"token:{principal.subject}", "recommender.model_create", game_id, None,
                      {"model_id": model_id, "factors": factors})
        return {"model_id": model_id}

    @router.post("/collections/{collection}/points", summary="Write points into a model's collection")
    async def upsert(request: Request, collection: str, principal: Annotated[Principal, Depends(caller)]) -> dict[str, int]:
        admin(principal, "writing vectors", None)
        s = services(request)
        if not collection.startswith(s.store.names.namespace + "__") or collection.count("__") < 3:
            raise http_error(400, f"collection {collection!r} is not a model collection of this deployment "
                                  f"(namespace {s.store.names.namespace!r})")
        body = await body_of(request)
        try:
            ids, payloads = list(body["ids"]), list(body["payloads"])
            vectors = np.asarray(body["vectors"], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as exc:
            raise http_error(400, f"the body must be {{ids, vectors, payloads}}: {exc}") from exc
        if not (len(ids) == len(payloads) == len(vectors)):
            raise http_error(400, f"ids ({len(ids)}), vectors ({len(vectors)}) and payloads ({len(payloads)}) differ in length")
        await s.store.upsert(collection, ids, vectors, payloads)
        return {"points": len(ids)}

    @router.put("/games/{game_id}/models/{model_id}/meta", summary="Save a model's metadata")
    async def save_meta(request: Request, game_id: str, model_id: str,
                        principal: Annotated[Principal, Depends(caller)]) -> dict[str, str]:
        admin(principal, "saving a model", game_id)
        await services(request).store.save_model_meta(game_id, model_id, await body_of(request))
        return {"model_id": model_id}

    @router.post("/games/{game_id}/models/{model_id}/live", summary="Make a model live (alias swap)")
    async def make_live(request: Request, game_id: str, model_id: str,
                        principal: Annotated[Principal, Depends(caller)]) -> dict[str, str]:
        admin(principal, "making a model live", game_id)
        s = services(request)
        await s.store.swap(game_id, model_id)
        await s.audit(f"token:{principal.subject}", "recommender.model_live", game_id, None, {"model_id": model_id})
        return {"live": model_id}

    @router.post("/games/{game_id}/models/drop", summary="Drop model versions beyond the newest keep")
    async def drop(request: Request, game_id: str, principal: Annotated[Principal, Depends(caller)],
                   keep: Annotated[int, Query(ge=1)]) -> list[str]:
        admin(principal, "dropping models", game_id)
        s = services(request)
        dropped = await s.store.drop_models(game_id, keep)
        if dropped:
            await s.audit(f"token:{principal.subject}", "recommender.models_dropped", game_id, None, {"dropped": dropped})
        return dropped

    @router.get("/games/{game_id}/models", summary="A game's model versions and the live one")
    async def models(request: Request, game_id: str, principal: Annotated[Principal, Depends(caller)]) -> dict[str, Any]:
        admin(principal, "listing models", game_id)
        store = services(request).store
        return {"live": await store.live_model_id(game_id), "models": await store.list_models(game_id)}

    @router.get("/games/{game_id}/players/{player_id}", summary="What the recommender holds on a player (export)")
    async def export(request: Request, game_id: str, player_id: str,
                     principal: Annotated[Principal, Depends(caller)]) -> Response:
        admin(principal, "exporting a player", game_id)
        s = services(request)
        rows = await s.store.player_payloads(game_id, player_id)
        await s.audit(f"token:{principal.subject}", "recommender.export", game_id, player_id, {"rows": len(rows)})
        return Response(orjson.dumps(rows), media_type="application/json")

    return router
