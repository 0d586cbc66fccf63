"""Every query of the schema against the hand-made data set of ``dataset.FIXED``, and the SDL file.

Each expectation is worked out by hand from the rows in ``dataset.insert_fixed``; the arithmetic
is written next to it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from graphql_api.schema import SDL_PATH, build_schema
from tests.graphql_api.conftest import GQL, bearer
from tests.graphql_api.dataset import ALPHA, BETA, at, d

pytestmark = pytest.mark.integration




@pytest.fixture(scope="module")
def alpha(token) -> dict[str, str]:
    return bearer(token("analyst", [ALPHA]))


def ask(client: TestClient, headers: dict[str, str], query: str, **variables) -> dict:
    response = client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    body = response.json()
    assert "errors" not in body, body["errors"]
    assert response.status_code == 200
    return body["data"]


def iso(day: int, hh: int = 0, mm: int = 0) -> str:
    return at(day, hh, mm).isoformat().replace("+00:00", "Z")


def test_the_sdl_file_is_the_schema():
    expected = build_schema(GQL).as_str() + "\n"
    assert SDL_PATH.read_text() == expected, "graphql_api/schema.graphql is stale: run `python -m graphql_api export-schema`"


def test_games_lists_only_the_tokens_games_with_batched_stats(client, token):
    query = "{ games { gameId name stats { players eventsLast24h lastEventMinute } } }"
    only_alpha = ask(client, bearer(token("analyst", [ALPHA])), query)["games"]
    # alpha: players p1..p7; one rollup row an hour ago with 7 events
    hour_ago = (datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=1)).isoformat()
    assert only_alpha == [{"gameId": ALPHA, "name": "Alpha Quest",
                           "stats": {"players": 7, "eventsLast24h": 7, "lastEventMinute": hour_ago}}]
    everything = ask(client, bearer(token("analyst", ["*"])), query)["games"]
    assert [g["gameId"] for g in everything] == [ALPHA, BETA]  # ordered by name
    assert everything[1]["stats"] == {"players": 1, "eventsLast24h": 0, "lastEventMinute": "2026-09-07T10:00:00+00:00"}
    assert ask(client, bearer(token("analyst", ["no-such-game"])), query)["games"] == []


def test_me_shows_the_tokens_claims(client, token):
    me = ask(client, bearer(token("admin", [BETA, ALPHA])), "{ me { subject role games } }")["me"]
    assert me == {"subject": "pytest", "role": "admin", "games": [ALPHA, BETA]}


EVENT_COUNTS = """query($g: String!, $from: DateTime!, $to: DateTime!, $bucket: Bucket!, $types: [String!]) {
  eventCounts(gameId: $g, from: $from, to: $to, bucket: $bucket, eventTypes: $types) {
    bucket from to total totalsByType { eventType events } points { start events byType { eventType events } }
  }
}"""


def test_event_counts_per_hour_fill_empty_buckets_and_sort_types(client, alpha):
    result = ask(client, alpha, EVENT_COUNTS, g=ALPHA, **{"from": iso(0, 10), "to": iso(0, 12)}, bucket="HOUR")["eventCounts"]
    # 10:00-10:59: session_start 3 + purchase 2 + progression 4 = 9; 11:00-11:59: session_start 1; beta's 100 never
    assert result["total"] == 10
    assert result["totalsByType"] == [
        {"eventType": "progression", "events": 4}, {"eventType": "session_start", "events": 4},
        {"eventType": "purchase", "events": 2},
    ]
    assert [(p["start"], p["events"]) for p in result["points"]] == [
        ("2026-09-07T10:00:00+00:00", 9), ("2026-09-07T11:00:00+00:00", 1),
    ]
    assert result["points"][0]["byType"][0] == {"eventType": "progression", "events": 4}
    assert result["from"] == "2026-09-07T10:00:00+00:00" and result["to"] == "2026-09-07T12:00:00+00:00"


def test_event_counts_by_minute_day_and_type_filter(client, alpha):
    minutes = ask(client, alpha, EVENT_COUNTS, g=ALPHA, **{"from": iso(0, 10, 0), "to": iso(0, 10, 3)}, bucket="MINUTE")
    assert [p["events"] for p in minutes["eventCounts"]["points"]] == [3, 2, 0]
    days = ask(client, alpha, EVENT_COUNTS, g=ALPHA, **{"from": iso(0), "to": iso(2)}, bucket="DAY")
    assert [p["events"] for p in days["eventCounts"]["points"]] == [10, 5]  # day 1: 5 session starts at 09:00
    purchases = ask(client, alpha, EVENT_COUNTS, g=ALPHA, **{"from": iso(0, 10), "to": iso(0, 12)}, bucket="HOUR",
                    types=["purchase"])["eventCounts"]
    assert purchases["total"] == 2 and [p["events"] for p in purchases["points"]] == [2, 0]


def test_naive_times_are_utc_and_unaligned_ranges_start_at_their_bucket(client, alpha):
    result = ask(client, alpha, EVENT_COUNTS, g=ALPHA, **{"from": "2026-09-07T10:30:00", "to": "2026-09-07T11:30:00"},
                 bucket="HOUR")["eventCounts"]
    # buckets 10:00 and 11:00; rows counted from 10:30: progression 4 (10:30) + session_start 1 (11:15)
    assert [(p["start"][11:16], p["events"]) for p in result["points"]] == [("10:00", 4), ("11:00", 1)]


ACTIVE_USERS = """query($g: String!, $from: Date!, $to: Date!, $grain: Granularity!) {
  activeUsers(gameId: $g, from: $from, to: $to, granularity: $grain) {
    granularity points { start days activeUsers } stickiness { windowStart windowEnd averageDau mau ratio }
  }
}"""


def test_daily_active_users_and_stickiness(client, alpha):
    result = ask(client, alpha, ACTIVE_USERS, g=ALPHA, **{"from": str(d(0)), "to": str(d(9))}, grain="DAY")["activeUsers"]
    # day 0: p1 p2 p3; day 1: p1 p2 p4; day 2: p4; days 3-6: nobody; day 7: p1 p5; day 8: p4
    assert [p["activeUsers"] for p in result["points"]] == [3, 3, 1, 0, 0, 0, 0, 2, 1]
    assert all(p["days"] == 1 for p in result["points"])
    # 30 days ending before day 9: 10 player-days / 30 = 0.333; MAU = p1..p5 = 5; DAU/MAU = 0.0667
    s = result["stickiness"]
    assert (s["windowStart"], s["windowEnd"]) == (str(d(9) - timedelta(days=30)), str(d(9)))
    assert s["averageDau"] == pytest.approx(10 / 30)
    assert s["mau"] == 5
    assert s["ratio"] == pytest.approx(10 / 30 / 5)


def test_weekly_and_monthly_active_users(client, alpha):
    weeks = ask(client, alpha, ACTIVE_USERS, g=ALPHA, **{"from": str(d(0)), "to": str(d(14))}, grain="WEEK")["activeUsers"]
    # week of day 0: p1 p2 p3 p4; week of day 7: p1 p4 p5
    assert [(p["start"], p["days"], p["activeUsers"]) for p in weeks["points"]] == [(str(d(0)), 7, 4), (str(d(7)), 7, 3)]
    months = ask(client, alpha, ACTIVE_USERS, g=ALPHA, **{"from": "2026-09-01", "to": "2026-11-01"}, grain="MONTH")["activeUsers"]
    # September: p1..p5 (days 0-8); October: p6 (day 30 = 2026-10-07)
    assert [(p["start"], p["days"], p["activeUsers"]) for p in months["points"]] == [("2026-09-01", 30, 5), ("2026-10-01", 31, 1)]
    partial = ask(client, alpha, ACTIVE_USERS, g=ALPHA, **{"from": str(d(2)), "to": str(d(9))}, grain="WEEK")["activeUsers"]
    # the first week is cut to days 2-6 (5 days): only p4 on day 2
    assert [(p["start"], p["days"], p["activeUsers"]) for p in partial["points"]] == [(str(d(0)), 5, 1), (str(d(7)), 2, 3)]


RETENTION = """query($g: String!, $from: Date!, $to: Date!, $days: [Int!]!) {
  retention(gameId: $g, cohortFrom: $from, cohortTo: $to, days: $days) {
    days cohorts { cohort players days { day retained rate } } average { day retained rate }
  }
}"""


def test_day_n_retention_by_first_seen_cohort(client, alpha):
    result = ask(client, alpha, RETENTION, g=ALPHA, **{"from": str(d(0)), "to": str(d(2))}, days=[30, 1, 7])["retention"]
    assert result["days"] == [1, 7, 30]
    day0, day1 = result["cohorts"]
    # cohort day 0 = p1 p2 p3: day 1 p1 p2 (2/3), day 7 p1 (1/3), day 30 nobody
    assert day0 == {"cohort": str(d(0)), "players": 3, "days": [
        {"day": 1, "retained": 2, "rate": pytest.approx(2 / 3)},
        {"day": 7, "retained": 1, "rate": pytest.approx(1 / 3)},
        {"day": 30, "retained": 0, "rate": 0.0},
    ]}
    # cohort day 1 = p4: active on day 2 and day 8
    assert [(x["retained"], x["rate"]) for x in day1["days"]] == [(1, 1.0), (1, 1.0), (0, 0.0)]
    # weighted: day 1 (2+1)/(3+1), day 7 (1+1)/4, day 30 0/4
    assert [(a["retained"], a["rate"]) for a in result["average"]] == [(3, 0.75), (2, 0.5), (0, 0.0)]


def test_retention_of_a_day_not_over_yet_is_null_and_empty_cohorts_are_listed(client, alpha):
    yesterday = datetime.now(timezone.utc).date() - timedelta(days=1)
    result = ask(client, alpha, RETENTION, g=ALPHA, **{"from": str(yesterday), "to": str(yesterday + timedelta(days=1))},
                 days=[1])["retention"]
    assert result["cohorts"] == [{"cohort": str(yesterday), "players": 1, "days": [{"day": 1, "retained": None, "rate": None}]}]
    assert result["average"] == [{"day": 1, "retained": None, "rate": None}]
    empty = ask(client, alpha, RETENTION, g=ALPHA, **{"from": str(d(3)), "to": str(d(4))}, days=[1])["retention"]
    assert empty["cohorts"] == [{"cohort": str(d(3)), "players": 0, "days": [{"day": 1, "retained": 0, "rate": None}]}]


FUNNEL = """query($g: String!, $steps: [FunnelStepInput!]!, $from: DateTime!, $to: DateTime!, $within: Duration!) {
  funnel(gameId: $g, steps: $steps, from: $from, to: $to, within: $within) {
    within steps { index label players conversion stepConversion medianSecondsFromPrevious }
  }
}"""
STEPS = [{"eventType": "session_start"}, {"progression": {"level": "1"}}, {"eventType": "purchase"}]


def test_funnel_conversion_per_step_in_order_within_the_window(client, alpha):
    result = ask(client, alpha, FUNNEL, g=ALPHA, steps=STEPS, **{"from": iso(0), "to": iso(1)}, within="1d")["funnel"]
    # enter: p1 p2 p3 (p4 starts a session on day 1, outside; beta's b1 is another game)
    # level 1: p1 (+5 min), p2 (+15 min); p3 completed level 2 only
    # purchase after level 1 within 1 day of entering: p1 (+5 min); p2 bought 2 days later
    assert result["within"] == "1d"
    assert [(s["index"], s["label"], s["players"]) for s in result["steps"]] == [
        (1, "session_start", 3), (2, "level 1 complete", 2), (3, "purchase", 1),
    ]
    assert [s["conversion"] for s in result["steps"]] == pytest.approx([1.0, 2 / 3, 1 / 3])
    assert [s["stepConversion"] for s in result["steps"]] == pytest.approx([1.0, 2 / 3, 0.5])
    assert [s["medianSecondsFromPrevious"] for s in result["steps"]] == [None, 600.0, 300.0]


def test_funnel_window_counts_from_entering(client, alpha):
    result = ask(client, alpha, FUNNEL, g=ALPHA, steps=STEPS, **{"from": iso(0), "to": iso(1)}, within="10m")["funnel"]
    # p1: level at +5 min, purchase at +10 min (the window's last instant counts); p2's level at +15 min is too late
    assert [s["players"] for s in result["steps"]] == [3, 1, 1]


REVENUE = """query($g: String!, $from: Date!, $to: Date!, $bucket: Granularity!) {
  revenue(gameId: $g, from: $from, to: $to, bucket: $bucket) {
    total { start days revenueUsd payingUsers activeUsers arpdau arppu conversion }
    points { start days revenueUsd payingUsers activeUsers arpdau arppu conversion }
  }
}"""


def test_revenue_per_day_with_arpdau_arppu_and_conversion(client, alpha):
    result = ask(client, alpha, REVENUE, g=ALPHA, **{"from": str(d(0)), "to": str(d(9))}, bucket="DAY")["revenue"]
    points = {p["start"]: p for p in result["points"]}
    assert len(points) == 9
    # day 0: p1 paid 4.99; active p1 p2 p3
    assert points[str(d(0))] == {"start": str(d(0)), "days": 1, "revenueUsd": 4.99, "payingUsers": 1, "activeUsers": 3,
                                 "arpdau": pytest.approx(4.99 / 3), "arppu": 4.99, "conversion": pytest.approx(1 / 3)}
    # day 1: p2 paid 10; day 7: p5 paid 0.99 of 2 active
    assert (points[str(d(1))]["revenueUsd"], points[str(d(1))]["arpdau"]) == (10.0, pytest.approx(10 / 3))
    assert (points[str(d(7))]["arpdau"], points[str(d(7))]["conversion"]) == (pytest.approx(0.495), 0.5)
    # a day with actives but no payer; a day with nobody
    assert (points[str(d(2))]["arpdau"], points[str(d(2))]["arppu"], points[str(d(2))]["conversion"]) == (0.0, None, 0.0)
    assert (points[str(d(4))]["activeUsers"], points[str(d(4))]["arpdau"]) == (0, None)
    # total: 15.98 USD, payers p1 p2 p5, actives p1..p5, 10 player-days
    assert result["total"] == {"start": str(d(0)), "days": 9, "revenueUsd": 15.98, "payingUsers": 3, "activeUsers": 5,
                               "arpdau": pytest.approx(1.598), "arppu": pytest.approx(15.98 / 3), "conversion": 0.6}


def test_revenue_per_week(client, alpha):
    result = ask(client, alpha, REVENUE, g=ALPHA, **{"from": str(d(0)), "to": str(d(9))}, bucket="WEEK")["revenue"]
    first, second = result["points"]
    # week 0: 14.99 from p1 p2, 7 player-days; week 1 (days 7-8): 0.99 from p5, 3 player-days
    assert (first["revenueUsd"], first["payingUsers"], first["activeUsers"]) == (14.99, 2, 4)
    assert first["arpdau"] == pytest.approx(14.99 / 7)
    assert (second["days"], second["revenueUsd"], second["activeUsers"], second["arpdau"]) == (2, 0.99, 3, pytest.approx(0.33))


SESSIONS = """query($g: String!, $from: DateTime!, $to: DateTime!, $bucket: Bucket!) {
  sessions(gameId: $g, from: $from, to: $to) {
    count ended meanSeconds medianSeconds p90Seconds concurrentPlayers(bucket: $bucket) { start peak }
  }
}"""


def test_session_count_lengths_and_peak_concurrency(client, alpha):
    result = ask(client, alpha, SESSIONS, g=ALPHA, **{"from": iso(0), "to": iso(0, 14)}, bucket="HOUR")["sessions"]
    # started on day 0: s1 1200 s, s2 open (10:05 -> last event 10:35 = 1800 s), s3 300 s, s4 600 s
    assert (result["count"], result["ended"]) == (4, 3)
    assert result["meanSeconds"] == pytest.approx(975.0)
    assert result["medianSeconds"] == pytest.approx(900.0)  # between 600 and 1200
    assert result["p90Seconds"] == pytest.approx(1620.0)  # 1200 + 0.7 * (1800 - 1200)
    peaks = [p["peak"] for p in result["concurrentPlayers"]]
    # 00h: s0 (from the day before, until 00:10); 10h: s1 and s2 overlap; 11h: s3; 13h: s4
    assert peaks == [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 1]


def test_fairness_ratios_per_mode(client, alpha):
    result = ask(client, alpha, """query($g: String!, $from: DateTime!, $to: DateTime!) {
      fairness(gameId: $g, from: $from, to: $to) { modes { mode matches wins losses draws winRate lossRate drawRate } }
    }""", g=ALPHA, **{"from": iso(0), "to": iso(1)})["fairness"]
    assert result["modes"] == [
        {"mode": "ranked", "matches": 10, "wins": 6, "losses": 3, "draws": 1, "winRate": 0.6, "lossRate": 0.3, "drawRate": 0.1},
        {"mode": "casual", "matches": 4, "wins": 2, "losses": 2, "draws": 0, "winRate": 0.5, "lossRate": 0.5, "drawRate": 0.0},
    ]


PLAYER = """query($g: String!, $p: String!, $first: Int!, $after: String) {
  player(gameId: $g, playerId: $p) {
    playerId firstSeen events sessions purchases lifetimeRevenueUsd platform country appVersion
    recentEvents(first: $first, after: $after) {
      edges { cursor node { eventType eventTime revenueUsd properties sessionId } } pageInfo { hasNextPage endCursor }
    }
  }
}"""


def test_player_profile_and_cursor_pages_of_recent_events(client, alpha):
    page1 = ask(client, alpha, PLAYER, g=ALPHA, p="p1", first=2)["player"]
    assert {k: page1[k] for k in ("playerId", "events", "sessions", "purchases", "lifetimeRevenueUsd", "platform", "country",
                                  "appVersion")} == {"playerId": "p1", "events": 5, "sessions": 2, "purchases": 1,
                                                     "lifetimeRevenueUsd": 4.99, "platform": "android", "country": "FI",
                                                     "appVersion": "2.3.1"}
    edges = page1["recentEvents"]["edges"]
    assert [e["node"]["eventType"] for e in edges] == ["purchase", "progression"]  # newest first
    assert edges[0]["node"]["revenueUsd"] == 4.99 and edges[0]["node"]["properties"]["item_id"] == "gems"
    assert page1["recentEvents"]["pageInfo"]["hasNextPage"] is True
    after = page1["recentEvents"]["pageInfo"]["endCursor"]
    page2 = ask(client, alpha, PLAYER, g=ALPHA, p="p1", first=2, after=after)["player"]["recentEvents"]
    assert [e["node"]["eventType"] for e in page2["edges"]] == ["session_start"]
    assert page2["pageInfo"] == {"hasNextPage": False, "endCursor": page2["edges"][0]["cursor"]}


def test_unknown_player_is_null(client, alpha):
    assert ask(client, alpha, PLAYER, g=ALPHA, p="nobody", first=5) == {"player": None}


def test_pipeline_lag_and_freshness_of_the_callers_games(client, token):
    query = "{ pipeline { consumerGroup topic consumerLag partitions { partition committed end lag } lastLandedEventTime deadLettersTotal } }"
    alpha_view = ask(client, bearer(token("analyst", [ALPHA])), query)["pipeline"]
    assert alpha_view["consumerGroup"].endswith("gamemetrics-landing") and alpha_view["topic"].endswith("player.events.raw")
    # nothing was produced to this test's raw topic: 6 partitions, empty, nothing committed
    assert alpha_view["consumerLag"] == 0 and len(alpha_view["partitions"]) == 6
    assert alpha_view["partitions"][0] == {"partition": 0, "committed": None, "end": 0, "lag": 0}
    assert alpha_view["lastLandedEventTime"] == "2026-09-09T10:00:00+00:00"  # p2's purchase on day 2
    beta_view = ask(client, bearer(token("analyst", [BETA])), query)["pipeline"]
    assert beta_view["lastLandedEventTime"] == "2026-09-07T10:02:00+00:00"


@pytest.mark.parametrize(("query", "variables", "message"), [
    (EVENT_COUNTS, {"from": iso(1), "to": iso(0), "bucket": "HOUR"}, "eventCounts: `from` (2026-09-08T00:00:00Z) must be before `to`"),
    (EVENT_COUNTS, {"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z", "bucket": "MINUTE"}, "over the limit of 5000"),
    (EVENT_COUNTS, {"from": iso(0), "to": iso(1), "bucket": "HOUR", "types": []}, "eventTypes must name 1 to 50 types"),
    (RETENTION, {"from": str(d(0)), "to": str(d(1)), "days": [0, 7]}, "retention: days [0] are out of range"),
    (RETENTION, {"from": str(d(1)), "to": str(d(1)), "days": [1]}, "`cohortFrom` (2026-09-08) must be before `cohortTo`"),
    (FUNNEL, {"steps": STEPS[:1], "from": iso(0), "to": iso(1), "within": "1d"}, "funnel: give 2 to 10 steps (got 1)"),
    (FUNNEL, {"steps": STEPS, "from": iso(0), "to": iso(40), "within": "1d"}, "over the limit of 31 days"),
    (FUNNEL, {"steps": STEPS, "from": iso(0), "to": iso(1), "within": "soon"}, "'soon' is not a duration like 90s, 30m, 24h or 7d"),
    (PLAYER, {"p": "p1", "first": 500}, "recentEvents: first must be 1 to 100 (got 500)"),
    (PLAYER, {"p": "p1", "first": 5, "after": "bm90LWEtY3Vyc29y"}, "is not a cursor this API returned"),
])
def test_bad_arguments_get_a_clear_error_and_no_data(client, alpha, query, variables, message):
    body = client.post("/graphql", json={"query": query, "variables": {"g": ALPHA, **variables}}, headers=alpha).json()
    assert body["data"] in (None, {"player": None})  # `player` is nullable: its failed child nulls it
    assert message in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] in {"BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"}


def test_a_funnel_step_must_be_one_thing(client, alpha):
    body = client.post("/graphql", json={"query": FUNNEL, "variables": {
        "g": ALPHA, "steps": [{"eventType": "a", "progression": {"level": "1"}}, {"eventType": "b"}],
        "from": iso(0), "to": iso(1), "within": "1d"}}, headers=alpha).json()
    assert body["data"] is None and "exactly one key" in body["errors"][0]["message"]

