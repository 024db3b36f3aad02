"""Hacker News through the Algolia search API (search_by_date: newest first)."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from monitor.config import SourceConfig
from monitor.mention import Mention, html_to_text, to_utc
from monitor.sources import sweep
from monitor.sources.base import BadResponse, Page
from monitor.sources.quota import Quota

if TYPE_CHECKING:
    from monitor.sources.http import Http


class HackerNews:
    """Stories and comments that match a query.

    Between polls the cursor holds the watermark `mark` (the newest created_at_i fetched) and `seen`,
    the ids fetched within `overlap` seconds below it. A poll is a sweep, newest first, over
    created_at_i >= mark - overlap, or the previous sweep's start less the overlap when that is later
    (sweep.low_water: hits the index adds late are still found, and a quiet query asks for nothing it
    has; `seen` filters the rest). Each next page asks for created_at_i <= the oldest second of the page
    before (page 0 again),
    so arrivals never shift offsets and Algolia's 1000-hit reach never ends a sweep. The cursor of
    every page says where to go on, so a restart resumes mid-sweep; only after the last page does the
    watermark move to the newest second of the sweep's first page.
    """

    name: ClassVar[str] = "hackernews"
    base_url: ClassVar[str] = "https://hn.algolia.com/api/v1/"
    interval: ClassVar[timedelta] = timedelta(minutes=5)
    options: ClassVar[dict[str, Any]] = {"tags": "(story,comment)", "hits_per_page": 100, "overlap": 300}
    quota: ClassVar[Quota | None] = None
    without_credentials: ClassVar[str] = ""

    def __init__(self, config: SourceConfig, http: Http) -> None:
        self.config = config
        self.http = http
        self.url = config.base_url.rstrip("/") + "/search_by_date"
        self.per_page = max(1, min(1000, int(config.options.get("hits_per_page", 100))))
        self.overlap = max(0, int(config.options.get("overlap", 300)))
        self.tags = str(config.options.get("tags", "(story,comment)"))

    async def search(self, query: str, cursor: str | None, since: datetime) -> Page:
        """One page of hits newer than the cursor's watermark (back to since on a first poll)."""
        state = sweep.load(cursor, int(since.timestamp()), upgrade=_upgrade)
        state = sweep.begin(state, self.overlap, self.http.clock())
        upper: int | None = state.get("upper")
        page: int = state.get("page", 0)
        filters = [f"created_at_i>={state['floor']}"] + ([f"created_at_i<={upper}"] if upper is not None else [])
        params = {
            "query": query,
            "tags": self.tags,
            "numericFilters": ",".join(filters),
            "hitsPerPage": str(self.per_page),
            "page": str(page),
        }
        body, _ = await self.http.get_json(self.url, params=params)
        if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
            raise BadResponse("the answer has no hits list")
        hits: list[Any] = body["hits"]
        old, new = state["seen"], state["new"]
        stamps = [s for s in (_stamp(h) for h in hits) if s is not None]
        mentions = []
        for hit in hits:
            mention = parse_hit(hit)
            if mention is None or mention.id in old or mention.id in new:
                continue
            mentions.append(mention)
            new[mention.id] = int(mention.created_at.timestamp())
        if state.get("top") is None and stamps:
            state["top"] = max(stamps)
        mark = sweep.mark(state, self.http.clock())
        nb_pages = _int(body.get("nbPages"))
        last = page + 1 >= nb_pages if nb_pages is not None else len(hits) < self.per_page
        if not hits or last:
            return Page(mentions, sweep.dump(sweep.finish(state, mark, self.overlap, self.http.ahead), 2), False)
        low = min(stamps, default=None)
        if low is not None and (upper is None or low < upper):
            state["upper"], state["page"] = low, 0  # go on below this page's oldest second
        else:
            state["page"] = page + 1  # a whole page within one second (or unreadable): offset within it
        edge = state["upper"]
        state["new"] = {k: v for k, v in new.items() if v == edge or v >= mark - self.overlap}
        return Page(mentions, sweep.dump(state, 2), True)


def _upgrade(state: dict[str, Any]) -> dict[str, Any]:
    """A cursor from before version 2, {"since": S, "seen": [ids at S]}, as one of now; mid-sweep parts are
    dropped (the sweep restarts from S, and the store drops what it already has)."""
    if "mark" not in state and isinstance(state.get("since"), int):
        return {"mark": state["since"], "seen": dict.fromkeys(map(str, state.get("seen", [])), state["since"])}
    return state


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _stamp(hit: Any) -> int | None:
    """A hit's created_at_i, when it has a usable one."""
    if not isinstance(hit, dict):
        return None
    value = hit.get("created_at_i")
    if isinstance(value, bool) or not isinstance(value, int | float) or not abs(value) < 1e11:  # NaN, inf, absurd
        return None
    return int(value)


def parse_hit(hit: Any) -> Mention | None:
    """A Mention from one Algolia hit, or None when the hit lacks what a mention needs."""
    created = _stamp(hit)
    if created is None:
        return None
    object_id = hit.get("objectID")
    if isinstance(object_id, bool) or not isinstance(object_id, str | int) or object_id == "":
        return None
    # Comments carry their story's title as story_title; it is not the comment's text, so a comment
    # under a story about the brand does not count as a mention by itself. Titles are plain text
    # that may hold entities: unescape only, as "a <b> c" in a title is not a tag.
    title = html.unescape(hit["title"]).strip() if isinstance(hit.get("title"), str) else ""
    body = next((hit[k] for k in ("comment_text", "story_text") if isinstance(hit.get(k), str) and hit[k]), "")
    text = html_to_text(body)
    if not text and not title:
        return None
    author = hit.get("author")
    try:
        when = to_utc(created)  # ValueError for a time no calendar holds (a broken or hostile item)
    except ValueError:
        return None
    return Mention(
        platform="hackernews",
        id=str(object_id),
        text=text,
        title=title,
        created_at=when,
        author=author if isinstance(author, str) else "",
        url=f"https://news.ycombinator.com/item?id={object_id}",
        likes=_int(hit.get("points")) or 0,
        replies=max(0, _int(hit.get("num_comments")) or 0),
    )
