"""The sd_notify protocol: READY, STATUS, RELOADING, STOPPING and WATCHDOG datagrams to $NOTIFY_SOCKET.

A few lines of socket code rather than a dependency; outside systemd (no NOTIFY_SOCKET) it does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

logger = logging.getLogger(__name__)


class Notifier:
    """Sends state changes to systemd's notify socket, if there is one."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):  # an abstract socket
            address = "\0" + address[1:]
        self.address = address
        self.watchdog_interval: float | None = None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            # Ping at half the timeout, as sd_watchdog_enabled(3) advises.
            self.watchdog_interval = int(usec) / 1e6 / 2

    @property
    def enabled(self) -> bool:
        """Whether systemd is listening."""
        return bool(self.address)

    def notify(self, **fields: str) -> bool:
        """Send KEY=value lines (keys upper-cased); False if not under systemd or the send failed."""
        if not self.address:
            return False
        message = "\n".join(f"{key.upper()}={value}" for key, value in fields.items()).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                # Never block the event loop on a busy notify socket: a lost STATUS is harmless.
                sock.sendto(message, socket.MSG_DONTWAIT, self.address)
        except OSError as exc:
            logger.debug("sd_notify failed: %s", exc)
            return False
        return True

    def ready(self, status: str) -> bool:
        """Start-up is done."""
        return self.notify(ready="1", status=status)

    def status(self, text: str) -> bool:
        """A one-line status for `systemctl status`."""
        return self.notify(status=text)

    def reloading(self) -> bool:
        """A reload started (send ready() when it is over)."""
        return self.notify(reloading="1", monotonic_usec=str(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000))

    def stopping(self) -> bool:
        """Shutdown started."""
        return self.notify(stopping="1", status="stopping")

    def watchdog(self) -> bool:
        """Still alive."""
        return self.notify(watchdog="1")
