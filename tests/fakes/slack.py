"""A fake Slack Web API: chat.postMessage as Slack answers it, recording every message."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web

from tests.fakes.base import FakeServer, ServerFactory, json_response, serve

TOKEN = "xoxb-test-0000-secret"
APP_TOKEN = "xapp-1-test-0000-secret"


class FakeSlack(FakeServer):
    """Checks the bearer token, records messages, answers with increasing ts."""

    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self.messages: list[dict[str, Any]] = []
        self.errors: list[str] = []  # Slack-level errors ({"ok": false}) to answer with, in order
        self.clock: Callable[[], float] = time.time  # message ts are times, as Slack's are
        self.lose_answers = 0  # post the next messages, then break the connection instead of answering
        self.answer_delay: Callable[[], float] = lambda: 0.0  # seconds between posting and answering
        self.answering = 0  # messages posted whose answer has not been sent yet
        self.changed = asyncio.Condition()
        self.app = web.Application()
        self.app.router.add_post("/api/chat.postMessage", self.post_message)
        self.app.router.add_post("/api/chat.update", self.update_message)
        self.app.router.add_post("/api/apps.connections.open", self.connections_open)
        self.updates: list[dict[str, Any]] = []  # chat.update calls, as sent
        self.app_token = APP_TOKEN
        self.socket_url = ""  # the Socket Mode server apps.connections.open hands out (tests/fakes/socketmode.py)
        self.uploads: list[dict[str, Any]] = []
        self.app.router.add_post("/services/T000/B000/XXXX", self.webhook)
        self.app.router.add_post("/upload/{file_id}", self.upload)
        self.app.router.add_post("/api/files.completeUploadExternal", self.complete_upload)
        for method in ("GET", "POST"):  # slack-sdk reads with GET; Slack takes either
            self.app.router.add_route(method, "/api/files.getUploadURLExternal", self.upload_url)
            self.app.router.add_route(method, "/api/conversations.history", self.history)
            self.app.router.add_route(method, "/api/conversations.replies", self.replies)

    def fail_next(
        self,
        status: int | str,
        times: int = 1,
        body: str = "",
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        """Fail the next `times` calls: an HTTP status (429 waits Retry-After: 0 unless told), or a Slack error."""
        if isinstance(status, str):  # {"ok": false, "error": status}, answered with HTTP 200 as Slack does
            self.errors.extend([status] * times)
            return
        if status == 429:
            headers = {"Retry-After": "0", **(headers or {})}
            body = body or json.dumps({"ok": False, "error": "ratelimited"})
        super().fail_next(status, times, body, headers, content_type)

    async def post_message(self, request: web.Request) -> web.Response:
        failure = await self.record(request)
        if failure is not None:
            return failure
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return json_response({"ok": False, "error": "invalid_auth"})
        if self.errors:
            return json_response({"ok": False, "error": self.errors.pop(0)})
        raw = self.requests[-1].body
        if request.content_type == "application/json":
            args = json.loads(raw)
        else:
            args = {k: v[0] for k, v in parse_qs(raw).items()}
        for key in ("blocks", "metadata"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        ts = f"{int(self.clock())}.{len(self.messages) + 1:06d}"
        message = {**args, "ts": ts}
        async with self.changed:
            self.messages.append(message)
            self.changed.notify_all()
        self.answering += 1
        try:
            await self.before_answer()  # posted; the client hears so only later (or never, if killed)
        finally:
            self.answering -= 1
        if self.lose_answers:
            self.lose_answers -= 1
            assert request.transport is not None
            request.transport.close()  # posted, but the client never hears so
            raise web.HTTPInternalServerError()
        return json_response(
            {"ok": True, "channel": "C0123", "ts": ts, "message": {"text": args.get("text"), "ts": ts}}
        )

    async def before_answer(self) -> None:
        """Between posting a message and answering: waits answer_delay() seconds (tests hold it longer)."""
        delay = self.answer_delay()
        if delay > 0:
            await asyncio.sleep(delay)

    async def update_message(self, request: web.Request) -> web.Response:
        """chat.update: replaces a posted message's text and blocks, as Slack does (by channel id and ts)."""
        failure = await self.record(request)
        if failure is not None:
            return failure
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return json_response({"ok": False, "error": "invalid_auth"})
        args = self._args(self.requests[-1].body, request.content_type)
        if isinstance(args.get("blocks"), str):
            args["blocks"] = json.loads(args["blocks"])
        if args.get("channel") != "C0123":
            return json_response({"ok": False, "error": "channel_not_found"})
        message = next((m for m in self.messages if m["ts"] == args.get("ts")), None)
        if message is None:
            return json_response({"ok": False, "error": "message_not_found"})
        async with self.changed:
            message.update(text=args.get("text", ""), blocks=args.get("blocks", []))
            self.updates.append(args)
            self.changed.notify_all()
        return json_response({"ok": True, "channel": "C0123", "ts": args["ts"], "text": args.get("text", "")})

    async def connections_open(self, request: web.Request) -> web.Response:
        """apps.connections.open: a Socket Mode URL, for an app-level token only."""
        failure = await self.record(request)
        if failure is not None:
            return failure
        if request.headers.get("Authorization") != f"Bearer {self.app_token}":
            error = "not_allowed_token_type" if request.headers.get("Authorization") == f"Bearer {self.token}" else (
                "invalid_auth")  # fmt: skip
            return json_response({"ok": False, "error": error})
        return json_response({"ok": True, "url": self.socket_url})

    async def wait_for(self, condition: Callable[[], bool], within: float = 10.0) -> None:
        """Wait until condition() holds (checked whenever a message is posted or updated)."""
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(condition), within)

    async def webhook(self, request: web.Request) -> web.Response:
        """An incoming webhook: JSON in, "ok" out (or a plain-text error)."""
        failure = await self.record(request)
        if failure is not None:
            return failure
        if self.errors:
            return web.Response(status=404, text=self.errors.pop(0))
        message = {**json.loads(self.requests[-1].body), "webhook": True}
        async with self.changed:
            self.messages.append(message)
            self.changed.notify_all()
        return web.Response(text="ok")

    async def upload_url(self, request: web.Request) -> web.Response:
        """files.getUploadURLExternal: where to send the bytes, and the file's id."""
        await self.record(request)
        file_id = f"F{len(self.uploads) + 1:04d}"
        self.uploads.append({"id": file_id, "bytes": b""})
        upload = self.url.removesuffix("api/") + f"upload/{file_id}"
        return json_response({"ok": True, "upload_url": upload, "file_id": file_id})

    async def upload(self, request: web.Request) -> web.Response:
        """The upload URL: takes the file's bytes."""
        file_id = request.match_info["file_id"]
        entry = next(u for u in self.uploads if u["id"] == file_id)
        entry["bytes"] = await request.read()
        return web.Response(text=f"OK - {len(entry['bytes'])}")

    async def complete_upload(self, request: web.Request) -> web.Response:
        """files.completeUploadExternal: shares the uploaded files in a channel or thread."""
        failure = await self.record(request)
        if failure is not None:
            return failure
        args = {**request.query, **self._args(self.requests[-1].body, request.content_type)}
        files = json.loads(args["files"]) if isinstance(args.get("files"), str) else args.get("files", [])
        for item in files:
            entry = next(u for u in self.uploads if u["id"] == item["id"])
            entry.update(title=item.get("title"), channel=args.get("channel_id"), thread_ts=args.get("thread_ts"))
        return json_response({"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]})

    @property
    def webhook_url(self) -> str:
        """The incoming webhook's URL."""
        return self.url.removesuffix("api/") + "services/T000/B000/XXXX"

    def _args(self, raw: str, content_type: str) -> dict[str, Any]:
        if not raw:
            return {}
        if content_type == "application/json":
            return dict(json.loads(raw))
        return {k: v[0] for k, v in parse_qs(raw).items()}

    async def history(self, request: web.Request) -> web.Response:
        """conversations.history: top-level messages, newest first, metadata only when asked."""
        return await self._listing(request, thread=False)

    async def replies(self, request: web.Request) -> web.Response:
        """conversations.replies: a thread's root and replies, oldest first."""
        return await self._listing(request, thread=True)

    async def _listing(self, request: web.Request, thread: bool) -> web.Response:
        failure = await self.record(request)
        if failure is not None:
            return failure
        args = {**request.query, **self._args(self.requests[-1].body, request.content_type)}
        if args.get("channel") != "C0123":
            return json_response({"ok": False, "error": "channel_not_found"})
        oldest = float(args.get("oldest", 0))
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        if thread:
            chosen = [m for m in self.messages if args["ts"] in (m["ts"], m.get("thread_ts"))]
        else:
            chosen = [m for m in reversed(self.messages) if "thread_ts" not in m]
        listing = [
            {"type": "message", "ts": m["ts"], "text": m.get("text", ""),
             **({"metadata": m["metadata"]} if with_metadata and "metadata" in m else {})}
            for m in chosen if float(m["ts"]) >= oldest
        ]  # fmt: skip
        return json_response({"ok": True, "messages": listing, "has_more": False})

    async def wait_for_messages(self, count: int, within: float = 10.0) -> list[dict[str, Any]]:
        """Wait until at least count messages arrived; returns them all."""
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: len(self.messages) >= count), within)
        return list(self.messages)

    def text_of(self, message: dict[str, Any]) -> str:
        """Everything a reader would see in a message: fallback text and every block's text."""
        return message.get("text", "") + "\n" + json.dumps(message.get("blocks", []), ensure_ascii=False)


@pytest.fixture
async def fake_slack(aiohttp_server: ServerFactory) -> AsyncIterator[FakeSlack]:
    """A running fake Slack Web API; .url is the base_url for config (ends in /api/)."""
    fake = FakeSlack()
    yield await serve(fake, fake.app, aiohttp_server, "/api/")
