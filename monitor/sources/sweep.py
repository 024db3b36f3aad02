"""The cursor state of the watermark sources: read it, start or go on with a sweep, write it.

A source that pages newest first keeps, between polls, a watermark `mark` (the newest position
fetched), `polled` (when the last finished sweep started, by the platform's clock) and `seen` (key ->
created second of what was fetched at or above the next sweep's floor). A poll is a sweep from `floor`
(`since` on a first poll); while it pages, what it fetched is in `new`, when it started is in
`started`, and the rest of the state (paging token, window) is the source's own. The positions are
the source's: epoch seconds, int or float, or ids (whose time the source knows).

Where a sweep starts. `overlap` bounds how late a platform's search shows a post after it was made
(plus a known fixed `delay`, NewsAPI's free plan: a day). A post the previous sweep did not see was
not shown yet when that sweep started, at P, so it was made after P - delay - overlap; one older than
the watermark less the overlap was shown before the watermark's post was (the old rule). Both bounds
are safe, so the sweep starts at the higher: floor = max(mark, P - delay) - overlap. A quiet query,
whose newest post is older than that, asks for nothing already fetched; a busy one fetches again
what is within the overlap of its newest post, by design. A cursor without `polled` (written before
it existed, or when P was no later than the watermark) starts at mark - overlap, as before.

Clock skew. P is taken by our clock before the sweep's first request and moved back, when the sweep
ends, by how far our clock runs ahead of the platform's (`Http.ahead`, measured on every answer's
Date header, an overestimate by the network time and the header's whole seconds): so P is never
later, by the platform's clock, than the moment the sweep asked. A platform's clock ahead of ours is
not believed (P stays ours). No Date header seen (`ahead` None): no P, the old rule.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection
from typing import Any

from monitor.mention import Mention
from monitor.sanitize import CLOCK_SKEW as CLOCK_SKEW  # one allowance for watermarks and stored mentions
from monitor.sources.base import BadResponse

MAX_SEEN = 5000  # keys kept per map in the cursor; past this the oldest may be fetched again (the store dedups)


def is_int(value: Any) -> bool:
    """A mark in whole epoch seconds."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A mark in epoch seconds, int or float."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(state: dict[str, Any]) -> dict[str, Any]:
    return state


def load(
    cursor: str | None,
    start: Any,
    is_mark: Callable[[Any], bool] = is_int,
    upgrade: Callable[[dict[str, Any]], dict[str, Any]] = _same,
) -> dict[str, Any]:
    """The cursor's state; None (a first poll) starts a sweep back to `start`.

    `upgrade` turns the object of an older cursor format into the current one before it is checked.
    BadResponse when the cursor is not a JSON object with a mark (`is_mark`) and a `seen` object.
    """
    if cursor is None:
        return {"mark": start, "seen": {}, "floor": start}
    try:
        state = json.loads(cursor)
    except ValueError:
        raise BadResponse("the stored cursor is not JSON") from None
    if not isinstance(state, dict):
        raise BadResponse("the stored cursor is not an object")
    state = upgrade(state)
    if not is_mark(state.get("mark")) or not isinstance(state.get("seen"), dict):
        raise BadResponse("the stored cursor has no watermark")
    return state


def low_water(mark: float, polled: Any, overlap: float, delay: float = 0) -> float:
    """The time a new sweep starts from: the watermark's time (`mark`), or the previous sweep's start
    (`polled`, when a number) less `delay` when that is later, less the overlap."""
    top = max(mark, polled - delay) if is_number(polled) else mark
    return top - overlap


def begin(
    state: dict[str, Any], overlap: float, now: float, fresh: Collection[str] = ("new",), delay: float = 0
) -> dict[str, Any]:
    """The state with a sweep under way: one going on keeps its floor and start; a new one starts at
    low_water (whole seconds for int marks) and notes `now` (our clock) as its start.

    `fresh` names the maps of what the sweep fetched (copied when it goes on, empty when it starts).
    A first poll's state (from load) has its floor (`since`) but is not under way yet: it starts now.
    """
    if "floor" in state:
        going = {**state, **{name: dict(state.get(name, {})) for name in fresh}}
        return going if "new" in state else {**going, "started": now}
    low = low_water(state["mark"], state.get("polled"), overlap, delay)
    floor = math.floor(low) if is_int(state["mark"]) else low
    return {**state, "floor": floor, "started": now, **{name: {} for name in fresh}}


def take(state: dict[str, Any], parsed: list[Mention]) -> tuple[list[Mention], list[int]]:
    """A page's mentions not seen or fetched before (recorded in `new` by created second), and the
    created seconds of the whole page; the sweep's first page with any sets `top`."""
    old, new = state["seen"], state["new"]
    mentions = []
    for mention in parsed:
        if mention.id not in old and mention.id not in new:
            mentions.append(mention)
            new[mention.id] = int(mention.created_at.timestamp())
    stamps = [int(m.created_at.timestamp()) for m in parsed]
    if state.get("top") is None and stamps:
        state["top"] = max(stamps)
    return mentions, stamps


def mark(state: dict[str, Any], now: float | None = None) -> Any:
    """The watermark the sweep under way ends with: the newest position of its first page (`top`), never
    below the mark it started from, and, for marks in epoch seconds when `now` is given, never past
    now + CLOCK_SKEW: one item stamped in the future (a platform's or a device's clock ahead) would
    otherwise lift the watermark past everything published until then, and hide it."""
    newest = max(state["mark"], state.get("top") or state["mark"])
    if now is not None and is_number(newest):
        ceiling = now + CLOCK_SKEW
        newest = min(newest, int(ceiling) if is_int(newest) else ceiling)
    return newest


def kept(state: dict[str, Any], horizon: float, old: str = "seen", new: str = "new") -> dict[str, Any]:
    """What a finished sweep keeps in `seen`: what was seen or fetched at or above `horizon`."""
    return {k: v for k, v in {**state[old], **state[new]}.items() if v >= horizon}


def finish(
    state: dict[str, Any],
    mark: Any,
    overlap: float,
    ahead: float | None,
    delay: float = 0,
    mark_time: float | None = None,
    maps: Collection[tuple[str, str]] = (("seen", "new"),),
) -> dict[str, Any]:
    """The cursor state a finished sweep leaves: its watermark, `polled` (its start by the platform's
    clock: `started` less `ahead`, when that is known and later than the watermark's time less delay;
    otherwise it would change no floor) and, for each (old, new) map of `maps`, what was seen or
    fetched at or above the next sweep's floor. `mark_time` is the watermark's time when it is an id."""
    at = mark if mark_time is None else mark_time
    started = state.get("started")
    polled: int | None = None
    if ahead is not None and isinstance(started, int | float):
        start = math.floor(started - max(0.0, ahead))  # a platform clock ahead of ours is not believed
        polled = start if start - delay > at else None
    low = math.floor(low_water(at, polled, overlap, delay))  # no higher than the next begin's floor
    done: dict[str, Any] = {"mark": mark, **{old: kept(state, low, old, new) for old, new in maps}}
    return done if polled is None else {**done, "polled": polled}


def dump(state: dict[str, Any], version: int = 1, trimmed: Collection[str] = ("seen",)) -> str:
    """The cursor text: each map in `trimmed` cut to its MAX_SEEN newest entries; compact, keys sorted."""
    for name in trimmed:
        entries = state.get(name, {})
        if len(entries) > MAX_SEEN:
            state = {**state, name: dict(sorted(entries.items(), key=lambda kv: kv[1])[-MAX_SEEN:])}
    return json.dumps({"v": version, **state}, separators=(",", ":"), sort_keys=True)
