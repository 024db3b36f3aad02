"""The HTTP policy every source uses: timeouts, retries with backoff and jitter, rate limits, size cap.

Every request goes through `Http.request`; `get_json`, `post_form` and `post_json` are its JSON forms.
An error status raises an `HttpStatusError` that carries the answer (`.response`: status, headers
and body), so a source can read a platform's error body without a policy of its own; `readable`
names the statuses a source wants handed back instead of raised, for platforms whose error answers
mean something only the source knows (a refusal in plain text, a throttle in a JSON body).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import UTC
from typing import Any

import aiohttp

from monitor.clock import Clock
from monitor.sources.answers import (
    DEFAULT_RETRY_AFTER,
    ERROR_BODY_CAP,
    MAX_BODY,
    MAX_WAIT,
    HttpAuthError,
    HttpClientError,
    HttpRateLimited,
    HttpServerError,
    HttpStatusError,
    QuotaReader,
    Response,
    retry_after_seconds,
    safe_url,
)
from monitor.sources.base import BadResponse, RateLimited, TransientError

logger = logging.getLogger(__name__)


class Http:
    """One source's view of the shared aiohttp session, with the shared failure policy.

    No request while blocked (RateLimited). Up to `attempts` tries per call on network errors,
    timeouts and 5xx (exponential backoff with full jitter); 429 raises HttpRateLimited and blocks
    every request until Retry-After (else the quota reader's reset, else 60 s); 401/403 raise
    HttpAuthError; other 4xx raise HttpClientError; a body over max_body raises BadResponse.
    `ahead` is how far our clock ran ahead of the platform's by the last Date header (None before
    one): the sweep sources move their start back by it (sweep.finish), never forward.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        user_agent: str,
        *,
        clock: Clock,
        timeout: float = 30.0,
        attempts: int = 3,
        backoff: float = 0.5,
        backoff_cap: float = 4.0,
        max_body: int = MAX_BODY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._session = session
        self.user_agent = user_agent
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self.max_body = max_body
        self.clock = clock
        self.sleep = sleep
        self.blocked_until = 0.0
        self.requests = 0  # requests actually sent (for health figures and tests)
        # Seconds our clock ran ahead of the platform's by the last answer's Date header (None before
        # any answer had one): an overestimate by the network time and the header's whole seconds.
        self.ahead: float | None = None

    def block(self, seconds: float) -> None:
        """Make no request for the next `seconds` (a rate limit the platform announced)."""
        self.block_until(self.clock() + seconds)

    def block_until(self, when: float) -> None:
        """Make no request before `when` (epoch seconds, by our clock)."""
        self.blocked_until = max(self.blocked_until, when)

    def until(self, when: float) -> float | None:
        """Seconds until `when`, a time on the platform's clock (a rate limit's reset), by the platform's
        own clock as its last Date header told it (ours when none came); None when it has passed (or is
        no number); at most a day (a reset further off is a broken header, not a reason to stop)."""
        left = when - (self.clock() - (self.ahead or 0.0))
        return min(left, MAX_WAIT) if left > 0 else None

    def blocked_for(self) -> float:
        """Seconds left before a request may be made (0 when none is blocked)."""
        return max(0.0, self.blocked_until - self.clock())

    async def get_json(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        quota: QuotaReader | None = None,
    ) -> tuple[Any, Mapping[str, str]]:
        """GET url and parse JSON; returns (body, response headers)."""
        response = await self.request("GET", url, params=params, headers=headers, quota=quota)
        return response.json(), response.headers

    async def post_form(
        self,
        url: str,
        data: Mapping[str, str],
        headers: Mapping[str, str] | None = None,
        quota: QuotaReader | None = None,
    ) -> tuple[Any, Mapping[str, str]]:
        """POST a form and parse the JSON answer (OAuth token requests)."""
        response = await self.request("POST", url, data=data, headers=headers, quota=quota)
        return response.json(), response.headers

    async def post_json(
        self,
        url: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        quota: QuotaReader | None = None,
    ) -> tuple[Any, Mapping[str, str]]:
        """POST a JSON body (None: no body) and parse the JSON answer (XRPC procedures)."""
        response = await self.request("POST", url, json_body=body, headers=headers, quota=quota)
        return response.json(), response.headers

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        json_body: Any = None,
        quota: QuotaReader | None = None,
        readable: Collection[int] = (),
        retry_gap: float = 0.0,
    ) -> Response:
        """Send a request under the policy; the answer unparsed when its status is below 400 (a 304 too).

        Statuses in `readable` come back as well, with their bodies, instead of raising (nor
        blocking, for a readable 429): for platforms whose error answers only the source can read.
        A readable 5xx comes back only when its body is JSON, what the platform wrote; an HTML page
        from a gateway is retried as any 5xx. A retry waits at least `retry_gap` seconds (a
        platform's minimum gap between requests). `headers` add to (or replace) the User-Agent and
        the Accept: application/json sent by default; `data` is sent as a form, `json_body` as JSON.
        """
        sent = {"User-Agent": self.user_agent, "Accept": "application/json", **(headers or {})}
        options: dict[str, Any] = {"params": params}
        if data is not None:
            options["data"] = dict(data)
        if json_body is not None:
            options["json"] = json_body
        where = safe_url(url)
        last: TransientError | None = None
        for attempt in range(self.attempts):
            # Checked before every attempt: a retry must not break a block announced meanwhile.
            wait = self.blocked_for()
            if wait > 0:
                raise RateLimited(f"rate limited: no request to {where} for another {wait:.0f}s", wait)
            if attempt:
                # Full jitter: spread retries of many clients instead of having them hit together.
                delay = max(retry_gap, random.uniform(0, min(self.backoff_cap, self.backoff * 2 ** (attempt - 1))))
                logger.debug("%s %s: retry %d in %.2fs after %s", method, where, attempt, delay, last)
                await self.sleep(delay)
            try:
                return await self._once(method, url, where, sent, quota, frozenset(readable), options)
            except TransientError as exc:
                last = exc
        assert last is not None
        raise last

    async def _once(
        self,
        method: str,
        url: str,
        where: str,
        headers: Mapping[str, str],
        quota: QuotaReader | None,
        readable: frozenset[int],
        options: dict[str, Any],
    ) -> Response:
        self.requests += 1
        try:
            async with self._session.request(method, url, headers=headers, timeout=self.timeout, **options) as resp:
                status, response_headers = resp.status, resp.headers
                self._note_date(response_headers.get("Date"))
                exhausted = quota(response_headers) if quota else None
                if exhausted is not None:
                    self.block(exhausted)
                if status < 400 or status in readable:
                    response = Response(status, response_headers, await self._read(resp, where), where)
                    if status < 500 or response.json_or_none() is not None:
                        return response
                else:
                    response = Response(status, response_headers, await self._error_body(resp), where)
        except ValueError as exc:  # InvalidURL and other requests aiohttp will not build: config, not network
            raise BadResponse(f"cannot send a request to {where} ({type(exc).__name__})") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            # The exception's own text may quote the full URL: name its type only.
            raise TransientError(f"{type(exc).__name__} from {where}") from None
        raise self._status_error(response, exhausted)

    def _note_date(self, value: str | None) -> None:
        """Measure `ahead` from an answer's Date header (an unreadable one changes nothing)."""
        if not value:
            return
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return
        if when.tzinfo is None:  # "-0000": UTC, by RFC 5322
            when = when.replace(tzinfo=UTC)
        self.ahead = self.clock() - when.timestamp()

    def _status_error(self, response: Response, exhausted: float | None) -> HttpStatusError:
        """The error an error status means (a 429 also blocks the Http)."""
        status, where = response.status, response.where
        if status == 429:
            if "Retry-After" in response.headers:
                seconds = retry_after_seconds(response.headers["Retry-After"], self.clock())
            else:
                seconds = exhausted if exhausted is not None else DEFAULT_RETRY_AFTER
            self.block(seconds)
            return HttpRateLimited(f"HTTP 429 from {where}: waiting {seconds:.0f}s", response, seconds)
        if status in (401, 403):
            return HttpAuthError(f"HTTP {status} from {where}: credentials missing, wrong or refused", response)
        if status >= 500:
            return HttpServerError(f"HTTP {status} from {where}", response)
        return HttpClientError(f"HTTP {status} from {where}", response)

    async def _error_body(self, resp: aiohttp.ClientResponse) -> bytes:
        """An error answer's body, or b"" when it is longer than ERROR_BODY_CAP or cannot be read."""
        try:
            return await self._read(resp, "", min(self.max_body, ERROR_BODY_CAP))
        except (BadResponse, aiohttp.ClientError, TimeoutError):
            return b""

    async def _read(self, resp: aiohttp.ClientResponse, where: str, cap: int | None = None) -> bytes:
        """The whole body, refusing more than `cap` (default max_body) bytes (decompressed)."""
        cap = self.max_body if cap is None else cap
        too_big = BadResponse(f"response from {where} is larger than {cap} bytes")
        if resp.content_length is not None and resp.content_length > cap:
            raise too_big
        # content.read(n) returns whatever is buffered, not n bytes: gather chunks up to the cap.
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_any():
            size += len(chunk)
            if size > cap:
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)
