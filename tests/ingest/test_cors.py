"""ingest.cors: the configured origins, the cached preflight, no credentials (an ASGI app in process)."""

from __future__ import annotations

import asyncio

import httpx

from ingest.cors import with_cors
from ingest.settings import IngestSettings


async def ok(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}"})


def call(app, method: str, headers: dict[str, str]) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest") as client:
            return await client.request(method, "/v1/events", headers=headers)
    return asyncio.run(go())


PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}


def test_any_origin_by_default_with_a_cached_preflight():
    app = with_cors(ok, IngestSettings())
    response = call(app, "OPTIONS", {"Origin": "https://anywhere.example", **PREFLIGHT})
    assert response.status_code == 200 and response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-max-age"] == "86400"
    assert call(app, "POST", {}).headers.get("access-control-allow-origin") is None  # no Origin: untouched


def test_configured_origins_only():
    app = with_cors(ok, IngestSettings(cors_origins=("https://mygame.example",), cors_max_age_s=60))
    allowed = call(app, "OPTIONS", {"Origin": "https://mygame.example", **PREFLIGHT})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "https://mygame.example"
    assert allowed.headers["access-control-max-age"] == "60"
    assert call(app, "OPTIONS", {"Origin": "https://other.example", **PREFLIGHT}).status_code == 400
    post = call(app, "POST", {"Origin": "https://other.example"})
    assert "access-control-allow-origin" not in post.headers
