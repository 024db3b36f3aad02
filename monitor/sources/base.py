"""The Source protocol every platform module implements, and the errors a poll can raise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol

from monitor.config import Brand
from monitor.mention import Mention
from monitor.sources.quota import Quota

Keep = Callable[[Mention], bool]  # whether the brand filter keeps a mention (its query, exclusions, own accounts)
# Lookups that cost quota, for a page's mentions: given them and the brand filter, the same mentions with
# what the lookups add, filled in only for those the filter keeps (the rest as they came).
Enrich = Callable[[list[Mention], Keep], Awaitable[list[Mention]]]


@dataclass(frozen=True, slots=True)
class Page:
    """One fetched page: its mentions, the cursor to persist once they are stored, and whether more waits.

    `enrich`, when the source has lookups that cost quota (YouTube's videos and channels, Bluesky's
    profiles), is called by the poll once the brand filter is known, so that nothing is paid for a
    mention the filter then drops; a caller that skips it stores the mentions without what it adds.
    """

    mentions: list[Mention]
    cursor: str  # opaque (JSON text), owned by the source; stored with the mentions in one transaction
    more: bool  # another page is ready to fetch now with `cursor`
    enrich: Enrich | None = None


class Source(Protocol):
    """A platform search. Class attributes give config defaults; options are validated by config.

    A source that can search by a brand's handles or hashtags also has `tag_queries(brand)`: the
    search texts for them (see tag_queries below); its `search` reads those texts.
    """

    name: ClassVar[str]
    base_url: ClassVar[str]  # default base URL
    interval: ClassVar[timedelta]  # default poll interval
    options: ClassVar[dict[str, Any]]  # option name -> default (its type is the option's type)
    quota: ClassVar[Quota | None]  # the platform's documented budget, if it has one
    without_credentials: ClassVar[str]  # what it still does when its optional credentials are unset ("": it pauses)

    async def search(self, query: str, cursor: str | None, since: datetime) -> Page:
        """Fetch the next page of mentions of `query` after `cursor` (None: first poll, back to `since`)."""
        ...


def tag_queries(source: Source, brand: Brand) -> tuple[str, ...]:
    """What a source searches for a brand's handles and hashtags besides the brand's queries, in its
    platform's terms (X: "@AcmeCloud OR #AcmeCloud"; Mastodon: a hashtag's timeline); nothing on a
    platform that cannot search by them (its searches still count a post that tags one)."""
    own = getattr(source, "tag_queries", None)
    found: tuple[str, ...] = tuple(own(brand)) if callable(own) and (brand.handles or brand.hashtags) else ()
    return tuple(q for q in dict.fromkeys(found) if q not in brand.queries)


class SourceError(Exception):
    """A poll failed; the message is safe to log (no secrets)."""

    retry_after: float | None = None


class TransientError(SourceError):
    """Network error, timeout or 5xx that survived the in-poll retries: back off and try later."""


class RateLimited(SourceError):
    """The platform said to slow down; no request to it until retry_after seconds have passed."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthError(SourceError):
    """Credentials missing, wrong or refused (401/403): the source pauses until config changes."""


class BadResponse(SourceError):
    """The platform answered with something we cannot read (wrong shape, not JSON, error body)."""
