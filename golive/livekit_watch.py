"""Says once, in one line, when LiveKit can't be reached and what to run, then stays quiet until
that changes.

Without it every reconcile tick logged two warnings for as long as LiveKit was down. The watch
asks LiveKit at start and then each tick while it is down (golive/scheduler.py). The first
service warning that reveals an outage becomes part of the watch's own line (what failed, and
what to run: golive/dev_livekit.py knows what this machine can start); after that, while it
knows LiveKit is down, it holds back the services' warnings that only say so again: those that
begin with "LiveKit unreachable" and those that carry `livekit_trouble`'s "LiveKit can't be
reached".
"""

from __future__ import annotations

import logging

from core.kernel.errors import LiveKitUnavailable
from core.services import Services

log = logging.getLogger("golive.livekit")

REPEATED = "LiveKit unreachable"
SAID_AGAIN = "LiveKit can't be reached"


class LiveKitWatch(logging.Filter):
    def __init__(self, services: Services, hint: str) -> None:
        super().__init__()
        self._services = services
        self.hint = hint
        self.reachable: bool | None = None  # None until the first check
        self.held_back = 0

    async def check(self) -> None:
        """Ask LiveKit (only while it is down or unknown) and log a change of state."""
        if self.reachable:
            # Up: the services' own calls say when it goes away (see filter()).
            return
        try:
            await self._services.livekit.list_room_names()
        except LiveKitUnavailable:
            if self.reachable is None:
                self._went_down(None)
            return
        if self.reachable is False:
            log.info(
                "LiveKit is reachable again at %s (%d repeated warning(s) held back)",
                self._services.settings.livekit.url,
                self.held_back,
            )
        self.reachable, self.held_back = True, 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not _says_livekit_is_down(record):
            return True
        if self.reachable is False:
            self.held_back += 1
            return False
        # The first sign of an outage: its detail goes into the watch's one line instead.
        self._went_down(record.getMessage())
        return False

    def _went_down(self, detail: str | None) -> None:
        self.reachable = False
        seen = f" ({_detail(detail)})" if detail else ""
        log.warning(
            "LiveKit isn't reachable at %s%s: %s. golive keeps serving and says here when it's back.",
            self._services.settings.livekit.url,
            seen,
            self.hint,
        )


def _says_livekit_is_down(record: logging.LogRecord) -> bool:
    if record.levelno != logging.WARNING or record.name == log.name:
        return False
    text = str(record.msg)
    return text.startswith(REPEATED) or SAID_AGAIN in text or SAID_AGAIN in record.getMessage()


def _detail(message: str) -> str:
    """What the failing call ran into, without the words the watch's line already has."""
    if message.startswith(REPEATED) and ": " in message:
        message = message.split(": ", 1)[1]  # "... while trying to list rooms: <the error>"
    return message[:200]
