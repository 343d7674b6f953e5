"""Says once, in one line, when LiveKit can't be reached and what to start, then stays quiet
until that changes.

Without it every reconcile tick logged two warnings for as long as LiveKit was down. The watch
asks LiveKit at start and then each tick while it is down (golive/scheduler.py), and while it
knows LiveKit is down it holds back the repeated "LiveKit unreachable …" warnings of the
services (they all begin with those words): they would only say again what it already said.
"""

from __future__ import annotations

import logging
import shutil

from core.kernel.errors import LiveKitUnavailable
from core.services import Services

log = logging.getLogger("golive.livekit")

REPEATED = "LiveKit unreachable"


def how_to_start_livekit() -> str:
    if shutil.which("livekit-server"):
        return "run `livekit-server --dev` in another terminal"
    if shutil.which("docker"):
        return "run `docker compose up -d livekit`"
    return (
        "install livekit-server (https://docs.livekit.io/home/self-hosting/local/) "
        "and run `livekit-server --dev`"
    )


class LiveKitWatch(logging.Filter):
    def __init__(self, services: Services) -> None:
        super().__init__()
        self._services = services
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
                self._went_down()
            return
        if self.reachable is False:
            log.info(
                "LiveKit is reachable again at %s (%d repeated warning(s) held back)",
                self._services.settings.livekit.url,
                self.held_back,
            )
        self.reachable, self.held_back = True, 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING or not str(record.msg).startswith(REPEATED):
            return True
        if self.reachable is False:
            self.held_back += 1
            return False
        # The first sign of an outage: this line passes, with the hint after it.
        self._went_down()
        return True

    def _went_down(self) -> None:
        self.reachable = False
        log.warning(
            "LiveKit isn't reachable at %s: %s. golive keeps serving and says here when it's back.",
            self._services.settings.livekit.url,
            how_to_start_livekit(),
        )
