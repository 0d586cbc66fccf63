"""OpenAPI description of the ingest API: request and response models, examples, event types.

The handler parses the body itself (so one bad event never rejects the request); these models
only document the contract at /docs and /openapi.json.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from schemas.event_types import STANDARD_EVENT_TYPES

PropertyValue = str | int | float | bool


class EventIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "0b1e4c53-5d7e-4a6b-9a0a-2b8f6f1f6d7e",
                    "event_type": "purchase",
                    "player_id": "p-42",
                    "ts": "2026-11-22T10:00:00Z",
                    "session_id": "s-9",
                    "platform": "ios",
                    "app_version": "1.4.2",
                    "country": "DE",
                    "properties": {"item_id": "gem-pack-1", "amount": 4.99, "currency": "EUR"},
                }
            ]
        }
    )

    event_id: UUID = Field(description="Made by the client; a retry must reuse it.")
    event_type: str = Field(description="A standard type (see the operation's description) or custom.<name>.")
    player_id: str = Field(min_length=1, max_length=128)
    ts: str | int = Field(description="Event time: RFC 3339 with offset, or epoch milliseconds.")
    session_id: str | None = Field(None, max_length=128)
    platform: str | None = Field(None, max_length=128)
    app_version: str | None = Field(None, max_length=128)
    country: str | None = Field(None, description="ISO 3166-1 alpha-2.", min_length=2, max_length=2)
    properties: dict[str, PropertyValue] = Field(default_factory=dict, description="Flat map, at most 64 keys.")


class EventsRequest(BaseModel):
    sent_at: str | int | None = Field(
        None, description="Client time when the request was sent; used to correct client clock skew."
    )
    events: list[EventIn] = Field(max_length=1000)


class Rejected(BaseModel):
    index: int = Field(description="Position of the event in the request.")
    event_id: str | None
    errors: list[str] = Field(description="Every problem, each naming the field: `events[3].ts: ...`.")


class EventsResponse(BaseModel):
    accepted: int = Field(description="Events stored in Kafka.")
    rejected: list[Rejected]


class ErrorResponse(BaseModel):
    error: str


def event_types_markdown() -> str:
    lines = ["| event_type | required properties |", "|---|---|"]
    for name, props in STANDARD_EVENT_TYPES.items():
        required = ", ".join(f"`{p.name}` ({p.must_be})" for p in props) or "none"
        lines.append(f"| `{name}` | {required} |")
    lines.append("| `custom.<name>` | free |")
    return "\n".join(lines)


POST_EVENTS_DESCRIPTION = f"""
Send a batch of telemetry events. Good events are accepted even when others are rejected; the
answer is sent only after Kafka acknowledged every accepted event. Authenticate with
`Authorization: Bearer <api key>` or `X-API-Key`. The body may be gzip-encoded
(`Content-Encoding: gzip`).

Standard event types:

{event_types_markdown()}
"""

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Malformed JSON, no `events` array, or a bad `sent_at`."},
    401: {"model": ErrorResponse, "description": "Missing, unknown or expired API key."},
    413: {"model": ErrorResponse, "description": "Body (after gunzip) or event count over the limit."},
    415: {"model": ErrorResponse, "description": "Not JSON, or a Content-Encoding other than gzip."},
    429: {"model": ErrorResponse, "description": "The game's event budget is spent; see Retry-After."},
    503: {"model": ErrorResponse, "description": "Kafka is unavailable; nothing was accepted. Retry after Retry-After with the same event ids."},
}


def request_body_openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    """The requestBody object and the component schemas it refers to."""
    schema = EventsRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    components["EventsRequest"] = schema
    body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/EventsRequest"},
                "example": {
                    "sent_at": "2026-11-22T10:00:05Z",
                    "events": EventIn.model_config["json_schema_extra"]["examples"],  # type: ignore[index]
                },
            }
        },
    }
    return body, components
