"""CORS in front of the ingest app, so HTML5/WebGL games can post from their own origin.

Any origin is allowed by default, as the hosted collectors do: the API key (or the GameAnalytics
HMAC) authenticates a request, not its origin, and a browser game is served from wherever its
studio hosts it. ``GAMEMETRICS_INGEST_CORS_ORIGINS`` narrows it to a list. A preflight is answered
once and cached by the browser for ``cors_max_age_s``. No credentials (cookies) are ever allowed.

Starlette's CORSMiddleware does the work; a request without an Origin header (every game client
but a browser) passes through it untouched.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from ingest.settings import IngestSettings

# What a browser client sends: our key headers, Segment's Basic auth, GameAnalytics' HMAC, gzip, the flag
ALLOWED_HEADERS = ("Authorization", "Content-Type", "Content-Encoding", "X-API-Key", "X-GameMetrics-Validate-Only")
EXPOSED_HEADERS = ("Retry-After",)


def with_cors(app: ASGIApp, ingest: IngestSettings) -> ASGIApp:
    """``app`` behind CORS as ``ingest`` configures it."""
    origins = list(ingest.cors_origins)
    return CORSMiddleware(
        app,
        allow_origins=origins,
        allow_methods=("GET", "POST", "OPTIONS"),
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        allow_credentials=False,
        max_age=ingest.cors_max_age_s,
    )
