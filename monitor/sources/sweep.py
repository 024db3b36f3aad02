"""The cursor state of the watermark sources: read it, start or go on with a sweep, write it.

A source that pages newest first keeps, between polls, a watermark `mark` (the newest position
fetched) and `seen` (key -> position of what was fetched within its overlap below the mark). A poll
is a sweep from `floor` (mark - overlap, or `since` on a first poll); while it pages, what it fetched
is in `new`, and the rest of the state (paging token, window) is the source's own. The positions
are the source's: epoch seconds, int or float, or ids.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any

from monitor.mention import Mention
from monitor.sources.base import BadResponse

CLOCK_SKEW = 300  # seconds a platform's clock may run ahead of ours before its times are not believed
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


def begin(state: dict[str, Any], overlap: float, fresh: Collection[str] = ("new",)) -> dict[str, Any]:
    """The state with a sweep under way: a new one starts from the watermark less the overlap.

    `fresh` names the maps of what the sweep fetched (copied when it goes on, empty when it starts).
    """
    if "floor" in state:
        return {**state, **{name: dict(state.get(name, {})) for name in fresh}}
    return {**state, "floor": state["mark"] - overlap, **{name: {} for name in fresh}}


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


def dump(state: dict[str, Any], version: int = 1, trimmed: Collection[str] = ("seen",)) -> str:
    """The cursor text: each map in `trimmed` cut to its MAX_SEEN newest entries; compact, keys sorted."""
    for name in trimmed:
        entries = state.get(name, {})
        if len(entries) > MAX_SEEN:
            state = {**state, name: dict(sorted(entries.items(), key=lambda kv: kv[1])[-MAX_SEEN:])}
    return json.dumps({"v": version, **state}, separators=(",", ":"), sort_keys=True)
