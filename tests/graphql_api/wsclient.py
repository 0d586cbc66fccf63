"""A minimal graphql-transport-ws client over a real WebSocket (the ``websockets`` library)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

PROTOCOL = "graphql-transport-ws"


@dataclass(frozen=True)
class Closed(Exception):
    code: int
    reason: str


class GraphQLWS:
    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    @classmethod
    async def open(cls, base_url: str, token: str | None = None, payload: dict[str, Any] | None = None) -> GraphQLWS:
        """Connects and sends connection_init (with ``Authorization: Bearer <token>`` unless ``payload`` is given)."""
        socket = await connect(base_url.replace("http://", "ws://") + "/graphql", subprotocols=[PROTOCOL])
        client = cls(socket)
        if payload is None:
            payload = {"Authorization": f"Bearer {token}"} if token is not None else {}
        await client.send({"type": "connection_init", "payload": payload})
        return client

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def receive(self, timeout_s: float = 15.0) -> dict[str, Any]:
        """The next message (pings answered); raises ``Closed`` when the server closes the socket."""
        while True:
            try:
                raw = await asyncio.wait_for(self.socket.recv(), timeout_s)
            except ConnectionClosed as exc:
                rcvd = exc.rcvd
                raise Closed(rcvd.code if rcvd else 1006, rcvd.reason if rcvd else "") from exc
            message = json.loads(raw)
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def acknowledged(self) -> None:
        message = await self.receive()
        if message["type"] != "connection_ack":
            raise AssertionError(f"expected connection_ack, got {message}")

    async def subscribe(self, op_id: str, query: str, variables: dict[str, Any] | None = None) -> None:
        await self.send({"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})

    async def complete(self, op_id: str) -> None:
        await self.send({"id": op_id, "type": "complete"})

    async def close(self) -> None:
        await self.socket.close()
