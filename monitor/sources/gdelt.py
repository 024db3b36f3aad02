"""GDELT DOC 2.0 article search (mode=artlist): world news, newest first, no key, one request per 5 s."""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from monitor.config import SourceConfig
from monitor.mention import Mention, to_utc
from monitor.sources import sweep
from monitor.sources.answers import safe_url
from monitor.sources.base import BadResponse, Page, RateLimited
from monitor.sources.quota import MinimumGap, Quota

if TYPE_CHECKING:
    from monitor.sources.http import Http

logger = logging.getLogger(__name__)
TRIMMED = ("seen", "titles")  # urls and titles kept in the cursor (each cut to sweep.MAX_SEEN)
REACH = 89 * 86400  # the DOC API searches the last three months: an older start is moved up to this
STAMP = "%Y%m%d%H%M%S"

# The names GDELT gives the languages it translates, as ISO 639-1 codes.
LANGUAGES = {
    "afrikaans": "af",
    "albanian": "sq",
    "arabic": "ar",
    "armenian": "hy",
    "azerbaijani": "az",
    "basque": "eu",
    "belarusian": "be",
    "bengali": "bn",
    "bosnian": "bs",
    "bulgarian": "bg",
    "burmese": "my",
    "catalan": "ca",
    "chinese": "zh",
    "croatian": "hr",
    "czech": "cs",
    "danish": "da",
    "dutch": "nl",
    "english": "en",
    "estonian": "et",
    "finnish": "fi",
    "french": "fr",
    "galician": "gl",
    "georgian": "ka",
    "german": "de",
    "greek": "el",
    "gujarati": "gu",
    "hebrew": "he",
    "hindi": "hi",
    "hungarian": "hu",
    "icelandic": "is",
    "indonesian": "id",
    "irish": "ga",
    "italian": "it",
    "japanese": "ja",
    "kannada": "kn",
    "kazakh": "kk",
    "khmer": "km",
    "korean": "ko",
    "kurdish": "ku",
    "lao": "lo",
    "latvian": "lv",
    "lithuanian": "lt",
    "macedonian": "mk",
    "malay": "ms",
    "malayalam": "ml",
    "maltese": "mt",
    "marathi": "mr",
    "mongolian": "mn",
    "nepali": "ne",
    "norwegian": "no",
    "pashto": "ps",
    "persian": "fa",
    "polish": "pl",
    "portuguese": "pt",
    "punjabi": "pa",
    "romanian": "ro",
    "russian": "ru",
    "serbian": "sr",
    "sinhala": "si",
    "sinhalese": "si",
    "slovak": "sk",
    "slovenian": "sl",
    "somali": "so",
    "spanish": "es",
    "swahili": "sw",
    "swedish": "sv",
    "tagalog": "tl",
    "tamil": "ta",
    "telugu": "te",
    "thai": "th",
    "tibetan": "bo",
    "turkish": "tr",
    "ukrainian": "uk",
    "urdu": "ur",
    "uzbek": "uz",
    "vietnamese": "vi",
    "welsh": "cy",
}

_BEFORE = re.compile(r"\s+([,.;:!?%)\]}])")  # "outage , says" -> "outage, says"
_AFTER = re.compile(r"([(\[{$£€])\s+")  # "( Reuters" -> "(Reuters"
_APOSTROPHE = re.compile(r"(\w)\s*(['’])\s*(s|t|re|ve|ll|d|m)\b", re.IGNORECASE)  # "Acme ' s" -> "Acme's"
_ELISION = re.compile(r"(?<!\w)(\w)\s*(['’])\s*(?=\w)")  # "d ' entreprises" -> "d'entreprises"
_INITIALS = re.compile(r"\b([A-Z])\. (?=[A-Z]\.)")  # "U. S." -> "U.S."
_SPACES = re.compile(r"\s+")
_HYPHENATED = re.compile(r"\b\w+(?: - \w+)+\b")  # "us - east - 2": the tokeniser's spaces around a hyphen
# Words that start compounds ("self - driving"): with them, two parts are one word even without a digit.
_PREFIXES = frozenset("anti co cross e ex multi non post pre re self semi sub well".split())
_NOT_WORD = re.compile(r"[\W_]+")


class Gdelt:
    """News articles that match a query, as GDELT saw them (seendate), syndicated copies folded.

    GDELT has no paging: the time window slides. Between polls the cursor holds the watermark `mark`
    (the newest seendate fetched), `seen` (urls fetched within `overlap` seconds below it) and
    `titles` (the normalised titles of those articles). A poll is a sweep, newest first, from
    mark - overlap, or the previous sweep's start less the overlap when that is later (sweep.low_water;
    GDELT shows what it saw within its 15-minute updates, well inside the hour); each next request ends
    its window (enddatetime) just past the oldest second of the
    answer before, so a sweep reaches past the 250 records one answer holds, and a restart resumes
    mid-sweep.
    More than max_records articles in one second cannot be reached: the rest of that second is
    skipped (logged). Copies of one story (the same normalised title from several sites) become one
    mention, the earliest seen, whose `reposts` counts the other copies in the same answer; a copy
    that comes in a later answer is dropped as already counted. GDELT asks for one request every
    5 s: after each request the Http is blocked for `min_gap` seconds, and a sweep waits that gap out
    itself (one request at a time) rather than failing; the plain-text refusal (HTTP 429 or 200)
    raises RateLimited and blocks for `refusal_wait`.
    """

    name: ClassVar[str] = "gdelt"
    base_url: ClassVar[str] = "https://api.gdeltproject.org/api/v2/doc/"
    interval: ClassVar[timedelta] = timedelta(minutes=15)  # GDELT publishes a new batch every 15 minutes
    options: ClassVar[dict[str, Any]] = {"max_records": 250, "overlap": 3600, "min_gap": 5.0, "refusal_wait": 60.0}
    quota: ClassVar[Quota | None] = MinimumGap(5.0, "GDELT")
    without_credentials: ClassVar[str] = ""

    def __init__(self, config: SourceConfig, http: Http) -> None:
        self.config = config
        self.http = http
        self.url = config.base_url.rstrip("/") + "/doc"
        self.max_records = max(1, min(250, int(config.options.get("max_records", 250))))
        self.overlap = max(0, int(config.options.get("overlap", 3600)))
        self.min_gap = max(0.0, float(config.options.get("min_gap", 5.0)))
        self.refusal_wait = max(self.min_gap, float(config.options.get("refusal_wait", 60.0)))
        import asyncio  # here: `monitor check` reads the sources' options without loading asyncio

        self.lock = asyncio.Lock()
        self.gap_until = 0.0  # when the spacing this source imposed on itself ends

    async def search(self, query: str, cursor: str | None, since: datetime) -> Page:
        """One answer's articles newer than the cursor's watermark (back to since on a first poll)."""
        now = self.http.clock()
        state = sweep.begin(_load(cursor, since, int(now)), self.overlap, now, ("new", "new_titles"))
        upper: int | None = state.get("upper")
        params = {
            "query": query,
            "mode": "artlist",
            "format": "json",
            "maxrecords": str(self.max_records),
            "sort": "datedesc",
            "startdatetime": _fmt(state["floor"]),
        }
        if upper is not None:
            params["enddatetime"] = _fmt(upper)
        articles = _articles(await self._fetch(params))
        parsed = [p for p in (parse_article(a) for a in articles) if p is not None]
        old, new = state["seen"], state["new"]
        old_titles, new_titles = state["titles"], state["new_titles"]
        mentions = []
        for mention, key in fold(parsed):
            if mention.id in old or mention.id in new or key in old_titles or key in new_titles:
                continue
            stamp = int(mention.created_at.timestamp())
            mentions.append(mention)
            new[mention.id], new_titles[key] = stamp, stamp
        stamps = [int(m.created_at.timestamp()) for m, _ in parsed]
        if state.get("top") is None and stamps:
            state["top"] = max(stamps)
        mark = sweep.mark(state, self.http.clock())
        if not stamps or len(articles) < self.max_records:
            maps = (("seen", "new"), ("titles", "new_titles"))
            done = sweep.finish(state, mark, self.overlap, self.http.ahead, maps=maps)
            return Page(mentions, sweep.dump(done, trimmed=TRIMMED), False)
        low = min(stamps)
        if upper is None or low + 1 < upper:
            # Go on below this answer's oldest second, that second included whether GDELT's end is
            # inclusive or not (seendates fall on 15-minute marks: one second may hold many articles).
            state["upper"] = low + 1
        else:
            state["upper"] = low - 1
            logger.info(
                "gdelt: more than %d articles seen at %s: the rest of that second is skipped",
                self.max_records,
                _fmt(low),
            )
        end = state["upper"]
        state["new"] = {k: v for k, v in new.items() if end - 1 <= v <= end or v >= mark - self.overlap}
        state["new_titles"] = {k: v for k, v in new_titles.items() if end - 1 <= v <= end or v >= mark - self.overlap}
        return Page(mentions, sweep.dump(state, trimmed=TRIMMED), True)

    async def _fetch(self, params: dict[str, str]) -> str:
        """The answer's text, one request at a time, at least min_gap seconds apart."""
        async with self.lock:
            wait = self.http.blocked_for()
            if wait > 0 and self.http.blocked_until <= self.gap_until:
                await self.http.sleep(wait + 0.01)  # only our own spacing: wait it out, never a refusal
            before = self.http.requests
            try:
                # A 429 is GDELT's plain-text refusal: read here, to block for refusal_wait.
                response = await self.http.request(
                    "GET", self.url, params=params, readable=(429,), retry_gap=self.min_gap
                )
            finally:
                if self.http.requests > before and self.min_gap:
                    # One reading of the clock: read twice, the block ended a moment after gap_until, and
                    # was taken for a refusal (RateLimited) instead of our own spacing to wait out.
                    self.gap_until = self.http.clock() + self.min_gap
                    self.http.block_until(self.gap_until)
        status, stripped = response.status, response.text.strip()
        if status == 429 or stripped.lower().startswith("please limit requests"):
            self.http.block(self.refusal_wait)
            raise RateLimited(
                f"GDELT refused the request (HTTP {status}): waiting {self.refusal_wait:.0f}s", self.refusal_wait
            )
        return stripped


def _articles(text: str) -> list[Any]:
    """The answer's articles: {} is no results; other text is an error GDELT sends with HTTP 200."""
    try:
        body = json.loads(text, strict=False)  # titles may hold raw control characters
    except ValueError:
        snippet = _SPACES.sub(" ", text[:120]).strip() or "an empty answer"
        raise BadResponse(f"GDELT answered with text, not JSON: {snippet!r}") from None
    if not isinstance(body, dict):
        raise BadResponse("the answer is not an object")
    articles = body.get("articles", [])
    if not isinstance(articles, list):
        raise BadResponse("the answer's articles are not a list")
    return articles


def clean_title(title: str) -> str:
    """A GDELT title without its tokeniser's spaces around punctuation (and without entities)."""
    text = _SPACES.sub(" ", html.unescape(title)).strip()
    text = _HYPHENATED.sub(_hyphenated, text)
    text = _APOSTROPHE.sub(lambda m: f"{m[1]}{m[2]}{m[3]}", text)
    text = _ELISION.sub(r"\1\2", text)
    text = _INITIALS.sub(r"\1.", _AFTER.sub(r"\1", _BEFORE.sub(r"\1", text)))
    # Double quotes come as ' " word " ': pair them up, opening then closing.
    parts = text.split('"')
    if len(parts) % 2 == 1 and len(parts) > 1:
        out = parts[0]
        for i, part in enumerate(parts[1:]):
            out = (out.rstrip() + ' "' + part.lstrip()) if i % 2 == 0 else (out.rstrip() + '"' + part)
        text = out.strip()
    return text


def _hyphenated(match: re.Match[str]) -> str:
    """Hyphenated words the tokeniser spaced out, joined again: a run of three or more parts
    ("us - east - 2", "state - of - the - art"), or two with a digit ("COVID - 19"), a part of one
    to three letters ("e - mail", "Wi - Fi") or a compound's first word ("self - driving"). Two longer
    words stay apart ("outage - what we know"): that is as likely a dash in the headline itself."""
    parts = match[0].split(" - ")
    joined = (
        len(parts) >= 3
        or any(char.isdigit() for part in parts for char in part)
        or any(len(part) <= 3 for part in parts)
        or parts[0].lower() in _PREFIXES
    )
    return "-".join(parts) if joined else match[0]


def title_key(title: str) -> str:
    """What copies of one story share: the title lowercased, without punctuation, hashed short."""
    normal = _NOT_WORD.sub(" ", title.casefold()).strip()
    return hashlib.sha1(normal.encode()).hexdigest()[:16]


def parse_article(article: Any) -> tuple[Mention, str] | None:
    """A Mention and its title key from one artlist record, or None (logged) when it lacks what one needs."""
    if not isinstance(article, dict):
        logger.debug("gdelt: skipped a record that is not an object")
        return None
    url, title, seen = article.get("url"), article.get("title"), article.get("seendate")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        logger.debug("gdelt: skipped a record without a url")
        return None
    try:
        created = to_utc(seen) if isinstance(seen, str) else None
    except ValueError:
        created = None
    clean = clean_title(title) if isinstance(title, str) else ""
    if created is None or not clean:
        logger.debug("gdelt: skipped %s: no readable seendate or title", safe_url(url))
        return None
    domain, language = article.get("domain"), article.get("language")
    lang = LANGUAGES.get(language.strip().lower()) if isinstance(language, str) else None
    mention = Mention(
        platform="gdelt",
        id=url,
        text="",
        title=clean,
        created_at=created,
        author=domain if isinstance(domain, str) else "",
        url=url,
        lang=lang,
    )
    return mention, title_key(clean)


def fold(parsed: list[tuple[Mention, str]]) -> list[tuple[Mention, str]]:
    """One mention per story: the earliest copy of each title, its reposts the number of other copies."""
    groups: dict[str, list[Mention]] = {}
    for mention, key in parsed:
        groups.setdefault(key, []).append(mention)
    folded = []
    for key, copies in groups.items():
        first = min(copies, key=lambda m: m.created_at)  # min keeps the first listed among equals
        urls = {m.id for m in copies}
        folded.append((dataclasses.replace(first, reposts=len(urls) - 1), key))
    return folded


def _fmt(stamp: int) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime(STAMP)


def _load(cursor: str | None, since: datetime, now: int) -> dict[str, Any]:
    """The cursor's state, its seen titles too; None (first poll) starts a sweep back to since (at most
    three months)."""
    state = sweep.load(cursor, max(int(since.timestamp()), now - REACH))
    if not isinstance(state.get("titles", {}), dict):
        raise BadResponse("the stored cursor has no seen titles")
    return {"titles": {}, **state}
