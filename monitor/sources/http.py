"""The HTTP policy every source uses: timeouts, retries with backoff and jitter, rate limits, size cap."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from yarl import URL

from monitor.sources.base import AuthError, BadResponse, RateLimited, TransientError

logger = logging.getLogger(__name__)
MAX_BODY = 10 * 1024 * 1024
DEFAULT_RETRY_AFTER = 60.0

# headers -> seconds until the platform's request window resets when it is used up, else None
QuotaReader = Callable[[Mapping[str, str]], float | None]


class HttpAuthError(AuthError):
    """AuthError from an HTTP 401 or 403, with the status (a source may renew a token on 401)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def retry_after_seconds(value: str | None, now: float, default: float = DEFAULT_RETRY_AFTER) -> float:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return default
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - now)


def safe_url(url: str) -> str:
    """The URL without query string or user info (either may carry a key): fit for logs and errors."""
    try:
        return str(URL(url).with_query(None).with_fragment(None).with_user(None))
    except (TypeError, ValueError):
        return "(invalid URL)"


class Http:
    """One source's view of the shared aiohttp session, with the shared failure policy.

    Up to `attempts` tries per call on network errors, timeouts and 5xx (exponential backoff with full
    jitter); 429 raises RateLimited and blocks every request until the wait is over; 401/403 raise
    AuthError; other 4xx and unreadable bodies raise BadResponse.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        user_agent: str,
        timeout: float = 30.0,
        attempts: int = 3,
        backoff: float = 0.5,
        backoff_cap: float = 4.0,
        max_body: int = MAX_BODY,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.session = session
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

    def block(self, seconds: float) -> None:
        """Make no request for the next `seconds` (a rate limit the platform announced)."""
        self.blocked_until = max(self.blocked_until, self.clock() + seconds)

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
        return await self._request("GET", url, quota, params=params, headers=headers)

    async def get_bytes(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        quota: QuotaReader | None = None,
    ) -> tuple[int, bytes, Mapping[str, str]]:
        """GET url unparsed (feeds): (status, body, response headers); the status is 2xx or 304."""
        (status, body), response_headers = await self._request(
            "GET", url, quota, params=params, headers=headers, raw=True
        )
        return status, body, response_headers

    async def post_form(
        self,
        url: str,
        data: Mapping[str, str],
        headers: Mapping[str, str] | None = None,
        quota: QuotaReader | None = None,
    ) -> tuple[Any, Mapping[str, str]]:
        """POST a form and parse the JSON answer (OAuth token requests)."""
        return await self._request("POST", url, quota, data=dict(data), headers=headers)

    async def _request(
        self, method: str, url: str, quota: QuotaReader | None, **kwargs: Any
    ) -> tuple[Any, Mapping[str, str]]:
        headers = {"User-Agent": self.user_agent, "Accept": "application/json", **(kwargs.pop("headers") or {})}
        last: TransientError | None = None
        for attempt in range(self.attempts):
            # Checked before every attempt: a retry must not break a block announced meanwhile.
            wait = self.blocked_for()
            if wait > 0:
                raise RateLimited(f"rate limited: no request to {safe_url(url)} for another {wait:.0f}s", wait)
            if attempt:
                # Full jitter: spread retries of many clients instead of having them hit together.
                delay = random.uniform(0, min(self.backoff_cap, self.backoff * 2 ** (attempt - 1)))
                logger.debug("%s %s: retry %d in %.2fs after %s", method, safe_url(url), attempt, delay, last)
                await self.sleep(delay)
            try:
                return await self._once(method, url, headers, quota, **kwargs)
            except TransientError as exc:
                last = exc
        assert last is not None
        raise last

    async def _once(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        quota: QuotaReader | None,
        raw: bool = False,
        **kwargs: Any,
    ) -> tuple[Any, Mapping[str, str]]:
        where = safe_url(url)
        self.requests += 1
        try:
            async with self.session.request(method, url, headers=headers, timeout=self.timeout, **kwargs) as resp:
                status, response_headers = resp.status, resp.headers
                exhausted = quota(response_headers) if quota else None
                if exhausted is not None:
                    self.block(exhausted)
                if status == 429:
                    if "Retry-After" in response_headers:
                        seconds = retry_after_seconds(response_headers["Retry-After"], self.clock())
                    else:
                        seconds = exhausted if exhausted is not None else DEFAULT_RETRY_AFTER
                    self.block(seconds)
                    raise RateLimited(f"HTTP 429 from {where}: waiting {seconds:.0f}s", seconds)
                if status in (401, 403):
                    raise HttpAuthError(f"HTTP {status} from {where}: credentials missing, wrong or refused", status)
                if status >= 500:
                    raise TransientError(f"HTTP {status} from {where}")
                if status >= 400:
                    raise BadResponse(f"HTTP {status} from {where}")
                body = await self._read(resp, where)
        except ValueError as exc:  # InvalidURL and other requests aiohttp will not build: config, not network
            raise BadResponse(f"cannot send a request to {where} ({type(exc).__name__})") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            # The exception's own text may quote the full URL: name its type only.
            raise TransientError(f"{type(exc).__name__} from {where}") from None
        if raw:  # get_bytes: the status too (a 304 has an empty body)
            return (status, body), response_headers
        try:
            return json.loads(body), response_headers
        except ValueError:
            raise BadResponse(f"response from {where} is not JSON") from None

    async def _read(self, resp: aiohttp.ClientResponse, where: str) -> bytes:
        """The whole body, refusing more than max_body bytes (decompressed)."""
        too_big = BadResponse(f"response from {where} is larger than {self.max_body} bytes")
        if resp.content_length is not None and resp.content_length > self.max_body:
            raise too_big
        # content.read(n) returns whatever is buffered, not n bytes: gather chunks up to the cap.
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_any():
            size += len(chunk)
            if size > self.max_body:
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)
