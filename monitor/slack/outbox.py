"""The outbox worker: delivers alert events oldest first, removing each only once it was accepted.

A failure stops the drain and backs off (5 s doubling up to 15 min; a refusal that concerns every
alert, such as a revoked token or a missing channel, waits the full 15 min). An event Slack refuses
for good for reasons of its own (msg_too_long, invalid_blocks: `DeliveryError.dead`) is moved to the
dead letters instead, logged once, and the drain goes on with the next one.
"""

from __future__ import annotations

import logging
import random
from typing import Any, Protocol

from monitor.clock import Clock
from monitor.store import Store

logger = logging.getLogger(__name__)
BACKOFF_BASE = 5.0
BACKOFF_CAP = 15 * 60.0


class Delivery(Protocol):
    """Where alert events go: Slack, or the console."""

    async def send(self, event: dict[str, Any], thread_ts: str | None) -> str:
        """Deliver one event (in thread_ts's thread for follow-ups); return the message ts."""
        ...

    async def find(self, event: dict[str, Any], thread_ts: str | None, since: float) -> str | None:
        """The ts of this event's message if it was delivered already (None: not found)."""
        ...


class OutboxWorker:
    """Drains the outbox through a Delivery, in order, with backoff when delivery fails."""

    def __init__(self, store: Store, delivery: Delivery, clock: Clock) -> None:
        self.store = store
        self.delivery = delivery
        self.clock = clock
        self.failing = False
        self.sent = 0
        self.failures = 0
        self.dead = 0

    async def drain(self) -> int:
        """Deliver what is due, oldest first; stop at the first failure. Returns how many were sent."""
        from monitor.slack.delivery import DeliveryError

        sent = 0
        while True:
            items = self.store.pending(limit=50)
            if not items:
                break
            for item in items:
                now = self.clock()
                next_at = self.store.next_attempt_at()
                if next_at is not None and next_at > now:
                    return sent
                # The id is known only once the row exists: it goes into the post's metadata.
                event = {**item.event, "outbox_id": item.id}
                thread = None if event["event"] in ("opened", "digest") else self.store.thread_of(item.incident)
                if thread is not None and self.store.handled(item.incident):
                    event["handled"] = True  # acknowledged or marked noise: follow-ups stop @-mentioning
                try:
                    ts = None
                    if item.sending_at is not None:
                        # An earlier post's outcome was lost (a crash, a broken connection): look first.
                        ts = await self.delivery.find(event, thread, item.sending_at)
                        if ts is not None:
                            logger.info("alert %d was already in Slack: not sending it again", item.id)
                    if ts is None:
                        self.store.sending(item.id, now)
                        ts = await self.delivery.send(event, thread)
                except DeliveryError as exc:
                    if exc.dead:
                        self._dead(item.id, item.incident, event["event"], exc, now)
                        continue
                    self._failed(item.id, item.attempts, exc, now)
                    return sent
                with self.store.transaction():
                    if event["event"] == "opened":
                        self.store.set_thread(item.incident, ts, getattr(self.delivery, "channel_id", None))
                        self.store.keep_alert(item.incident, item.event)
                    self.store.delivered(item.id)
                sent += 1
                self.sent += 1
                if self.failing:
                    logger.warning("alert delivery recovered")
                    self.failing = False
        return sent

    def _failed(self, item_id: int, attempts: int, exc: Exception, now: float) -> None:
        from monitor.slack.delivery import DeliveryError

        assert isinstance(exc, DeliveryError)
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(attempts, 12)) * random.uniform(0.5, 1.0)
        if not exc.retryable:
            delay = BACKOFF_CAP
        self.store.delivery_failed(item_id, str(exc), now + delay, exc.maybe_sent)
        self.failures += 1
        if not self.failing:
            waiting = self.store.outbox_size()
            if exc.retryable:
                logger.warning("alert delivery failing, %d alert(s) kept in the outbox: %s", waiting, exc)
            else:
                logger.error("alerts cannot be delivered until this is fixed, %d kept in the outbox: %s", waiting, exc)
        self.failing = True

    def _dead(self, item_id: int, incident: str, kind: str, exc: Exception, now: float) -> None:
        """Set aside an event Slack refused for good for reasons of its own; the ones after it go on."""
        self.store.dead_letter(item_id, str(exc), now)
        self.dead += 1
        logger.error(
            "alert %d (%s, incident %s) refused for good and set aside as a dead letter"
            " (`monitor status` lists them); later alerts go on: %s",
            item_id,
            kind,
            incident,
            exc,
        )

    def next_due(self) -> float | None:
        """When the oldest waiting event may be tried (None: nothing waits)."""
        return self.store.next_attempt_at()
