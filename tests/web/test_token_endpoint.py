"""POST /api/live/token on its fast path: the right token for a live room, refusal once it ended."""

from __future__ import annotations

import re
from typing import Any

import jwt
from aiohttp.test_utils import TestClient
from livekit import api

from core.services import Services
from core.streams import StreamDraft
from tests.conftest import ALICE, SignIn
from tests.fakes.livekit import FakeLiveKit

Client = TestClient[Any, Any]


async def alice_goes_live(services: Services) -> str:
    await services.streams.create(
        owner_id=ALICE.user_id,
        username=ALICE.username,
        display_name=ALICE.display_name,
        draft=StreamDraft("Painting live"),
    )
    room = (await services.streams.go_live(ALICE.user_id)).stream.room_name
    assert room is not None
    return room


async def ask_token(client: Client, room: str, role: str = "viewer") -> tuple[int, dict[str, Any]]:
    response = await client.post("/api/live/token", json={"roomName": room, "role": role})
    answer: dict[str, Any] = await response.json()
    return response.status, answer


def claims(livekit: FakeLiveKit, token: str) -> dict[str, Any]:
    api.TokenVerifier(livekit.api_key, livekit.api_secret).verify(token)
    raw: dict[str, Any] = jwt.decode(
        token, livekit.api_secret, algorithms=["HS256"], issuer=livekit.api_key
    )
    return raw


async def test_a_guest_token_carries_exactly_the_viewer_claims(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    room = await alice_goes_live(services)

    status, answer = await ask_token(client, room)

    assert status == 200
    raw = claims(livekit, answer["token"])
    assert raw["exp"] - raw["nbf"] == services.settings.livekit.token_ttl.total_seconds()
    assert raw["sub"].startswith("guest-")
    assert {k: v for k, v in raw.items() if k not in ("nbf", "exp", "sub")} == {
        "name": "Guest",
        "iss": livekit.api_key,
        "video": {
            "roomJoin": True,
            "room": room,
            "canSubscribe": True,
            "canPublish": False,
            "canPublishData": False,
            "canPublishSources": [],
            "canUpdateOwnMetadata": False,
        },
    }


async def test_a_token_for_a_room_that_just_ended_is_refused(
    client: Client, services: Services, sign_in: SignIn
) -> None:
    room = await alice_goes_live(services)
    status, _ = await ask_token(client, room)
    assert status == 200  # the room is now remembered as live

    await sign_in(client, ALICE)
    response = await client.post("/api/live/toggle-active", json={"active": False})
    assert response.status == 200

    for role in ("viewer", "broadcaster"):
        status, answer = await ask_token(client, room, role)
        assert status == 404
        assert answer == {"error": "No live stream is using that room. The stream may have ended."}


async def test_the_next_go_live_gets_tokens_for_its_new_room_only(
    client: Client, services: Services, sign_in: SignIn, livekit: FakeLiveKit
) -> None:
    old_room = await alice_goes_live(services)
    assert (await ask_token(client, old_room))[0] == 200
    await services.streams.end(ALICE.user_id)
    new_room = (await services.streams.go_live(ALICE.user_id)).stream.room_name
    assert new_room is not None and new_room != old_room

    await sign_in(client, ALICE)
    status, answer = await ask_token(client, new_room, "broadcaster")

    assert status == 200
    raw = claims(livekit, answer["token"])
    assert (raw["sub"], raw["video"]["room"]) == (f"host-{ALICE.user_id}", new_room)
    assert (await ask_token(client, old_room, "broadcaster"))[0] == 404


async def test_a_thousand_viewers_behind_one_address_all_get_tokens(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    """A campus or a carrier NAT is one client address: nothing may throttle it at this size.

    Each guest is a participant of their own: a shared identity would kick the other out.
    """
    room = await alice_goes_live(services)

    answers = [await ask_token(client, room) for _ in range(1000)]

    assert [status for status, _ in answers] == [200] * 1000
    identities = {claims(livekit, answer["token"])["sub"] for _, answer in answers}
    assert len(identities) == 1000
    assert all(re.fullmatch(r"guest-[0-9a-f]{12}", identity) for identity in identities)
