"""What a platform answered: the Response, the errors its status means, and reading Retry-After.

Apart from the client (http.py) so that the source modules can name these without importing aiohttp:
`monitor check` loads every source's defaults and should start at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from monitor.sources.base import AuthError, BadResponse, RateLimited, SourceError, TransientError

MAX_BODY = 10 * 1024 * 1024
ERROR_BODY_CAP = 64 * 1024  # an error answer's body is kept up to this size (no platform's error is longer)
DEFAULT_RETRY_AFTER = 60.0
MAX_WAIT = 86400.0  # the longest wait a rate-limit header is believed for

# headers -> seconds until the platform's request window resets when it is used up, else None
QuotaReader = Callable[[Mapping[str, str]], float | None]


@dataclass(frozen=True, slots=True)
class Response:
    """One answer: its status, headers and whole body; `where` is the URL fit for messages (safe_url)."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    where: str

    @property
    def text(self) -> str:
        """The body as text (UTF-8; undecodable bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; BadResponse when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise BadResponse(f"response from {self.where} is not JSON") from None

    def json_or_none(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON (an error page from a proxy, an empty body)."""
        try:
            return json.loads(self.body, strict=False)
        except ValueError:
            return None


class HttpStatusError(SourceError):
    """Raised for an HTTP error status, with the answer: `.status`, and `.response` (its body capped at
    ERROR_BODY_CAP; empty when longer or unreadable). The message names the status and safe_url only.

    Every raise is also the SourceError the status means: HttpRateLimited (429) is RateLimited,
    HttpAuthError (401, 403) is AuthError, HttpServerError (5xx) is TransientError and
    HttpClientError (other 4xx) is BadResponse.
    """

    def __init__(self, message: str, response: Response) -> None:
        SourceError.__init__(self, message)  # not super(): RateLimited's __init__ wants retry_after
        self.response = response
        self.status = response.status


class HttpAuthError(HttpStatusError, AuthError):
    """HTTP 401 or 403 (a source may renew a token on 401)."""


class HttpRateLimited(HttpStatusError, RateLimited):
    """HTTP 429: the Http is blocked for retry_after seconds."""

    def __init__(self, message: str, response: Response, retry_after: float) -> None:
        super().__init__(message, response)
        self.retry_after = retry_after


class HttpServerError(HttpStatusError, TransientError):
    """A 5xx that lasted through the retries (each attempt raises one; the last is what the caller sees)."""


class HttpClientError(HttpStatusError, BadResponse):
    """A 4xx other than 401, 403 and 429."""


def retry_after_seconds(value: str | None, now: float, default: float = DEFAULT_RETRY_AFTER) -> float:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return default
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import email.utils  # here: `monitor check` reads the sources' options without the email package

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - now)


def safe_url(url: str) -> str:
    """The URL without query string or user info (either may carry a key): fit for logs and errors."""
    from yarl import URL  # here: `monitor check` reads the sources' options without the HTTP libraries

    try:
        return str(URL(url).with_query(None).with_fragment(None).with_user(None))
    except (TypeError, ValueError):
        return "(invalid URL)"
