"""The outbox worker: delivers alert events oldest first, removing each only once it was accepted."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any, Protocol

from monitor.store import Store

logger = logging.getLogger(__name__)
BACKOFF_BASE = 5.0
BACKOFF_CAP = 15 * 60.0


class Delivery(Protocol):
    """Where alert events go: Slack, or the console."""

    async def send(self, event: dict[str, Any], thread_ts: str | None) -> str:
        """Deliver one event (in thread_ts's thread for follow-ups); return the message ts."""
        ...


class OutboxWorker:
    """Drains the outbox through a Delivery, in order, with backoff when delivery fails."""

    def __init__(self, store: Store, delivery: Delivery, clock: Callable[[], float]) -> None:
        self.store = store
        self.delivery = delivery
        self.clock = clock
        self.failing = False
        self.sent = 0
        self.failures = 0

    async def drain(self) -> int:
        """Deliver what is due, oldest first; stop at the first failure. Returns how many were sent."""
        from monitor.slack import DeliveryError

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
                event = item.event
                thread = None if event["event"] == "opened" else self.store.thread_of(item.incident)
                try:
                    ts = await self.delivery.send(event, thread)
                except DeliveryError as exc:
                    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(item.attempts, 12))
                    delay *= random.uniform(0.5, 1.0)
                    if not exc.retryable:
                        delay = BACKOFF_CAP
                    self.store.delivery_failed(item.id, str(exc), now + delay)
                    self.failures += 1
                    if not self.failing:
                        logger.warning("alert delivery failing (%d waiting): %s", self.store.outbox_size(), exc)
                    self.failing = True
                    return sent
                with self.store.transaction():
                    if event["event"] == "opened":
                        self.store.set_thread(item.incident, ts)
                    self.store.delivered(item.id)
                sent += 1
                self.sent += 1
                if self.failing:
                    logger.warning("alert delivery recovered")
                    self.failing = False
        return sent

    def next_due(self) -> float | None:
        """When the oldest waiting event may be tried (None: nothing waits)."""
        return self.store.next_attempt_at()
