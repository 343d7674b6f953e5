"""A short scripted session against a running golive: a streamer goes live, a viewer gets a
token, a guest chats, a member tips, and LiveKit sends webhooks. The operating tests run it and
then look at what an operator sees (logs, metrics)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from core.accounts import Identity
from core.streams.service import StreamDraft
from golive.bootstrap import open_services
from tests.conftest import ALICE, BOB
from tests.fakes.livekit import FakeLiveKit
from tests.golive.process import settings_of
from web.keys import SESSION_COOKIE

SESSION_ENVIRONMENT = {
    "GOLIVE_CHAT_ALLOW_GUESTS": "true",
}
TIP = 50


@dataclass
class Sessions:
    alice: str  # the streamer's session cookie
    bob: str  # a member with credits


@dataclass
class Seen:
    """What the session's requests handed out (secrets an operator's log must never show)."""

    viewer_token: str
    room_name: str


async def sign_in(services: Any, identity: Identity) -> str:
    link = await services.auth.create_login_link(identity, "/live")
    session, _ = await services.auth.redeem_login_link(link.token)
    return str(session)


async def prepare(environment: dict[str, str], bob_credits: int = 1000) -> Sessions:
    """Alice's stream page, Bob's credits and both sessions, before golive starts."""
    async with open_services(settings_of(environment)) as services:
        await services.streams.create(
            owner_id=ALICE.user_id,
            username=ALICE.username,
            display_name=ALICE.display_name,
            draft=StreamDraft(title="Painting live"),
        )
        await services.ledger.grant(
            BOB.user_id, bob_credits, moderator_id=1, reason="test", key="fund-bob"
        )
        return Sessions(alice=await sign_in(services, ALICE), bob=await sign_in(services, BOB))


async def expect(response: aiohttp.ClientResponse, status: int) -> Any:
    assert response.status == status, await response.text()
    return await response.json()


async def run_session(
    url: str, livekit: FakeLiveKit, sessions: Sessions, request_id: str = "script-go-live"
) -> Seen:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{url}/api/live/toggle-active",
            json={"active": True},
            cookies={SESSION_COOKIE: sessions.alice},
            headers={"X-Request-Id": request_id},
        ) as response:
            assert response.headers["X-Request-Id"] == request_id
            stream = await expect(response, 200)
        room = stream["roomName"]
        async with http.post(
            f"{url}/api/live/token", json={"roomName": room, "role": "viewer"}
        ) as response:
            viewer_token = (await expect(response, 200))["token"]
        async with http.post(
            f"{url}/api/live/alice/chat", json={"text": "hello from the script", "name": "guest"}
        ) as response:
            await expect(response, 201)
        async with http.post(
            f"{url}/api/live/alice/tip",
            json={"amount": TIP, "message": "great show", "requestId": "script-tip-1"},
            cookies={SESSION_COOKIE: sessions.bob},
        ) as response:
            await expect(response, 201)
        livekit.add_participant(room, "viewer-guest-1")
        for event in (
            livekit.event("participant_joined", room, "viewer-guest-1"),
            livekit.event("room_started", room),
        ):
            assert await livekit.post_webhook(f"{url}/livekit/webhook", event, session=http) == 200
    return Seen(viewer_token=viewer_token, room_name=room)
