"""The go-live gate: what `StreamService.go_live` asks before opening a room, and tells after.

A gate may charge for going live (the fee, see core/fees.py) or refuse (no streaming pass). It
hands back a ticket, and hears exactly once how the attempt ended: `opened` with the session the
ticket bought, or `failed` when the stream could not go live (LiveKit refused, a racing go-live
won), so a fee can be refunded. The stream service knows nothing of money; the gate knows
nothing of rooms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from core.streams.records import Stream, StreamSession


class GoLiveGate(Protocol):
    async def admit(self, stream: Stream, request_key: str) -> object:
        """Let the go-live proceed (perhaps after charging), or raise a domain error."""
        ...

    async def opened(self, ticket: object, session: StreamSession) -> None:
        """The go-live succeeded: the ticket bought `session`."""
        ...

    async def failed(self, ticket: object) -> None:
        """The go-live did not happen after all: undo whatever `admit` did."""
        ...


class OpenGate:
    """Going live is free and always allowed (no fee configured)."""

    async def admit(self, stream: Stream, request_key: str) -> object:
        return None

    async def opened(self, ticket: object, session: StreamSession) -> None:
        return None

    async def failed(self, ticket: object) -> None:
        return None
