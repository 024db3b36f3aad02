"""Hacker News through the Algolia search API (search_by_date: newest first)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from monitor.config import SourceConfig
from monitor.mention import Mention, html_to_text
from monitor.sources.base import BadResponse, Page
from monitor.sources.http import Http

logger = logging.getLogger(__name__)
REACHABLE_HITS = 1000  # Algolia serves at most this many hits of one query, however it is paged


class HackerNews:
    """Stories and comments that match a query.

    Cursor: {"since": S, "seen": [ids created at second S]} between polls. A poll pages newest-first
    under a fixed upper bound U taken from its first page, so offsets stay put while new items
    arrive; only once the last page is stored does the watermark move to U. Past Algolia's reach of
    1000 hits, paging goes on under a lower bound. A crash between pages resumes from the stored page.
    """

    name: ClassVar[str] = "hackernews"
    base_url: ClassVar[str] = "https://hn.algolia.com/api/v1/"
    interval: ClassVar[timedelta] = timedelta(minutes=5)
    options: ClassVar[dict[str, Any]] = {"tags": "(story,comment)", "hits_per_page": 100}

    def __init__(self, config: SourceConfig, http: Http) -> None:
        self.config = config
        self.http = http
        self.url = config.base_url.rstrip("/") + "/search_by_date"

    async def search(self, query: str, cursor: str | None, since: datetime) -> Page:
        """One page of hits newer than the cursor's watermark (back to since on a first poll)."""
        state: dict[str, Any] = json.loads(cursor) if cursor else {"since": int(since.timestamp()), "seen": []}
        per_page = max(1, min(1000, int(self.config.options.get("hits_per_page", 100))))
        page = int(state.get("page", 0))
        filters = [f"created_at_i>={state['since']}"]
        if "upper" in state:
            filters.append(f"created_at_i<={state['upper']}")
        params = {
            "query": query,
            "tags": str(self.config.options.get("tags", "(story,comment)")),
            "numericFilters": ",".join(filters),
            "hitsPerPage": str(per_page),
            "page": str(page),
        }
        body, _ = await self.http.get_json(self.url, params=params)
        if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
            raise BadResponse("hackernews: answer has no hits list")
        hits = [h for h in body["hits"] if isinstance(h, dict)]
        seen = set(state.get("seen", []))
        mentions = []
        stamps = []
        for hit in hits:
            mention = parse_hit(hit)
            if mention is None:
                continue
            stamp = int(mention.created_at.timestamp())
            stamps.append((stamp, mention.id))
            if not (stamp == state["since"] and mention.id in seen):
                mentions.append(mention)
        if "upper" not in state:
            if not stamps:
                return Page(mentions, json.dumps({"since": state["since"], "seen": sorted(seen)}), False)
            top = max(s for s, _ in stamps)
            state = {**state, "upper": top, "final": top, "final_seen": [i for s, i in stamps if s == top]}
        nb_pages = _int(body.get("nbPages"), 0)
        if hits and page + 1 < nb_pages:
            return Page(mentions, json.dumps({**state, "page": page + 1}), True)
        nb_hits = _int(body.get("nbHits"), 0)
        if hits and stamps and nb_hits > (page + 1) * per_page and (page + 1) * per_page >= REACHABLE_HITS:
            # More hits than Algolia lets us page to: go on under the oldest second seen so far.
            lower_upper = min(s for s, _ in stamps)
            return Page(mentions, json.dumps({**state, "upper": lower_upper, "page": 0}), True)
        final, final_seen = state["final"], set(state["final_seen"])
        if final == state["since"]:
            final_seen |= seen
        return Page(mentions, json.dumps({"since": final, "seen": sorted(final_seen)}), False)


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def parse_hit(hit: dict[str, Any]) -> Mention | None:
    """A Mention from one Algolia hit, or None when the hit lacks what a mention needs."""
    object_id = hit.get("objectID")
    created = hit.get("created_at_i")
    if not isinstance(object_id, str | int) or isinstance(created, bool) or not isinstance(created, int | float):
        return None
    title = hit.get("title") if isinstance(hit.get("title"), str) else ""
    body = next((hit[k] for k in ("comment_text", "story_text") if isinstance(hit.get(k), str) and hit[k]), "")
    text = html_to_text(body)
    title = html_to_text(title or "")
    if not text and not title:
        return None
    author = hit.get("author")
    return Mention(
        platform="hackernews",
        id=str(object_id),
        text=text,
        title=title,
        created_at=datetime.fromtimestamp(created, UTC),
        author=author if isinstance(author, str) else "",
        url=f"https://news.ycombinator.com/item?id={object_id}",
        likes=_int(hit.get("points"), 0),
        replies=_int(hit.get("num_comments"), 0),
    )
