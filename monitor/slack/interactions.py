"""What the alert's buttons do: Acknowledge, Snooze 1h/4h/24h, Not relevant, and Exclude a term.

A button's value carries the incident id and nothing else is taken from it: the incident, its rule,
brand, thread and top term are looked up in the database, so a forged or stale payload can at most
press a button on an incident that exists. Every action is recorded once per (incident, action) in
the same step that carries it out, so a second click or a redelivered envelope does nothing twice;
only when redrawing the alert failed (Slack down) does a second click redraw it.

- Acknowledge: the alert is redrawn in place (chat.update) with who and when; follow-ups in its
  thread stop @-mentioning config's `slack.mention`.
- Snooze: a silence of the incident's rule for its brand, authored by the Slack user, in the same
  store as `monitor silences add`; no new incident (and no update) for that rule and brand until it ends.
- Not relevant: the incident is marked noise (counted by `monitor rules stats`, and its follow-ups
  stop @-mentioning), and a thread reply offers to exclude the alert's top distinctive term.
- Exclude: the term joins the brand's exclusions in the database; the running pipeline leaves out
  mentions containing it from then on (on top of config's `exclude`; mentions already stored stay).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from monitor.clock import Clock
from monitor.durations import format_duration
from monitor.slack.escape import inline, mrkdwn
from monitor.slack.render import SNOOZES, render_blocks, who
from monitor.store import Action, IncidentRow, Store

logger = logging.getLogger(__name__)
ACTIONS = frozenset({"ack", "noise", "exclude", *SNOOZES})
SLACK_ERRORS = (SlackApiError, SlackClientError, aiohttp.ClientError, OSError, TimeoutError)


class Interactions:
    """Carries out block_actions payloads against the store and Slack's Web API."""

    def __init__(
        self,
        store: Store,
        client: AsyncWebClient,
        zone: tzinfo,
        clock: Clock,
        excluded: Callable[[str, str], None] = lambda brand, term: None,
        config_exclusions: Callable[[str], tuple[str, ...]] = lambda brand: (),
    ) -> None:
        self.store = store
        self.client = client
        self.zone = zone
        self.clock = clock
        self.excluded = excluded  # told of a new exclusion (brand, term), so the pipeline applies it now
        self.config_exclusions = config_exclusions
        # Incidents whose alert could not be redrawn after an action (Slack down): a later click on
        # Acknowledge or Not relevant redraws it, though the action itself is not done again.
        self.undrawn: set[str] = set()

    async def handle(self, payload: dict[str, Any]) -> None:
        """Carry out every button press in a block_actions payload; anything else is ignored."""
        if not isinstance(payload, dict) or payload.get("type") != "block_actions":
            return
        user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
        for action in payload.get("actions") or []:
            if isinstance(action, dict):
                await self.act(str(action.get("action_id", "")), str(action.get("value", "")), user or {})

    async def act(self, action_id: str, value: str, user: dict[str, Any]) -> None:
        """One button press by user on the incident whose id is value."""
        if action_id not in ACTIONS:
            logger.info("slack: ignored an unknown button %r", action_id[:50])
            return
        incident = self.store.incident(value)
        if incident is None:
            logger.warning("slack: %s pressed for an unknown incident %r: ignored", action_id, value[:100])
            return
        user_id = str(user.get("id") or user.get("username") or user.get("name") or "someone")[:100]
        now = self.clock()
        if action_id == "exclude":
            await self._exclude(incident, user_id, now)
            return
        with self.store.transaction():
            recorded = self.store.record_action(Action(incident.id, action_id, user_id, now))
            if recorded and action_id in SNOOZES:
                name = str(user.get("username") or user.get("name") or user_id)[:100]
                self.store.add_silence(
                    incident.rule,
                    incident.brand,
                    (),
                    f"{name} (Slack {user_id})",
                    f"snoozed from Slack on {incident.id}",
                    now,
                    now + SNOOZES[action_id],
                )
        if not recorded:
            logger.info("slack: %s on %s was done already: nothing to do", action_id, incident.id)
            if action_id in ("ack", "noise") and incident.id in self.undrawn:
                await self._redraw(incident)  # its redraw failed: a click again draws what was done
            return
        logger.info("slack: %s on %s by %s", action_id, incident.id, user_id)
        if action_id in ("ack", "noise"):
            await self._redraw(incident)
        if action_id in SNOOZES:
            until = self._local(now + SNOOZES[action_id])
            span = format_duration(timedelta(seconds=SNOOZES[action_id]))
            await self._reply(
                incident,
                f":zzz: Snoozed for {span} by {who({'id': user_id})}: no new"
                f" {inline(incident.rule, 100)} incident for {inline(incident.brand, 100)}"
                f" until {until}.",
            )
        elif action_id == "noise":
            await self._offer_exclusion(incident, user_id)

    def top_term(self, incident: IncidentRow) -> str | None:
        """The alert's most distinctive term, unless the brand already excludes it."""
        alert = self.store.kept_alert(incident.id) or {}
        terms = [str(t) for t in alert.get("terms") or [] if str(t).strip()]
        if not terms:
            return None
        excluded = {e.term.lower() for e in self.store.exclusions() if e.brand == incident.brand}
        excluded |= {t.lower() for t in self.config_exclusions(incident.brand)}
        return None if terms[0].lower() in excluded else terms[0]

    async def _offer_exclusion(self, incident: IncidentRow, user_id: str) -> None:
        term = self.top_term(incident)
        said = f":wastebasket: Marked not relevant by {who({'id': user_id})}."
        if term is None:
            await self._reply(incident, said)
            return
        offer = f"{said} Leave out mentions of *{inline(term, 100)}* for {inline(incident.brand, 100)} from now on?"
        button = {
            "type": "button",
            "action_id": "exclude",
            "value": incident.id[:2000],
            "text": {"type": "plain_text", "text": f"Exclude \u201c{term[:60]}\u201d"},
        }
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": mrkdwn(offer)},
            {"type": "actions", "elements": [button]},
        ]
        ts = await self._reply(incident, offer, blocks)
        if ts is not None:
            self.store.record_action(Action(incident.id, "offer", user_id, self.clock(), ts))

    async def _exclude(self, incident: IncidentRow, user_id: str, now: float) -> None:
        term = self.top_term(incident)
        if term is None:
            logger.info("slack: exclude on %s: no term left to exclude", incident.id)
            return
        with self.store.transaction():
            if not self.store.record_action(Action(incident.id, "exclude", user_id, now, term)):
                return
            self.store.add_exclusion(incident.brand, term, user_id, incident.id, now)
        self.excluded(incident.brand, term)
        logger.warning("slack: %s excluded %r for %s", user_id, term, incident.brand)
        said = (
            f":no_entry_sign: {who({'id': user_id})} excluded *{inline(term, 100)}* for"
            f" {inline(incident.brand, 100)}: mentions containing it are left out from now on."
        )
        offer = self.store.actions_on(incident.id).get("offer")
        if offer is not None and incident.channel:
            await self._call(
                "chat.update",
                self.client.chat_update,
                channel=incident.channel,
                ts=offer.detail,
                text=said,
                blocks=[{"type": "section", "text": mrkdwn(said)}],
            )
        else:
            await self._reply(incident, said)

    async def _redraw(self, incident: IncidentRow) -> None:
        """Redraw the opening alert with what people did; buttons already used are gone."""
        alert = self.store.kept_alert(incident.id)
        if alert is None or not incident.thread_ts or not incident.channel:
            logger.info("slack: %s has no delivered alert to redraw", incident.id)
            return
        for action, key in (("ack", "acknowledged"), ("noise", "noise")):
            done = self.store.actions_on(incident.id).get(action)
            if done is not None:
                alert[key] = {"user": {"id": done.user, "name": done.user}, "at": self._local(done.at)}
        text, blocks = render_blocks(alert)
        drawn = await self._call(
            "chat.update",
            self.client.chat_update,
            channel=incident.channel,
            ts=incident.thread_ts,
            text=text,
            blocks=blocks,
        )
        if drawn is None:
            self.undrawn.add(incident.id)
        else:
            self.undrawn.discard(incident.id)

    async def _reply(self, incident: IncidentRow, text: str, blocks: list[dict[str, Any]] | None = None) -> str | None:
        """Post in the incident's thread; the reply's ts, or None when it could not be posted."""
        if not incident.thread_ts or not incident.channel:
            return None
        response = await self._call(
            "chat.postMessage",
            self.client.chat_postMessage,
            channel=incident.channel,
            thread_ts=incident.thread_ts,
            text=text,
            blocks=blocks or [{"type": "section", "text": mrkdwn(text)}],
            unfurl_links=False,
        )
        return None if response is None else str(response.get("ts", "")) or None

    async def _call(self, name: str, method: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return await method(**kwargs)
        except SLACK_ERRORS as exc:
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
            logger.warning("slack: %s failed (%s); the action is recorded all the same", name, error)
            return None

    def _local(self, ts: float) -> str:
        return datetime.fromtimestamp(ts, self.zone).strftime("%a %d %b %H:%M %Z")
