"""``eventCounts(filter: ...)``: counts from player_events restricted by platform, country, app
version and an event property, checked against the rows inserted here (worked out by hand)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from store import db
from tests.graphql_api.conftest import api_client, bearer

pytestmark = pytest.mark.integration

GAME = "filter-game"
T0 = datetime(2026, 9, 7, 10, 0, tzinfo=timezone.utc)

# (minute offset, event_type, platform, country, app_version, properties)
ROWS = [
    (0, "session_start", "ios", "DE", "1.4.0", {}),
    (1, "session_start", "ios", "FI", "1.4.0", {}),
    (2, "session_start", "android", "DE", "1.3.0", {}),
    (3, "purchase", "ios", "DE", "1.4.0", {"item_id": "gems"}),
    (4, "purchase", "android", "DE", "1.3.0", {"item_id": "skin"}),
    (65, "custom.boss", "ios", "DE", "1.3.0", {"boss": "dragon"}),
    (66, "custom.boss", "android", "FI", "1.4.0", {"boss": "troll"}),
]

QUERY = """query($g: String!, $from: DateTime!, $to: DateTime!, $types: [String!], $filter: MetricFilter) {
  eventCounts(gameId: $g, from: $from, to: $to, bucket: HOUR, eventTypes: $types, filter: $filter) {
    total totalsByType { eventType events } points { start events }
  }
}"""


@pytest.fixture(scope="module")
def client(isolated_module) -> Iterator[TestClient]:
    with db.connect(isolated_module) as conn:
        conn.execute("INSERT INTO games (game_id, name) VALUES (%s, 'Filter Game')", (GAME,))
        for minute, kind, platform, country, version, props in ROWS:
            t = T0 + timedelta(minutes=minute)
            conn.execute(
                "INSERT INTO player_events (event_id, event_time, game_id, player_id, event_type, client_ts, "
                "received_at, platform, country, app_version, properties, batch_id) "
                "VALUES (%s, %s, %s, 'p', %s, %s, %s, %s, %s, %s, %s, %s)",
                (str(uuid.uuid4()), t, GAME, kind, t, t, platform, country, version, json.dumps(props),
                 str(uuid.uuid4())),
            )
        conn.commit()
    with api_client(isolated_module) as c:
        yield c


def counts(client: TestClient, token, where: dict | None, types: list[str] | None = None) -> dict:
    response = client.post("/graphql", json={"query": QUERY, "variables": {
        "g": GAME, "from": "2026-09-07T10:00:00Z", "to": "2026-09-07T12:00:00Z", "types": types, "filter": where,
    }}, headers=bearer(token("analyst", [GAME])))
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["eventCounts"]


def test_platform_filter_counts_only_that_platform(client, token):
    result = counts(client, token, {"platform": ["ios"]})
    # ios: 2 session_start + 1 purchase at 10:0x, 1 custom.boss at 11:05
    assert result["total"] == 4
    assert [p["events"] for p in result["points"]] == [3, 1]
    assert result["totalsByType"] == [
        {"eventType": "session_start", "events": 2}, {"eventType": "custom.boss", "events": 1},
        {"eventType": "purchase", "events": 1},
    ]


def test_country_and_version_filters_combine(client, token):
    # DE and 1.3.0: android session_start, android purchase, ios custom.boss
    assert counts(client, token, {"country": ["DE"], "appVersion": ["1.3.0"]})["total"] == 3
    # several values of one dimension: either
    assert counts(client, token, {"country": ["DE", "FI"]})["total"] == 7
    assert counts(client, token, {"country": ["US"]})["total"] == 0


def test_property_filter_and_event_types(client, token):
    result = counts(client, token, {"property": {"key": "boss", "value": "dragon"}})
    assert result["total"] == 1 and [p["events"] for p in result["points"]] == [0, 1]
    assert counts(client, token, {"platform": ["android"]}, types=["purchase"])["total"] == 1


def test_empty_filter_list_is_a_bad_argument(client, token):
    response = client.post("/graphql", json={"query": QUERY, "variables": {
        "g": GAME, "from": "2026-09-07T10:00:00Z", "to": "2026-09-07T12:00:00Z", "filter": {"platform": []},
    }}, headers=bearer(token("analyst", [GAME])))
    assert "filter.platform must name 1 to" in response.json()["errors"][0]["message"]
