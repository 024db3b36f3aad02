"""Button presses over Socket Mode (slack-sdk's aiohttp client), so the daemon needs no public URL.

Every envelope is acked first (Slack wants it within 3 seconds, and redelivers otherwise), then
carried out by Interactions; a redelivered envelope is harmless because actions are recorded once.
The app-level token comes from the variable config's `slack.app_token_env` names; without it there
is no Socket Mode and the buttons do nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from monitor.slack.interactions import SLACK_ERRORS, Interactions

logger = logging.getLogger(__name__)
CLOSE_TIMEOUT = 5.0
# What to tell ops when Slack refuses the app-level token.
ADVICE = {
    "invalid_auth": "the app-level token is wrong: check the variable config's slack.app_token_env names",
    "not_allowed_token_type": "that is not an app-level token (xapp-...): create one with connections:write",
    "missing_scope": "the app-level token lacks connections:write",
}


class SocketMode:
    """One Socket Mode connection carrying button presses to Interactions."""

    def __init__(self, app_token: str, base_url: str, interactions: Interactions, ping_interval: float = 5.0) -> None:
        self.app_token = app_token
        self.web_client = AsyncWebClient(base_url=base_url)
        self.interactions = interactions
        self.ping_interval = ping_interval
        self.client: SocketModeClient | None = None
        self.busy: set[asyncio.Task[Any]] = set()
        self.error = ""  # why the last start failed
        self.refused = False  # Slack refused the token (as opposed to: could not be reached)

    async def start(self, quiet: bool = False) -> bool:
        """Open the connection; False when Slack refuses the token or cannot be reached (said clearly,
        unless quiet: a retry after a failure already said). The reason is left in .error."""
        try:
            response = await self.web_client.apps_connections_open(app_token=self.app_token)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc.response.status_code)
            refused = bool(exc.response.get("error")) and exc.response.status_code < 500  # not Slack's own trouble
            self.error, self.refused = error + (f" ({ADVICE[error]})" if error in ADVICE else ""), refused
        except (SlackClientError, *SLACK_ERRORS) as exc:
            self.error, self.refused = f"cannot reach Slack ({type(exc).__name__})", False
        else:
            self.error = ""
        if self.error:
            (logger.debug if quiet else logger.error)(
                "slack: Socket Mode is off, buttons will not work: %s", self.error
            )
            await self._close_web_client()
            return False
        client = SocketModeClient(self.app_token, web_client=self.web_client, ping_interval=self.ping_interval)
        client.wss_uri = str(response["url"])
        client.socket_mode_request_listeners.append(self._on_request)
        self.client = client
        await client.connect()  # type: ignore[no-untyped-call]
        logger.info("slack: Socket Mode connected, buttons are live")
        return True

    async def _on_request(self, client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.busy.add(task)
        try:
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
            if request.type == "interactive":
                await self.interactions.handle(request.payload)
        except Exception:  # one bad payload must not stop the next ones
            logger.exception("slack: an interaction failed")
        finally:
            if task is not None:
                self.busy.discard(task)

    async def close(self) -> None:
        """Let presses being carried out finish (bounded), then close the connection."""
        busy = {t for t in self.busy if not t.done()}
        if busy:
            await asyncio.wait(busy, timeout=CLOSE_TIMEOUT)
        if self.client is not None:
            await self.client.close()  # type: ignore[no-untyped-call]
        await self._close_web_client()

    async def _close_web_client(self) -> None:
        session = getattr(self.web_client, "session", None)
        if session is not None and not session.closed:
            await session.close()
