"""Delivering alert events: to Slack with slack-sdk's async client, or to the console."""

from __future__ import annotations

import itertools
import sys
from typing import Any, TextIO

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from monitor.render import render_blocks, render_console

# Errors that retrying cannot fix: they need someone to change config or the Slack app.
PERMANENT = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
                       "channel_not_found", "not_in_channel", "is_archived", "missing_scope", "no_permission",
                       "msg_too_long", "invalid_blocks", "invalid_arguments"})  # fmt: skip


class DeliveryError(Exception):
    """An alert could not be delivered; retryable says whether trying later may succeed."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class SlackDelivery:
    """Posts alerts to a channel; follow-ups go to the incident's thread."""

    def __init__(self, token: str, channel: str, base_url: str, retries: int = 2) -> None:
        self.channel = channel
        self.client = AsyncWebClient(
            token=token,
            base_url=base_url,
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(max_retry_count=retries),
                AsyncRateLimitErrorRetryHandler(max_retry_count=retries),
                AsyncServerErrorRetryHandler(max_retry_count=retries),
            ],
        )

    async def send(self, event: dict[str, Any], thread_ts: str | None) -> str:
        """Post one event; returns the message ts."""
        text, blocks = render_blocks(event)
        kwargs: dict[str, Any] = {"channel": self.channel, "text": text, "blocks": blocks, "unfurl_links": False}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        if "outbox_id" in event:
            kwargs["metadata"] = {
                "event_type": "monitor_alert",
                "event_payload": {"outbox_id": event["outbox_id"], "incident": event.get("incident", "")},
            }
        try:
            response = await self.client.chat_postMessage(**kwargs)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
            retryable = error not in PERMANENT and exc.response.status_code != 400
            raise DeliveryError(f"slack: chat.postMessage failed: {error}", retryable) from None
        except (SlackClientError, OSError, TimeoutError) as exc:
            raise DeliveryError(f"slack: {type(exc).__name__}", True) from None
        return str(response.get("ts", ""))

    async def aclose(self) -> None:
        """Close the client's HTTP session, if it made one."""
        session = getattr(self.client, "session", None)
        if session is not None and not session.closed:
            await session.close()


class ConsoleDelivery:
    """Prints alerts, readably, when no Slack token is configured (and in the demo)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self._ts = itertools.count(1)

    async def send(self, event: dict[str, Any], thread_ts: str | None) -> str:
        """Print one event; returns a synthetic ts."""
        self.stream.write(render_console(event) + "\n")
        self.stream.flush()
        return thread_ts or f"console.{next(self._ts)}"
