"""The stage API: a viewer raises a hand, the streamer invites, the viewer accepts and publishes
with the permission LiveKit was told to give, and is taken off again; refusals are 4xx JSON
that change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.accounts.auth import Identity
from core.services import Services
from core.streams.service import StreamDraft
from tests.conftest import ALICE, BOB, SignIn
from tests.fakes.livekit import FakeLiveKit, PublishRefused

Client = TestClient[object, object]
STAGE = "/api/live/alice/stage"
CAROL = Identity(user_id=1003, username="carol", display_name="Carol")
DAVE = Identity(user_id=1004, username="dave", display_name="Dave")
ERIN = Identity(user_id=1005, username="erin", display_name="Erin")


async def go_live(services: Services) -> str:
    await services.streams.create(
        owner_id=ALICE.user_id, username="alice", display_name="Alice", draft=StreamDraft("Duo")
    )
    return (await services.streams.go_live(ALICE.user_id)).session.room_name


async def watch(
    client: Client, sign_in: SignIn, livekit: FakeLiveKit, who: Identity, room: str
) -> str:
    """`who` opens the watch page signed in: golive's token endpoint, then LiveKit with it."""
    await sign_in(client, who)
    answer = await client.post("/api/live/token", json={"roomName": room, "role": "viewer"})
    assert answer.status == 200
    return livekit.join_with_token((await answer.json())["token"]).identity


async def post(client: Client, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    answer = await client.post(STAGE + path, json=body or {})
    return answer.status, await answer.json()


async def stage(client: Client) -> dict[str, Any]:
    answer = await client.get(STAGE)
    assert answer.status == 200
    body: dict[str, Any] = await answer.json()
    return body


async def test_raise_invite_accept_publish_and_removal(
    client: Client, sign_in: SignIn, services: Services, livekit: FakeLiveKit
) -> None:
    room = await go_live(services)
    bob = await watch(client, sign_in, livekit, BOB, room)
    assert (await post(client, "/raise"))[0] == 200
    assert (await stage(client))["me"]["handRaised"] is True

    await sign_in(client, ALICE)
    queue = await stage(client)
    assert [hand["name"] for hand in queue["hands"]] == ["Bob"]
    status, invited = await post(client, "/invite", {"userId": str(BOB.user_id)})
    assert status == 201
    assert [i["name"] for i in invited["invitations"]] == ["Bob"]

    await sign_in(client, BOB)
    assert (await stage(client))["me"]["invitation"]["expiresAt"]
    status, accepted = await post(client, "/accept", {"identity": bob})
    assert status == 200
    assert accepted["me"]["onStage"] is True
    assert [(g["name"], g["identity"]) for g in accepted["guests"]] == [("Bob", bob)]
    assert accepted["host"]["identity"] == f"host-{ALICE.user_id}"
    livekit.publish_track(room, bob, kind="video", source="camera")
    microphone = livekit.publish_track(room, bob, kind="audio", source="microphone")

    await sign_in(client, ALICE)
    status, muted = await post(
        client, "/mute", {"userId": str(BOB.user_id), "source": "microphone"}
    )
    assert (status, muted) == (200, {"muted": 1})
    assert next(t for t in livekit.participants[room][bob].tracks if t.sid == microphone.sid).muted
    status, removed = await post(client, "/remove", {"userId": str(BOB.user_id)})
    assert (status, removed["guests"]) == (200, [])

    with pytest.raises(PublishRefused):  # what Bob still holds publishes nothing
        livekit.publish_track(room, bob, kind="video", source="camera")
    actions = [a.action for a in await services.moderation.audit_log(target_id=BOB.user_id)]
    assert actions == ["stage:remove", "stage:mute", "stage:accept", "stage:invite"]


async def test_a_guest_without_signing_in_cannot_raise_a_hand(
    client: Client, services: Services
) -> None:
    await go_live(services)

    status, body = await post(client, "/raise")

    assert status == 401
    assert "Sign in" in body["error"]
    assert (await stage(client))["handCount"] == 0


async def test_only_the_streamer_and_moderators_invite_remove_and_mute(
    client: Client, sign_in: SignIn, services: Services, livekit: FakeLiveKit
) -> None:
    room = await go_live(services)
    await watch(client, sign_in, livekit, CAROL, room)
    await watch(client, sign_in, livekit, BOB, room)
    await post(client, "/raise")

    for path in ("/invite", "/remove", "/mute"):
        status, body = await post(client, path, {"userId": str(CAROL.user_id)})
        assert status == 403, path
        assert "streamer and moderators" in body["error"]
    assert (await stage(client))["hands"] == []  # nor does Bob see the queue

    await services.moderation.remember_moderator(BOB.user_id, 1, True)
    status, body = await post(client, "/invite", {"userId": str(CAROL.user_id)})
    assert status == 201
    assert [i["name"] for i in body["invitations"]] == ["Carol"]  # the name from their token


async def test_bad_invitations_are_refused_and_change_nothing(
    client: Client, sign_in: SignIn, services: Services, livekit: FakeLiveKit
) -> None:
    room = await go_live(services)
    for who in (BOB, CAROL, DAVE, ERIN):
        await watch(client, sign_in, livekit, who, room)
    await sign_in(client, ALICE)

    offline = await post(client, "/invite", {"userId": "4242"})
    assert offline[0] == 409 and "isn't watching" in offline[1]["error"]
    for who in (BOB, CAROL, DAVE):
        assert (await post(client, "/invite", {"userId": str(who.user_id)}))[0] == 201
    twice = await post(client, "/invite", {"userId": str(BOB.user_id)})
    assert twice[0] == 409 and "already has an invitation" in twice[1]["error"]
    full = await post(client, "/invite", {"userId": str(ERIN.user_id)})
    assert full[0] == 409 and "The stage is full" in full[1]["error"]
    for body in ({"userId": 12.5}, {"userId": "12a"}, {"userId": True}, {}):
        status, answer = await post(client, "/invite", body)
        assert (status, "userId" in answer["error"]) == (400, True)
    bad_source = await post(client, "/mute", {"userId": str(BOB.user_id), "source": "all-of-it"})
    assert bad_source[0] == 400
    not_json = await client.post(
        STAGE + "/invite", data=b"{", headers={"Content-Type": "application/json"}
    )
    assert not_json.status == 400

    assert [i["name"] for i in (await stage(client))["invitations"]] == ["Bob", "Carol", "Dave"]
    assert len(await services.moderation.audit_log(limit=50)) == 3


async def test_nothing_happens_on_stage_after_the_stream_ended(
    client: Client, sign_in: SignIn, services: Services, livekit: FakeLiveKit
) -> None:
    room = await go_live(services)
    await watch(client, sign_in, livekit, BOB, room)
    await post(client, "/raise")
    await services.streams.end(ALICE.user_id)
    await services.events.drain()

    assert (await post(client, "/raise"))[0] == 409
    await sign_in(client, ALICE)
    status, body = await post(client, "/invite", {"userId": str(BOB.user_id)})
    assert status == 409
    assert "isn't live" in body["error"]
    assert (await stage(client))["live"] is False
    assert (await client.get("/api/live/nobody/stage")).status == 404


async def test_a_banned_viewer_cannot_raise_a_hand(
    client: Client, sign_in: SignIn, services: Services, livekit: FakeLiveKit
) -> None:
    room = await go_live(services)
    await watch(client, sign_in, livekit, BOB, room)
    await services.moderation.ban(moderator_id=9, user_id=BOB.user_id, scope="both", duration=None)

    status, body = await post(client, "/raise")

    assert status == 403
    assert "banned you for good" in body["error"]
