"""The ingest endpoint: POST /ingest takes mentions in the replay format from exporters and webhooks.

For platforms with no public search API (Facebook, Instagram, TikTok, ...): the user's own exporter,
a vendor webhook or a scraper posts mentions here. The body is JSON Lines (one replay object a line)
or a JSON array of them; each item is validated on its own, bad ones are named in the answer with
their position and reason, the rest are handed to `accept`. The caller (the daemon) owns storage:
this module knows nothing of the engine.

Answers: 200 {"accepted": n, "stored": k, "rejected": [{"line": i, "error": "..."}]} (`line` is the
1-based line in JSON Lines, or the 1-based position in an array; `stored` is what accept returned);
422 with the same shape when every item was rejected; 400 for a body that cannot be read at all;
401 without the right bearer token; 408 when the body does not arrive within BODY_TIMEOUT; 413 over
the size cap; 415 for a content type that is neither JSON nor JSON Lines; 503 when accept failed
(nothing was stored: send the batch again).

In JSON Lines each line is decoded on its own, so a line that is not UTF-8, or is nested deeper than
Python's parser goes, rejects that item alone. Decoding, parsing and validating run in a worker
thread: a 100,000-item batch never holds up the event loop (health probes, polls, other requests).
"""

from __future__ import annotations

import asyncio
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
BODY_TIMEOUT = 60.0  # seconds to receive a whole body once its headers are in
JSON_TYPES = ("application/json",)
LINES_TYPES = (
    "application/x-ndjson",
    "application/jsonl",
    "application/x-jsonlines",
    "application/json-lines",
    "text/plain",
    "application/octet-stream",
    "",
)
_STR_FIELDS = ("title", "author", "url", "lang", "brand")

# One accepted item: the mention and the brand id the sender named (None: the brands' queries decide).
Item = tuple[Mention, str | None]
Accept = Callable[[list[Item]], Awaitable[int]]
# Checks one valid item against what only the caller knows (a brand id not in config, a value the store could
# only hold altered: monitor.sanitize): ValueError rejects it, named in the answer's `rejected`.
Vet = Callable[[Item], None]


class IngestError(ValueError):
    """The endpoint cannot be set up (no token in the environment)."""


class StorageUnavailable(Exception):
    """Raised by accept when the database cannot be written: a 503, and the caller has logged why."""


def read_token(token_env: str) -> bytes:
    """The bearer token from the environment; IngestError naming the variable (never a value) when unset."""
    token = os.environ.get(token_env, "")
    if not token:
        raise IngestError(f"the ingest endpoint needs a bearer token in the environment variable {token_env}")
    return token.encode()


def ingest_app(
    accept: Accept, token_env: str = TOKEN_ENV, max_body: int = MAX_BODY, vet: Vet | None = None
) -> web.Application:
    """The aiohttp application serving POST /ingest; the bearer token is read from token_env now."""
    handler = _Handler(accept, read_token(token_env), max_body, vet)
    app = web.Application(client_max_size=max_body)
    app[HANDLER] = handler
    app.router.add_post(INGEST_PATH, handler.handle)
    return app


def reconfigure(app: web.Application, token_env: str, max_body: int) -> None:
    """Take a new token and size cap in the running app (a reload that keeps the address); IngestError
    when the token is unset, leaving the app as it was."""
    handler = app[HANDLER]
    handler.token, handler.max_body = read_token(token_env), max_body


def _answer(status: int, **body: Any) -> web.Response:
    return web.json_response(body, status=status)


class _Handler:
    """POST /ingest: its token and size cap can be replaced while it serves (reconfigure)."""

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
            # Logged by cause at most a few times a minute (service/logs.py), however many come.
            logger.warning("ingest: refused a request from %s without the right bearer token", request.remote)
            return web.json_response(
                {"error": "missing or wrong bearer token"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="monitor"'},
            )
        kind = request.content_type.lower()
        if kind not in JSON_TYPES + LINES_TYPES:
            return _answer(
                415,
                error=f"unsupported content type {kind!r}: send application/json (an array) "
                "or application/x-ndjson (JSON Lines)",
            )
        try:
            async with asyncio.timeout(BODY_TIMEOUT):
                body = await self.read(request)
        except TimeoutError:
            return _answer(408, error=f"the body did not arrive within {BODY_TIMEOUT:.0f} s: send it again")
        except ConnectionError:
            # The sender went away mid-body: nothing to log (aiohttp logged a traceback for each one
            # raised from here), and an answer no one reads.
            logger.debug("ingest: the client disconnected before its body arrived")
            return _answer(400, error="the connection was lost before the body arrived")
        if body is None:
            return _answer(413, error=f"the body is larger than {self.max_body} bytes: send smaller batches")
        try:
            items, rejected = await asyncio.to_thread(read_items, body, kind in JSON_TYPES, self.vet)
        except ValueError as exc:
            return _answer(400, error=str(exc))
        stored = 0
        if items:
            try:
                stored = await self.accept(items)
            except StorageUnavailable:
                return _answer(503, error="the mentions could not be stored: send the batch again")
            except Exception:
                logger.exception("ingest: storing %d mentions failed", len(items))
                return _answer(503, error="the mentions could not be stored: send the batch again")
        logger.info("ingest: %d accepted (%d new), %d rejected", len(items), stored, len(rejected))
        status = 422 if rejected and not items else 200
        return _answer(
            status, accepted=len(items), stored=stored, rejected=rejected[:MAX_REJECTED], rejected_total=len(rejected)
        )

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


HANDLER = web.AppKey("ingest_handler", _Handler)


def read_items(body: bytes, as_array: bool, vet: Vet | None = None) -> tuple[list[Item], list[dict[str, Any]]]:
    """The body's valid items and rejections (validate after parse_body); ValueError for an unreadable body."""
    return validate(parse_body(body, as_array), vet)


def parse_body(body: bytes | str, as_array: bool) -> list[tuple[int, Any]]:
    """(position, parsed object or the ValueError of its line) for each item; ValueError for an unreadable body.

    application/json is a JSON array of objects (or one object), which must be UTF-8 as a whole; JSON
    Lines is one object a line, blank lines ignored, each line decoded on its own. A body without a
    content type that starts with "[" is read as an array.
    """
    raw = body.encode() if isinstance(body, str) else body
    raw = raw.removeprefix(b"\xef\xbb\xbf")  # a byte order mark
    if as_array or raw.lstrip().startswith(b"["):
        try:
            data = json.loads(raw.decode("utf-8").strip())
        except UnicodeDecodeError:
            raise ValueError("the body is not UTF-8") from None
        except RecursionError:
            raise ValueError("the body is not JSON: nested too deeply") from None
        except ValueError as exc:
            raise ValueError(f"the body is not JSON: {_reason(exc)}") from None
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise ValueError("expected a JSON array of mention objects")
        return list(enumerate(data, start=1))
    items: list[tuple[int, Any]] = []
    # split on the byte, not splitlines(): U+2028 and friends may stand unescaped inside a JSON string.
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        items.append((number, _parse_line(line)))
    return items


def _parse_line(line: bytes) -> Any:
    """One JSON Lines item, or the ValueError that rejects it alone."""
    try:
        return json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return ValueError(f"not UTF-8 (byte {exc.start + 1} of the line)")
    except RecursionError:
        return ValueError("not JSON: nested too deeply")
    except ValueError as exc:
        return ValueError(f"not JSON: {_reason(exc)}")


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
