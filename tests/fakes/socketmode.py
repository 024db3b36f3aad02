"""A fake Socket Mode server: the websocket apps.connections.open hands out, on loopback.

It greets each connection with `hello`, sends `interactive` envelopes carrying block_actions payloads
in Slack's documented shape, and records the acks ({"envelope_id": ...}) the app sends back.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from tests.fakes.base import ServerFactory
from tests.fakes.slack import FakeSlack


class FakeSocketMode:
    """One websocket endpoint; envelopes go to the newest connection."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.app.router.add_get("/link", self.websocket)
        self.sockets: list[web.WebSocketResponse] = []
        self.acks: list[dict[str, Any]] = []
        self.changed = asyncio.Condition()
        self.url = ""
        self._ids = itertools.count(1)

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        """Accept the app's connection, say hello, record what it sends back."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({
            "type": "hello", "num_connections": len(self.sockets) + 1,
            "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
            "connection_info": {"app_id": "A0TESTAPP"},
        })  # fmt: skip
        async with self.changed:
            self.sockets.append(ws)
            self.changed.notify_all()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                async with self.changed:
                    self.acks.append(json.loads(message.data))
                    self.changed.notify_all()
        return ws

    async def connected(self, within: float = 10.0) -> None:
        """Wait until the app has connected."""
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: bool(self.sockets)), within)

    async def send(self, payload: dict[str, Any], envelope_id: str | None = None, retry: int = 0) -> str:
        """Send an interactive envelope (a redelivery when envelope_id repeats one); returns its id."""
        await self.connected()
        envelope_id = envelope_id or f"env-{next(self._ids):04d}"
        envelope = {"envelope_id": envelope_id, "payload": payload, "type": "interactive",
                    "accepts_response_payload": False, "retry_attempt": retry,
                    "retry_reason": "timeout" if retry else ""}  # fmt: skip
        await self.sockets[-1].send_json(envelope)
        return envelope_id

    async def wait_ack(self, envelope_id: str, count: int = 1, within: float = 10.0) -> None:
        """Wait until the app has acked this envelope `count` times."""

        def acked() -> bool:
            return sum(1 for a in self.acks if a.get("envelope_id") == envelope_id) >= count

        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(acked), within)

    async def close(self) -> None:
        """Close every connection."""
        for ws in self.sockets:
            await ws.close()


_action_ts = itertools.count(1)


def block_actions(
    action_id: str, value: str, user_id: str = "U0PRLEAD", username: str = "pr.lead", message_ts: str = "1.000001"
) -> dict[str, Any]:
    """A block_actions payload for one button press, shaped as Slack documents it."""
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": username, "name": username, "team_id": "T0TEST"},
        "api_app_id": "A0TESTAPP",
        "token": "verification-token-unused",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": "C0123", "is_ephemeral": False},
        "trigger_id": "1234567890.0000.abcdef",
        "team": {"id": "T0TEST", "domain": "acme"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": "C0123", "name": "pr-alerts"},
        "message": {"type": "message", "ts": message_ts, "text": "alert", "blocks": []},
        "state": {"values": {}},
        "response_url": "https://hooks.slack.invalid/actions/T0TEST/1/xyz",
        "actions": [{
            "action_id": action_id, "block_id": "incident:0", "text": {"type": "plain_text", "text": action_id},
            "value": value, "type": "button", "action_ts": f"1795600800.{next(_action_ts):06d}",
        }],
    }  # fmt: skip


@pytest.fixture
async def fake_socket_mode(aiohttp_server: ServerFactory, fake_slack: FakeSlack) -> AsyncIterator[FakeSocketMode]:
    """A running fake Socket Mode server, handed out by fake_slack's apps.connections.open."""
    fake = FakeSocketMode()
    server = await aiohttp_server(fake.app)
    fake.url = str(server.make_url("/link")).replace("http://", "ws://", 1)
    fake_slack.socket_url = fake.url
    yield fake
    await fake.close()
