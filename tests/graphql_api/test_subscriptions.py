"""Subscriptions end to end: a real API process, real WebSockets speaking graphql-transport-ws,
ProcessedEventBatch messages on the test's own player.events.processed topic (as a landing
worker publishes them), and the authentication matrix of the WebSocket transport."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from graphql_api.auth import issue_token
from tests.graphql_api.conftest import GQL, bearer, running_api
from tests.graphql_api.processed import processed_batch, publish, publish_dead_letter
from tests.graphql_api.wsclient import Closed, GraphQLWS
from tests.services import wait_for

pytestmark = pytest.mark.integration

WARM_GAME = "warm-game"
LIVE_EVENTS = """subscription($g: String!, $types: [String!]) {
  liveEvents(gameId: $g, eventTypes: $types) {
    dropped events { eventId eventType playerId platform appVersion revenueUsd isNewPlayer sessionSeq delayMs properties }
  }
}"""
LIVE_METRICS = """subscription($g: String!) {
  liveMetrics(gameId: $g) { gameId at second eventsPerSecond eventsLastMinute activePlayers5m revenueLastMinuteUsd warmingUp }
}"""
PROBE = "custom.probe"


@pytest.fixture(scope="module")
def server(isolated_module, tmp_path_factory) -> Iterator[tuple]:
    # published before the API starts: the live consumer must read it back (warm-up)
    publish(isolated_module, [
        processed_batch(WARM_GAME, "early-1", [("session_start", {}, None), ("custom.x", {}, None)]),
        processed_batch(WARM_GAME, "early-2", [("session_start", {}, None)]),
    ])
    with running_api(isolated_module, tmp_path_factory.mktemp("graphql")) as url:
        yield isolated_module, url


def new_game() -> str:
    return f"live-{uuid.uuid4().hex[:8]}"


async def publish_async(settings, batches) -> None:
    await asyncio.to_thread(publish, settings, batches)


async def until_subscribed(settings, game: str, clients: list[GraphQLWS], op_id: str) -> None:
    """Publish probe events until every client's ``op_id`` subscription has seen one (registration is async)."""
    waiting = set(range(len(clients)))
    deadline = time.monotonic() + 30
    while waiting:
        await publish_async(settings, [processed_batch(game, "probe", [(PROBE, {}, None)])])
        for i in list(waiting):
            try:
                message = await clients[i].receive(timeout_s=1.0)
            except asyncio.TimeoutError:
                continue
            assert message["id"] == op_id, message
            waiting.discard(i)
        assert time.monotonic() < deadline, "subscriptions never saw a probe event"
    for client in clients:  # drain the probes still on their way
        while True:
            try:
                await client.receive(timeout_s=1.0)
            except asyncio.TimeoutError:
                break


def events_of(message: dict) -> list[dict]:
    return [e for e in message["payload"]["data"]["liveEvents"]["events"] if e["eventType"] != PROBE]


def test_warm_up_reads_back_what_landed_before_the_api_started(server, token):
    settings, url = server

    async def scenario():
        ws = await GraphQLWS.open(url, token("analyst", [WARM_GAME]))
        await ws.acknowledged()
        await ws.subscribe("m", LIVE_METRICS, {"g": WARM_GAME})
        first = (await ws.receive())["payload"]["data"]["liveMetrics"]
        await ws.close()
        return first

    first = asyncio.run(scenario())
    assert first["gameId"] == WARM_GAME
    assert first["activePlayers5m"] == 2 and first["warmingUp"] is False


def test_live_events_stream_the_games_processed_events(server, token):
    settings, url = server
    game, other = new_game(), new_game()

    async def scenario():
        ws = await GraphQLWS.open(url, token("analyst", [game]))
        await ws.acknowledged()
        await ws.subscribe("buys", LIVE_EVENTS, {"g": game, "types": ["purchase"]})
        await ws.subscribe("all", LIVE_EVENTS, {"g": game})
        await until_subscribed(settings, game, [ws], "all")
        await publish_async(settings, [
            processed_batch(game, "alice", [("session_start", {}, None),
                                            ("purchase", {"item_id": "gems", "amount": 4.99, "currency": "USD"}, 4.99),
                                            ("custom.level_up", {"level": 3}, None)], new_player=True),
            processed_batch(other, "mallory", [("purchase", {"item_id": "x", "amount": 1, "currency": "USD"}, 1.0)]),
        ])
        got: dict[str, list[dict]] = {"all": [], "buys": []}
        deadline = time.monotonic() + 20
        while (len(got["all"]) < 3 or len(got["buys"]) < 1) and time.monotonic() < deadline:
            message = await ws.receive()
            assert message["type"] == "next", message
            assert message["payload"]["data"]["liveEvents"]["dropped"] == 0
            got[message["id"]].extend(events_of(message))
        try:  # nothing else arrives: not mallory's purchase of the other game
            extra = await ws.receive(timeout_s=1.5)
            got[extra["id"]].extend(events_of(extra))
        except asyncio.TimeoutError:
            pass
        await ws.close()
        return got

    got = asyncio.run(scenario())
    assert [e["eventType"] for e in got["all"]] == ["session_start", "purchase", "custom.level_up"]
    first, purchase, custom = got["all"]
    assert {e["playerId"] for e in got["all"]} == {"alice"}
    assert (first["isNewPlayer"], first["sessionSeq"], first["platform"], first["appVersion"], first["delayMs"]) == (
        True, 1, "ios", "2.3.1", 120)
    assert (purchase["revenueUsd"], purchase["properties"]) == (4.99, {"item_id": "gems", "amount": 4.99, "currency": "USD"})
    assert custom["properties"] == {"level": 3}
    assert got["buys"] == [purchase]


def test_live_metrics_tick_every_second_with_events_players_and_revenue(server, token):
    settings, url = server
    game = new_game()

    async def scenario():
        ws = await GraphQLWS.open(url, token("analyst", [game]))
        await ws.acknowledged()
        await ws.subscribe("m", LIVE_METRICS, {"g": game})
        ticks = [(await ws.receive())["payload"]["data"]["liveMetrics"]]
        await publish_async(settings, [
            processed_batch(game, "ann", [("session_start", {}, None), ("purchase", {}, 4.99), ("custom.a", {}, None)]),
            processed_batch(game, "bob", [("session_start", {}, None), ("purchase", {}, 0.99)]),
        ])
        published_second = int(time.time())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            tick = (await ws.receive())["payload"]["data"]["liveMetrics"]
            ticks.append(tick)
            settled = datetime.fromisoformat(tick["second"]).timestamp() > published_second
            if tick["eventsLastMinute"] == 5 and settled:
                break
        await ws.close()
        return ticks

    ticks = asyncio.run(scenario())
    before, last = ticks[0], ticks[-1]
    assert (before["eventsLastMinute"], before["activePlayers5m"], before["revenueLastMinuteUsd"]) == (0, 0, 0.0)
    assert (last["eventsLastMinute"], last["activePlayers5m"], last["revenueLastMinuteUsd"]) == (5, 2, 5.98)
    per_second = {t["second"]: t["eventsPerSecond"] for t in ticks}
    assert 0 < sum(per_second.values()) <= 5
    gaps = [datetime.fromisoformat(b["at"]) - datetime.fromisoformat(a["at"]) for a, b in zip(ticks[1:], ticks[2:])]
    assert gaps and all(timedelta(seconds=0.5) < g < timedelta(seconds=1.6) for g in gaps), gaps


def test_one_consumer_fans_out_to_many_subscribers(server, token):
    settings, url = server
    game = new_game()
    subscribers = 25

    def consumed_messages() -> float:
        for line in httpx.get(f"{url}/metrics").text.splitlines():
            if line.startswith("gamemetrics_graphql_live_messages_total "):
                return float(line.split()[1])
        raise AssertionError("no gamemetrics_graphql_live_messages_total in /metrics")

    async def scenario():
        clients = [await GraphQLWS.open(url, token("analyst", [game])) for _ in range(subscribers)]
        for ws in clients:
            await ws.acknowledged()
            await ws.subscribe("e", LIVE_EVENTS, {"g": game})
        await until_subscribed(settings, game, clients, "e")
        before = await asyncio.to_thread(consumed_messages)
        await publish_async(settings, [processed_batch(game, f"p{i}", [("session_start", {}, None)] * 5) for i in range(2)])
        received = []
        for ws in clients:
            events: list[dict] = []
            while len(events) < 10:
                events.extend(events_of(await ws.receive()))
            received.append(len(events))
        after = await asyncio.to_thread(consumed_messages)
        for ws in clients:
            await ws.close()
        return received, after - before

    received, consumed = asyncio.run(scenario())
    assert received == [10] * subscribers
    assert consumed == 2  # two Kafka messages read once, not once per subscriber


def test_dead_letters_are_counted_for_the_pipeline_query(server, token):
    settings, url = server
    publish_dead_letter(settings, "unknown_currency")
    query = "{ pipeline { deadLettersTotal deadLetters { errorType count } } }"

    def counted() -> dict | None:
        pipeline = httpx.post(f"{url}/graphql", json={"query": query}, headers=bearer(token())).json()["data"]["pipeline"]
        return pipeline if pipeline["deadLettersTotal"] else None

    pipeline = wait_for(counted, timeout_s=20, what="the live consumer to count the dead letter")
    assert pipeline == {"deadLettersTotal": 1, "deadLetters": [{"errorType": "unknown_currency", "count": 1}]}


# -- who may subscribe --------------------------------------------------------------------------


def refusal(url: str, payload: dict) -> Closed:
    async def scenario():
        ws = await GraphQLWS.open(url, payload=payload)
        try:
            message = await ws.receive()
        except Closed as closed:
            return closed
        raise AssertionError(f"the server answered {message} instead of closing")

    return asyncio.run(scenario())


@pytest.mark.parametrize(("payload", "reason"), [
    ({}, 'missing token: send {"Authorization": "Bearer <token>"} in the connection_init payload'),
    ({"Authorization": "Bearer not-a-token"}, "malformed token"),
    ({"Authorization": "Token abc"}, "the Authorization value must be `Bearer <token>`"),
])
def test_a_websocket_without_a_valid_token_is_closed_with_the_reason(server, payload, reason):
    closed = refusal(server[1], payload)
    assert closed.code == 4403
    assert reason in closed.reason


def test_a_websocket_with_an_expired_token_is_closed(server):
    expired = issue_token(GQL, "analyst", ["*"], timedelta(minutes=1), now=datetime.now(timezone.utc) - timedelta(hours=1))
    closed = refusal(server[1], {"Authorization": f"Bearer {expired}"})
    assert (closed.code, closed.reason.startswith("token expired")) == (4403, True)


def test_subscribing_to_another_game_is_refused_without_data(server, token):
    settings, url = server
    game = new_game()

    async def scenario():
        ws = await GraphQLWS.open(url, token("analyst", ["some-other-game"]))
        await ws.acknowledged()
        await ws.subscribe("e", LIVE_EVENTS, {"g": game})
        await ws.subscribe("m", LIVE_METRICS, {"g": game})
        await publish_async(settings, [processed_batch(game, "victim", [("purchase", {}, 9.99)])])
        messages = []
        try:
            while True:
                messages.append(await ws.receive(timeout_s=3))
        except asyncio.TimeoutError:
            pass
        await ws.close()
        return messages

    messages = asyncio.run(scenario())
    # graphql-transport-ws `error` messages: the operations end before any data
    assert sorted((m["id"], m["type"]) for m in messages) == [("e", "error"), ("m", "error")]
    for message in messages:
        assert message["payload"][0]["message"].startswith(
            f"game '{game}' is not among this token's games (some-other-game)")
        assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"


def test_an_analyst_cannot_run_an_admin_mutation_over_the_websocket(server, token):
    url = server[1]

    async def scenario():
        ws = await GraphQLWS.open(url, token("analyst", ["*"]))
        await ws.acknowledged()
        await ws.subscribe("x", 'mutation { createGame(name: "Sneaky") { apiKey } }')
        message = await ws.receive()
        await ws.close()
        return message

    message = asyncio.run(scenario())
    assert (message["type"], message["payload"]["data"]) == ("next", None)
    assert message["payload"]["errors"][0]["message"] == "createGame needs the admin role; this token's role is analyst"
    assert message["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
