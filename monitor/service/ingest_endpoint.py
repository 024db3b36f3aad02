"""The ingest endpoint: POST /ingest takes mentions in the replay format from exporters and webhooks.

For platforms with no public search API (Facebook, Instagram, TikTok, ...): the user's own exporter,
a vendor webhook or a scraper posts mentions here. The body is JSON Lines (one replay object a line)
or a JSON array of them; each item is validated on its own, bad ones are named in the answer with
their position and reason, the rest are handed to `accept`. The caller (the daemon) owns storage:
this module knows nothing of the engine.

Answers: 200 {"accepted": n, "stored": k, "rejected": [{"line": i, "error": "..."}]} (`line` is the
1-based line in JSON Lines, or the 1-based position in an array; `stored` is what accept returned);
422 with the same shape when every item was rejected; 400 for a body that cannot be read at all;
401 without the right bearer token; 413 over the size cap; 415 for a content type that is neither
JSON nor JSON Lines; 503 when accept failed (nothing was stored: send the batch again).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from monitor.mention import Mention, from_replay

logger = logging.getLogger(__name__)

INGEST_PATH = "/ingest"
TOKEN_ENV = "MONITOR_INGEST_TOKEN"
MAX_BODY = 5 * 1024 * 1024
MAX_REJECTED = 1000  # rejections listed in one answer; `rejected_total` counts them all
MAX_ERROR = 200  # characters of one rejection's reason
JSON_TYPES = ("application/json",)
LINES_TYPES = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/json-lines",
               "text/plain", "application/octet-stream", "")  # fmt: skip
_STR_FIELDS = ("title", "author", "url", "lang", "brand")

# One accepted item: the mention and the brand id the sender named (None: the brands' queries decide).
Item = tuple[Mention, str | None]
Accept = Callable[[list[Item]], Awaitable[int]]
# Checks one valid item against what only the caller knows (a brand id not in config, a value the store could
# only hold altered: monitor.sanitize): ValueError rejects it, named in the answer's `rejected`.
Vet = Callable[[Item], None]


class IngestError(ValueError):
    """The endpoint cannot be set up (no token in the environment)."""


def ingest_app(
    accept: Accept, token_env: str = TOKEN_ENV, max_body: int = MAX_BODY, vet: Vet | None = None
) -> web.Application:
    """The aiohttp application serving POST /ingest; the bearer token is read from token_env now."""
    token = os.environ.get(token_env, "")
    if not token:
        raise IngestError(f"the ingest endpoint needs a bearer token in the environment variable {token_env}")
    app = web.Application(client_max_size=max_body)
    app.router.add_post(INGEST_PATH, _Handler(accept, token.encode(), max_body, vet).handle)
    return app


def _answer(status: int, **body: Any) -> web.Response:
    return web.json_response(body, status=status)


class _Handler:
    def __init__(self, accept: Accept, token: bytes, max_body: int, vet: Vet | None = None) -> None:
        self.accept = accept
        self.token = token
        self.max_body = max_body
        self.vet = vet

    def authorized(self, request: web.Request) -> bool:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        # compare_digest: the time taken says nothing about how much of the token was right.
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token)

    async def handle(self, request: web.Request) -> web.Response:
        """Authenticate, read under the cap, validate per item, hand the good ones over."""
        if not self.authorized(request):
            logger.warning("ingest: refused a request from %s without the right bearer token", request.remote)
            return web.json_response({"error": "missing or wrong bearer token"}, status=401,
                                     headers={"WWW-Authenticate": 'Bearer realm="monitor"'})  # fmt: skip
        kind = request.content_type.lower()
        if kind not in JSON_TYPES + LINES_TYPES:
            return _answer(415, error=f"unsupported content type {kind!r}: send application/json (an array) "
                                      "or application/x-ndjson (JSON Lines)")  # fmt: skip
        body = await self.read(request)
        if body is None:
            return _answer(413, error=f"the body is larger than {self.max_body} bytes: send smaller batches")
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            return _answer(400, error="the body is not UTF-8")
        try:
            objects = parse_body(text, as_array=kind in JSON_TYPES)
        except ValueError as exc:
            return _answer(400, error=str(exc))
        items, rejected = validate(objects, self.vet)
        stored = 0
        if items:
            try:
                stored = await self.accept(items)
            except Exception:
                logger.exception("ingest: storing %d mentions failed", len(items))
                return _answer(503, error="the mentions could not be stored: send the batch again")
        logger.info("ingest: %d accepted (%d new), %d rejected", len(items), stored, len(rejected))
        status = 422 if rejected and not items else 200
        return _answer(status, accepted=len(items), stored=stored, rejected=rejected[:MAX_REJECTED],
                       rejected_total=len(rejected))  # fmt: skip

    async def read(self, request: web.Request) -> bytes | None:
        """The whole body, or None when it is over the cap (decompressed; told or not by Content-Length)."""
        if request.content_length is not None and request.content_length > self.max_body:
            return None
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_any():
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
        return b"".join(chunks)


def parse_body(text: str, as_array: bool) -> list[tuple[int, Any]]:
    """(position, parsed object or the ValueError of its line) for each item; ValueError for an unreadable body.

    application/json is a JSON array of objects (or one object); JSON Lines is one object a line,
    blank lines ignored. A body without a content type that starts with "[" is read as an array.
    """
    stripped = text.strip()
    if as_array or stripped.startswith("["):
        try:
            data = json.loads(stripped)
        except ValueError as exc:
            raise ValueError(f"the body is not JSON: {_reason(exc)}") from None
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise ValueError("expected a JSON array of mention objects")
        return list(enumerate(data, start=1))
    items: list[tuple[int, Any]] = []
    # split("\n"), not splitlines(): U+2028 and friends may stand unescaped inside a JSON string.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            items.append((number, json.loads(line)))
        except ValueError as exc:
            items.append((number, ValueError(f"not JSON: {_reason(exc)}")))
    return items


def validate(objects: list[tuple[int, Any]], vet: Vet | None = None) -> tuple[list[Item], list[dict[str, Any]]]:
    """The valid items, and {"line", "error"} for each invalid one (vet may reject more)."""
    items: list[Item] = []
    rejected: list[dict[str, Any]] = []
    for position, obj in objects:
        try:
            if isinstance(obj, ValueError):
                raise obj
            item = check(obj)
            if vet is not None:
                vet(item)
            items.append(item)
        except (ValueError, TypeError, OverflowError, OSError) as exc:
            rejected.append({"line": position, "error": str(exc)[:MAX_ERROR]})
    return items, rejected


def check(obj: Any) -> Item:
    """One replay object as a mention, stricter than from_replay about types: ValueError naming the field."""
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    for key in ("platform", "text", *_STR_FIELDS):
        if obj.get(key) is not None and not isinstance(obj[key], str):
            raise ValueError(f"{key}: expected a string")
    if obj.get("id") is not None and (isinstance(obj["id"], bool) or not isinstance(obj["id"], str | int)):
        raise ValueError("id: expected a string")
    return from_replay(obj)  # required fields, the time, the counts


def _reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return str(exc)
