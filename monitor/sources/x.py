"""X (Twitter) through API v2 recent search: posts of the last seven days, newest first, app bearer token."""

from __future__ import annotations

import html
import logging
import os
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from monitor.config import Brand, SourceConfig
from monitor.mention import Mention, to_utc
from monitor.sources import sweep
from monitor.sources.answers import HttpStatusError
from monitor.sources.base import AuthError, BadResponse, Page, RateLimited, SourceError
from monitor.sources.quota import Quota

if TYPE_CHECKING:
    from monitor.sources.http import Http

logger = logging.getLogger(__name__)
X_EPOCH_MS = 1288834974657  # snowflake ids: milliseconds since this, shifted left 22 bits
REACH = timedelta(days=7)  # recent search sees this far back; an older since_id is refused (400)
# A sweep that must start at that edge starts this far inside it, so that it can page for that long
# before its since_id falls out of reach (then it starts again); one under way keeps its since_id
# while that stays SKEW_MARGIN inside the edge (clock skew and request time).
REACH_MARGIN = 3600.0
SKEW_MARGIN = 60.0
MAX_QUERY = 512  # characters of a recent search query (the basic limit)
_X_HANDLE = re.compile(r"@\w{1,15}")  # an X username (other platforms' handles are left to them)
USER_FIELDS = "username,public_metrics"
TWEET_FIELDS = "created_at,public_metrics,lang,conversation_id,referenced_tweets,note_tweet,author_id"
EXPANSIONS = "author_id,referenced_tweets.id,referenced_tweets.id.author_id"


class X:
    """Posts that match a query, newest first.

    Between polls the cursor holds the watermark `mark` (the newest post id fetched, a string: ids
    pass 2^53) and `seen`, the ids fetched within `overlap` seconds below it. A poll is a sweep over
    since_id = the id the watermark's time (or the previous sweep's start, when later) less the
    overlap would have (sweep.low_water; ids are snowflakes: time in their high bits), so posts the
    index adds late are still found; `seen` filters the rest. The
    sweep pages by next_token with the same since_id; every page's cursor carries the token, so a
    restart resumes mid-sweep, and only after the last page does the watermark move to the newest
    post of the sweep. since_id is kept within the seven days recent search reaches.

    A retweet is not a mention: it counts toward its original's reposts (retweet_count). The original
    comes with the page (expansions=referenced_tweets.id) and is the mention, once, if it is no older
    than `since`. Quotes and replies are posts of their own. Long posts carry their whole text in
    note_tweet. Rate limits: x-rate-limit-remaining 0 blocks every request until x-rate-limit-reset
    (epoch) before X has to answer 429; a 429 usage-capped answer (the app's monthly post cap) or a
    402 (pay-per-use credits spent) pauses the source for `capped_wait` seconds and says why.
    """

    name: ClassVar[str] = "x"
    base_url: ClassVar[str] = "https://api.x.com/2/"
    interval: ClassVar[timedelta] = timedelta(minutes=15)
    options: ClassVar[dict[str, Any]] = {
        "token_env": "X_BEARER_TOKEN",
        "max_results": 100,
        "overlap": 60,
        "capped_wait": 3600,
    }
    quota: ClassVar[Quota | None] = None
    without_credentials: ClassVar[str] = ""

    def __init__(self, config: SourceConfig, http: Http) -> None:
        self.config = config
        self.http = http
        self.url = config.base_url.rstrip("/") + "/tweets/search/recent"
        self.token_env = str(config.options.get("token_env", "X_BEARER_TOKEN"))
        self.max_results = max(10, min(100, int(config.options.get("max_results", 100))))
        self.overlap = max(0, int(config.options.get("overlap", 60)))
        self.capped_wait = float(max(60, int(config.options.get("capped_wait", 3600))))

    @staticmethod
    def tag_queries(brand: Brand) -> tuple[str, ...]:
        """The brand's X handles and hashtags as X's operators, ORed ("@AcmeCloud OR #AcmeCloud"; @ finds
        the posts that mention a handle, replies included), within X's 512 characters a query."""
        tags = [h for h in brand.handles if _X_HANDLE.fullmatch(h)] + list(brand.hashtags)
        queries: list[str] = []
        for tag in tags:
            if queries and len(queries[-1]) + len(tag) + 4 <= MAX_QUERY:
                queries[-1] += f" OR {tag}"
            else:
                queries.append(tag)
        return tuple(queries)

    async def search(self, query: str, cursor: str | None, since: datetime) -> Page:
        """One page of posts newer than the watermark (back to since, at most seven days, on a first poll)."""
        token = os.environ.get(self.token_env, "")
        if not token:
            raise AuthError(f"no X bearer token: set the environment variable {self.token_env}")
        state = _sweep(sweep.load(cursor, str(_id_at(since.timestamp())), _is_id), self.overlap, self.http.clock())
        params = {
            "query": query,
            "max_results": str(self.max_results),
            "since_id": state["floor"],
            "expansions": EXPANSIONS,
            "tweet.fields": TWEET_FIELDS,
            "user.fields": USER_FIELDS,
        }
        if state.get("next"):
            params["next_token"] = state["next"]
        try:
            body = await self._get(params, token)
        except _StaleToken:
            if not state.get("next"):
                raise
            # A next_token can expire: page the sweep from its start again (`new` drops what came already).
            logger.info("x: the stored next_token was refused; paging the sweep from its start again")
            return Page([], sweep.dump({k: v for k, v in state.items() if k != "next"}), True)
        data, users, included, meta = _parts(body)
        old, new = state["seen"], state["new"]
        mentions: list[Mention] = []
        for post in data:
            mention, when = self._mention(post, users, included, since)
            if mention is not None and mention.id not in old and mention.id not in new:
                mentions.append(mention)
                new[mention.id] = when
        ids = [int(p["id"]) for p in data if isinstance(p, dict) and _is_id(p.get("id"))]
        if state.get("top") is None and ids:
            state["top"] = str(max(ids))
        # Never past now + the clock skew sweep allows: a post id from the future would hide later ones.
        ceiling = _id_at(self.http.clock() + sweep.CLOCK_SKEW)
        mark = str(min(max(int(state["mark"]), int(state.get("top") or state["mark"])), ceiling))
        next_token = meta.get("next_token")
        if not data or not isinstance(next_token, str) or not next_token or next_token == state.get("next"):
            done = sweep.finish(state, mark, self.overlap, self.http.ahead, mark_time=_time_of(mark))
            return Page(mentions, sweep.dump(done), False)
        state["next"] = next_token
        return Page(mentions, sweep.dump(state), True)

    def _mention(
        self, post: Any, users: dict[str, Any], included: dict[str, Any], since: datetime
    ) -> tuple[Mention | None, float]:
        """The mention a post stands for (a retweet: its original) and the time that keeps it in `seen`."""
        mention = parse_post(post, users)
        if mention is None:
            return None, 0.0
        original_id = _retweeted(post)
        if original_id is None:
            return mention, mention.created_at.timestamp()
        original = parse_post(included[original_id], users) if original_id in included else None
        if original is None or original.created_at < since:
            return None, 0.0  # its original is out of reach or older than the window: counted in its reposts
        return original, mention.created_at.timestamp()

    async def _get(self, params: dict[str, str], token: str) -> Any:
        """The search answer; an error as X's problem body explains it (_explain)."""
        headers = {"Authorization": f"Bearer {token}"}
        try:
            body, _ = await self.http.get_json(self.url, params=params, headers=headers, quota=self._quota)
        except SourceError as exc:
            raise self._explain(exc) from None
        return body

    def _quota(self, headers: Mapping[str, str]) -> float | None:
        """Seconds until the 15-minute window resets when no request is left in it, else None (also when
        the reset has passed: a 429 then waits Http's default, never "1s")."""
        try:
            remaining = int(headers.get("x-rate-limit-remaining", "1"))
            reset = float(headers.get("x-rate-limit-reset", "0"))
        except ValueError:
            return None
        return self.http.until(reset) if remaining < 1 and reset > 0 else None

    def _explain(self, error: SourceError) -> SourceError:
        """The error X's problem body (of a 4xx) means: usage cap, spent credits, refused token, invalid request."""
        answer = error.response if isinstance(error, HttpStatusError) and error.status < 500 else None
        parsed = answer.json_or_none() if answer else None
        body = parsed if isinstance(parsed, dict) else {}
        status = answer.status if answer else None
        kind = str(body.get("type") or "")
        if status == 429 and (kind.endswith("/usage-capped") or body.get("title") == "UsageCapExceeded"):
            self.http.block(self.capped_wait)
            detail = _short(body.get("detail")) or "usage cap exceeded"
            return RateLimited(
                f"X usage cap reached ({detail}): no search for {self.capped_wait:.0f}s; raise the "
                "cap or wait for its reset day (developer console)",
                self.capped_wait,
            )
        if status == 402:
            self.http.block(self.capped_wait)
            wait = self.capped_wait
            return RateLimited(
                f"X answered 402 Payment Required (credits used up?): no search for {wait:.0f}s; "
                "add credits in the developer console",
                wait,
            )
        if status in (401, 403) or isinstance(error, AuthError):
            reason = _short(body.get("reason") or body.get("title"))
            return AuthError(
                f"X refused the bearer token in {self.token_env} (HTTP {status}"
                f"{': ' + reason if reason else ''}): it must be the bearer token of an app in a "
                "Project with access to recent search"
            )
        if status == 400:
            detail = _problem(body) or "HTTP 400"
            return (_StaleToken if "next_token" in detail else BadResponse)(f"X refused the request: {detail}")
        return error


class _StaleToken(BadResponse):
    """X refused a stored next_token."""


def _short(value: Any) -> str:
    return " ".join(value.split())[:200] if isinstance(value, str) else ""


def _problem(body: Any) -> str:
    """The first message of an errors list, else the problem's detail or title."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return _short(errors[0].get("message") or errors[0].get("detail") or errors[0].get("title"))
    return _short(body.get("detail") or body.get("title")) if isinstance(body, dict) else ""


def _parts(body: Any) -> tuple[list[Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """data, users by id, included posts by id and meta, after reading errors sent with HTTP 200."""
    if not isinstance(body, dict) or not isinstance(body.get("meta"), dict):
        if isinstance(body, dict) and "errors" in body and "data" not in body:
            raise BadResponse(f"X answered with errors only: {_problem(body) or 'no detail'}")
        raise BadResponse("the answer is not a search result (no meta)")
    data = body.get("data", [])
    includes = body.get("includes", {})
    if not isinstance(data, list) or not isinstance(includes, dict):
        raise BadResponse("the answer's data or includes has the wrong shape")
    users = {u["id"]: u for u in includes.get("users") or [] if isinstance(u, dict) and _is_id(u.get("id"))}
    posts = {t["id"]: t for t in includes.get("tweets") or [] if isinstance(t, dict) and _is_id(t.get("id"))}
    return data, users, posts, body["meta"]


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20


def _id_at(epoch: float) -> int:
    """The smallest snowflake id of a post made at epoch seconds."""
    return max(0, int(epoch * 1000) - X_EPOCH_MS) << 22


def _time_of(post_id: str) -> float:
    return ((int(post_id) >> 22) + X_EPOCH_MS) / 1000


def _retweeted(post: dict[str, Any]) -> str | None:
    """The original's id when the post is a retweet (a quote or a reply is a post of its own)."""
    refs = post.get("referenced_tweets")
    for ref in refs if isinstance(refs, list) else []:
        if isinstance(ref, dict) and ref.get("type") == "retweeted" and _is_id(ref.get("id")):
            return str(ref["id"])
    return None


def _lang(value: Any) -> str | None:
    """X's lang, without its codes for no language: und, zxx, and q* (qme media, qht hashtags, ...)."""
    if not isinstance(value, str) or value in ("", "und", "zxx", "art") or (len(value) == 3 and value[0] == "q"):
        return None
    return value


def _count(metrics: Any, key: str) -> int:
    value = metrics.get(key) if isinstance(metrics, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def parse_post(post: Any, users: dict[str, Any]) -> Mention | None:
    """A Mention from one post and the page's users, or None (logged) when it lacks what one needs."""
    post_id = post.get("id") if isinstance(post, dict) else None
    label = post_id if _is_id(post_id) else "(no id)"
    if not isinstance(post, dict) or not _is_id(post_id):
        logger.info("x: skipped post %s: no string id", label)
        return None
    try:
        created = to_utc(post.get("created_at"))
    except ValueError:
        logger.info("x: skipped post %s: unreadable created_at", label)
        return None
    note = post.get("note_tweet")
    whole = note.get("text") if isinstance(note, dict) else None
    text = whole if isinstance(whole, str) and whole else post.get("text")
    if not isinstance(text, str) or not text.strip():
        logger.info("x: skipped post %s: no text", label)
        return None
    # X escapes &, < and > in post text; it is plain text, never HTML: unescape only.
    author = users.get(str(post.get("author_id")), {})
    username = author.get("username") if isinstance(author.get("username"), str) else ""
    reach = author.get("public_metrics") if isinstance(author.get("public_metrics"), dict) else {}
    followers = reach.get("followers_count")
    metrics = post.get("public_metrics")
    return Mention(
        platform="x",
        id=str(post_id),
        text=html.unescape(text).strip(),
        created_at=created,
        author=username,
        author_followers=followers if isinstance(followers, int) and not isinstance(followers, bool) else None,
        url=f"https://x.com/{username}/status/{post_id}" if username else f"https://x.com/i/web/status/{post_id}",
        lang=_lang(post.get("lang")),
        likes=_count(metrics, "like_count"),
        replies=_count(metrics, "reply_count"),
        reposts=_count(metrics, "retweet_count"),
    )


def _sweep(state: dict[str, Any], overlap: int, now: float) -> dict[str, Any]:
    """The state with a sweep under way: a new one starts from the id of sweep.low_water's time.

    The floor never goes past recent search's seven days (X refuses an older since_id): after a
    longer pause, or with a backfill longer than that, the posts in between are out of reach. A
    sweep under way goes on with its since_id and next_token while X still takes that since_id (its
    edge moves on with every page: checked against the edge of a new sweep, a sweep clamped to it
    would start again on every page, paying for page 1 for ever).
    """
    reach = REACH.total_seconds()
    if "new" in state and int(state["floor"]) >= _id_at(now - reach + SKEW_MARGIN):  # mid-sweep: go on
        return sweep.begin(state, overlap, now)
    edge = _id_at(now - reach + REACH_MARGIN)
    if "new" in state:  # a sweep left for days: what it fetched is seen; a new one starts
        kept: dict[str, Any] = {k: state[k] for k in ("mark", "polled") if k in state}
        state = {**kept, "seen": {**state["seen"], **state["new"]}}
    if "floor" in state:  # a first poll: back to since
        floor = int(state["floor"])
    else:  # the id of sweep.low_water's time; with no overlap, never below the watermark itself
        low = _id_at(sweep.low_water(_time_of(state["mark"]), state.get("polled"), overlap))
        floor = low if overlap else max(int(state["mark"]), low)
    if floor < edge:
        logger.info("x: the watermark is past recent search's seven days; sweeping from the oldest reachable post")
        floor = edge
    return {**state, "floor": str(floor), "new": {}, "started": now}
