"""The one place golive talks to LiveKit's server API (rooms) and mints its access tokens.

Every failure of LiveKit (refused, down, slow) becomes ``LiveKitUnavailable`` with words a member
can act on, so callers never see transport exceptions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import timedelta
from typing import Literal, TypeVar

import aiohttp
from livekit import api

from core.errors import LiveKitUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
Role = Literal["viewer", "broadcaster"]

_UNREACHABLE = "The streaming server can't be reached right now. Please try again in a minute."


class LiveKitGateway:
    def __init__(self, client: api.LiveKitAPI, timeout: float = 5.0) -> None:
        self._client = client
        # livekit-api sends every request with timeout=None (it overrides the session's), so a
        # hung server would hang the member's command forever; we bound each call ourselves.
        self.timeout = timeout

    async def create_room(self, name: str, metadata: str) -> None:
        await self._call(
            "create the room",
            self._client.room.create_room(api.CreateRoomRequest(name=name, metadata=metadata)),
        )

    async def delete_room(self, name: str) -> bool:
        """Delete a room; False when it was already gone (LiveKit closes empty rooms itself)."""
        try:
            async with asyncio.timeout(self.timeout):
                await self._client.room.delete_room(api.DeleteRoomRequest(room=name))
        except api.TwirpError as error:
            if error.code == api.TwirpErrorCode.NOT_FOUND:
                return False
            raise _refused("close the room", error) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise LiveKitUnavailable(_UNREACHABLE) from error
        return True

    async def list_room_names(self) -> set[str]:
        response = await self._call(
            "list rooms", self._client.room.list_rooms(api.ListRoomsRequest())
        )
        return {room.name for room in response.rooms}

    async def _call(self, what: str, call: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self.timeout):
                return await call
        except api.TwirpError as error:
            raise _refused(what, error) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("LiveKit unreachable while trying to %s: %s", what, error)
            raise LiveKitUnavailable(_UNREACHABLE) from error


def _refused(what: str, error: api.TwirpError) -> LiveKitUnavailable:
    log.warning("LiveKit refused to %s: %s %s", what, error.code, error.message)
    return LiveKitUnavailable(
        f"The streaming server refused to {what} ({error.code}). Please try again, "
        "or ask an admin to run `golive check`."
    )


class TokenMinter:
    """Mints LiveKit access tokens with the least privilege each role needs."""

    def __init__(self, api_key: str, api_secret: str, ttl: timedelta) -> None:
        self._api_key = api_key
        self._api_secret = api_secret
        self._ttl = ttl

    def mint(self, *, room: str, identity: str, name: str, role: Role) -> str:
        broadcaster = role == "broadcaster"
        grants = api.VideoGrants(
            room_join=True,
            room=room,
            can_subscribe=True,
            # VideoGrants default these to True: viewers must be told no explicitly.
            can_publish=broadcaster,
            # Chat is server-mediated, so nobody publishes data directly into the room.
            can_publish_data=False,
            can_update_own_metadata=False,
            can_publish_sources=["camera", "microphone", "screen_share", "screen_share_audio"]
            if broadcaster
            else [],
        )
        return (
            api.AccessToken(self._api_key, self._api_secret)
            .with_identity(identity)
            .with_name(name)
            .with_ttl(self._ttl)
            .with_grants(grants)
            .to_jwt()
        )
