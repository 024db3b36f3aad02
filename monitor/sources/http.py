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

from monitor.sources.base import AuthError, BadResponse, RateLimited, TransientError

logger = logging.getLogger(__name__)
MAX_BODY = 10 * 1024 * 1024
DEFAULT_RETRY_AFTER = 60.0


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
        backoff_cap: float = 8.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.session = session
        self.user_agent = user_agent
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.attempts = attempts
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self.clock = clock
        self.sleep = sleep
        self.blocked_until = 0.0
        self.requests = 0

    def block(self, seconds: float) -> None:
        """Make no request for the next `seconds` (a rate limit the platform announced)."""
        self.blocked_until = max(self.blocked_until, self.clock() + seconds)

    async def get_json(
        self, url: str, params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None
    ) -> tuple[Any, Mapping[str, str]]:
        """GET url and parse JSON; returns (body, response headers)."""
        return await self._request("GET", url, params=params, headers=headers)

    async def post_form(
        self,
        url: str,
        data: Mapping[str, str],
        headers: Mapping[str, str] | None = None,
    ) -> tuple[Any, Mapping[str, str]]:
        """POST a form and parse the JSON answer (OAuth token requests)."""
        return await self._request("POST", url, data=data, headers=headers)

    async def _request(self, method: str, url: str, **kwargs: Any) -> tuple[Any, Mapping[str, str]]:
        wait = self.blocked_until - self.clock()
        if wait > 0:
            raise RateLimited(f"rate limited, {wait:.0f}s left before the next request", wait)
        headers = {"User-Agent": self.user_agent, "Accept": "application/json", **(kwargs.pop("headers") or {})}
        last: Exception | None = None
        for attempt in range(self.attempts):
            if attempt:
                delay = random.uniform(0, min(self.backoff_cap, self.backoff * 2**attempt))
                logger.debug("%s %s: retry %d in %.2fs after %s", method, _path(url), attempt, delay, last)
                await self.sleep(delay)
            try:
                return await self._once(method, url, headers, **kwargs)
            except TransientError as exc:
                last = exc
        assert last is not None
        raise last

    async def _once(
        self, method: str, url: str, headers: Mapping[str, str], **kwargs: Any
    ) -> tuple[Any, Mapping[str, str]]:
        self.requests += 1
        try:
            async with self.session.request(method, url, headers=headers, timeout=self.timeout, **kwargs) as resp:
                status = resp.status
                if status == 429:
                    seconds = retry_after_seconds(resp.headers.get("Retry-After"), self.clock())
                    self.block(seconds)
                    raise RateLimited(f"HTTP 429 from {_path(url)}: waiting {seconds:.0f}s", seconds)
                if status in (401, 403):
                    raise AuthError(f"HTTP {status} from {_path(url)}: credentials missing, wrong or refused")
                if status >= 500:
                    raise TransientError(f"HTTP {status} from {_path(url)}")
                if status >= 400:
                    raise BadResponse(f"HTTP {status} from {_path(url)}")
                if resp.content_length is not None and resp.content_length > MAX_BODY:
                    raise BadResponse(f"response from {_path(url)} is larger than {MAX_BODY} bytes")
                body = await resp.content.read(MAX_BODY + 1)
                if len(body) > MAX_BODY:
                    raise BadResponse(f"response from {_path(url)} is larger than {MAX_BODY} bytes")
                response_headers = resp.headers
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"{type(exc).__name__} from {_path(url)}") from None
        try:
            return json.loads(body), response_headers
        except ValueError:
            raise BadResponse(f"response from {_path(url)} is not JSON") from None


def _path(url: str) -> str:
    """The URL without its query string (which may carry a key)."""
    return url.split("?", 1)[0]
