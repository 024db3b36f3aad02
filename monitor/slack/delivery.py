"""Delivering alert events: to Slack with slack-sdk's async client, or to the console."""

from __future__ import annotations

import itertools
import logging
import sys
from typing import Any, TextIO

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from monitor.slack.chart import chart_png
from monitor.slack.escape import escape_mrkdwn, mrkdwn
from monitor.slack.render import render_blocks, render_console

logger = logging.getLogger(__name__)

# Errors that retrying cannot fix: they need someone to change config or the Slack app.
PERMANENT = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "missing_scope",
        "no_permission",
        "msg_too_long",
        "invalid_blocks",
        "invalid_arguments",
    }
)


# Permanent refusals of one message alone (its size or blocks): every other alert may still go, so
# the outbox sets this one aside as a dead letter instead of retrying it ahead of the rest.
MESSAGE_REFUSALS = frozenset(
    {
        "msg_too_long",
        "invalid_blocks",
        "invalid_arguments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "too_many_attachments",
        "invalid_attachments",
        "no_text",
    }
)


# What to tell ops when Slack refuses for a reason only they can fix.
ADVICE = {
    "invalid_auth": "the token is wrong: check the variable config's slack.token_env names",
    "not_authed": "no token was sent: check the variable config's slack.token_env names",
    "token_revoked": "the token was revoked: reinstall the Slack app and update the token",
    "account_inactive": "the token's app or user was deactivated",
    "channel_not_found": "no such channel: check slack.channel (a name like #pr-alerts or an id)",
    "not_in_channel": "the bot is not in the channel: invite it there with /invite @your-app",
    "is_archived": "the channel is archived: unarchive it or change slack.channel",
    "missing_scope": "the Slack app lacks a scope: give it chat:write (see docs/deploy.md)",
}


class DeliveryError(Exception):
    """An alert could not be delivered.

    retryable: trying later may succeed. maybe_sent: the outcome is unknown (the connection broke or
    Slack failed after the request was sent), so the post must be looked for before it is sent again.
    """

    def __init__(self, message: str, retryable: bool, maybe_sent: bool = False, dead: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.maybe_sent = maybe_sent
        self.dead = dead  # refused for good for reasons of this message alone: set it aside, go on


class SlackDelivery:
    """Posts alerts to a channel; follow-ups go to the incident's thread."""

    def __init__(self, token: str, channel: str, base_url: str, retries: int = 2, mention: str = "") -> None:
        self.channel = channel
        self.mention = mention
        # The channel's id, learned from Slack's answers (history look-ups need the id, not the name).
        self.channel_id: str | None = channel if _is_channel_id(channel) else None
        self.client = AsyncWebClient(token=token, base_url=base_url, retry_handlers=retry_handlers(retries))

    async def send(self, event: dict[str, Any], thread_ts: str | None) -> str:
        """Post one event; returns the message ts."""
        text, blocks = render_blocks(event, self.mention)
        kwargs: dict[str, Any] = {"channel": self.channel, "text": text, "blocks": blocks, "unfurl_links": False}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
            kwargs["reply_broadcast"] = False
        if "outbox_id" in event:
            kwargs["metadata"] = {
                "event_type": "monitor_alert",
                "event_payload": {"outbox_id": event["outbox_id"], "incident": event.get("incident", "")},
            }
        try:
            response = await self.client.chat_postMessage(**kwargs)
        except SlackApiError as exc:
            raise _delivery_error("chat.postMessage", exc) from None
        except aiohttp.ClientConnectorError as exc:
            raise DeliveryError(f"slack: cannot connect ({type(exc).__name__})", True) from None
        except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DeliveryError(f"slack: {type(exc).__name__}", True, maybe_sent=True) from None
        if isinstance(response.get("channel"), str):
            self.channel_id = response["channel"]
        ts = str(response.get("ts", ""))
        if event.get("chart") and event["event"] in ("opened", "digest"):
            await self._attach_chart(event, ts)
        return ts

    async def _attach_chart(self, event: dict[str, Any], thread_ts: str) -> None:
        """Upload the chart into the alert's (or digest's) thread; the message stands without it if that fails."""
        png = chart_png(event["chart"])
        if png is None or self.channel_id is None:
            return
        try:
            await self.client.files_upload_v2(
                channel=self.channel_id,
                thread_ts=thread_ts,
                file=png,
                filename="chart.png",
                title=str(event["chart"].get("title", "chart")),
                alt_txt=str(event["chart"].get("alt", "hourly mentions against the usual range")),
            )
        except (SlackApiError, SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            logger.warning("chart upload failed, the alert went out without it: %s", type(exc).__name__)

    async def find(self, event: dict[str, Any], thread_ts: str | None, since: float) -> str | None:
        """The ts of this event's message if Slack already has it (a post whose answer was lost)."""
        if self.channel_id is None or "outbox_id" not in event:
            return None
        oldest = f"{since - 60:.6f}"
        try:
            if thread_ts:
                response = await self.client.conversations_replies(
                    channel=self.channel_id, ts=thread_ts, oldest=oldest, limit=200, include_all_metadata=True
                )
            else:
                response = await self.client.conversations_history(
                    channel=self.channel_id, oldest=oldest, limit=200, include_all_metadata=True
                )
        except SlackApiError as exc:
            raise _delivery_error("looking for an earlier post", exc) from None
        except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DeliveryError(f"slack: {type(exc).__name__}", True, maybe_sent=True) from None
        wanted = {"outbox_id": event["outbox_id"], "incident": event.get("incident", "")}
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == "monitor_alert" and metadata.get("event_payload") == wanted:
                return str(message["ts"])
        return None

    async def aclose(self) -> None:
        """Close the client's HTTP session, if it made one."""
        await _close_session(self.client)


def retry_handlers(retries: int) -> list[AsyncRetryHandler]:
    """slack-sdk retries for what Slack surely did not post: a 429, or a connection never made."""
    # A 5xx or a connection broken mid-request may come after Slack posted: those are not retried here
    # but by the outbox, which looks for the post first (metadata carries the outbox id).
    return [
        AsyncRateLimitErrorRetryHandler(max_retry_count=retries),
        AsyncConnectionErrorRetryHandler(
            max_retry_count=1,
            interval_calculator=FixedValueRetryIntervalCalculator(0.2),
            error_types=[aiohttp.ClientConnectorError],
        ),
    ]


async def _close_session(client: object) -> None:
    session = getattr(client, "session", None)
    if session is not None and not session.closed:
        await session.close()


def _is_channel_id(channel: str) -> bool:
    return bool(channel) and channel[0] in "CGD" and channel[1:].isalnum() and channel.upper() == channel


def _delivery_error(action: str, exc: SlackApiError) -> DeliveryError:
    status = exc.response.status_code
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    error = str(data.get("error") or f"HTTP {status}")
    advice = f" ({ADVICE[error]})" if error in ADVICE else ""
    retryable = error not in PERMANENT and status != 400
    dead = error in MESSAGE_REFUSALS or (status == 400 and error not in PERMANENT)
    return DeliveryError(f"slack: {action} failed: {error}{advice}", retryable, maybe_sent=status >= 500, dead=dead)


class WebhookDelivery:
    """Posts alerts through an incoming webhook, for teams that cannot install an app.

    A webhook cannot thread, show buttons or read history: follow-ups are posted as new messages that
    name their incident, and an alert whose answer was lost in a crash may be posted twice.
    """

    def __init__(self, url: str, retries: int = 2, mention: str = "") -> None:
        self.mention = mention
        self.client = AsyncWebhookClient(url, retry_handlers=retry_handlers(retries))
        self._ts = itertools.count(1)

    async def send(self, event: dict[str, Any], thread_ts: str | None) -> str:
        """Post one event; returns a synthetic ts (webhooks give none)."""
        text, blocks = render_blocks(event, self.mention)
        blocks = [b for b in blocks if b["type"] != "actions"]
        if event["event"] != "opened":
            started = (
                f"Follow-up to the {event.get('rule')} alert for {event.get('brand_name')} of {event.get('opened_at')}"
            )
            blocks.insert(0, {"type": "context", "elements": [mrkdwn(escape_mrkdwn(started))]})
        try:
            response = await self.client.send(text=text, blocks=blocks, unfurl_links=False)
        except aiohttp.ClientConnectorError as exc:
            raise DeliveryError(f"slack webhook: cannot connect ({type(exc).__name__})", True) from None
        except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DeliveryError(f"slack webhook: {type(exc).__name__}", True, maybe_sent=True) from None
        if response.status_code != 200:
            error = response.body.strip()[:100] or f"HTTP {response.status_code}"
            retryable = response.status_code == 429 or response.status_code >= 500
            advice = (
                " (the webhook was revoked or is wrong: check the variable slack.webhook_env names)"
                if (error in ("no_service", "invalid_token", "no_team", "team_disabled"))
                else ""
            )
            raise DeliveryError(f"slack webhook: {error}{advice}", retryable, maybe_sent=response.status_code >= 500)
        return thread_ts or f"webhook.{next(self._ts)}"

    async def find(self, event: dict[str, Any], thread_ts: str | None, since: float) -> str | None:
        """A webhook cannot read the channel: nothing can be found."""
        return None

    async def aclose(self) -> None:
        """Close the client's HTTP session, if it made one."""
        await _close_session(self.client)


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

    async def find(self, event: dict[str, Any], thread_ts: str | None, since: float) -> str | None:
        """A terminal keeps no history to look in: an alert cut off by a crash is printed again."""
        return None
