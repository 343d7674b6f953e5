"""The studio's API: ending a stream with its summary, and a session's summary, for the owner only.

The numbers are the Discord end-of-stream summary's: viewers come from LiveKit's webhooks (the
LiveKit double signs them as LiveKit does), tips from the ledger.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.community import session_summary
from core.kernel.clock import ManualClock
from core.services import Services
from core.streams import Stream, StreamDraft
from tests.conftest import ALICE, BOB, SignIn
from tests.core.live.test_presence import join, leave
from tests.core.money.test_ledger import fund
from tests.fakes.livekit import FakeLiveKit

Client = TestClient[Any, Any]

SUMMARY_KEYS = {
    "sessionId",
    "live",
    "startedAt",
    "endedAt",
    "durationSeconds",
    "peakViewers",
    "uniqueViewers",
    "tips",
    "tipCredits",
}


async def live_alice(services: Services) -> Stream:
    await services.streams.create(
        owner_id=ALICE.user_id, username="alice", display_name="Alice", draft=StreamDraft("Paint")
    )
    return (await services.streams.go_live(ALICE.user_id)).stream


async def an_audience_and_tips(services: Services, livekit: FakeLiveKit, stream: Stream) -> None:
    """Three people watch (two at once at most, Bob in two tabs); Bob tips twice."""
    room = stream.room_name
    assert room is not None
    await join(services, livekit, room, f"host-{ALICE.user_id}")
    await join(services, livekit, room, "viewer-1002-aaa")
    await join(services, livekit, room, "viewer-1002-bbb")  # Bob's second tab: one person
    await join(services, livekit, room, "guest-c0ffee")
    await leave(services, livekit, room, "guest-c0ffee")
    await join(services, livekit, room, "viewer-1003-ccc")
    await fund(services, BOB, 100)
    for amount, key in ((25, "one"), (15, "two")):
        await services.tips.tip_stream(BOB, stream.id, amount, "", f"test:{key}")


async def test_ending_answers_the_stream_and_the_sessions_numbers(
    client: Client,
    services: Services,
    sign_in: SignIn,
    livekit: FakeLiveKit,
    clock: ManualClock,
) -> None:
    stream = await live_alice(services)
    await an_audience_and_tips(services, livekit, stream)
    clock.advance(3_725)
    await sign_in(client, ALICE)

    response = await client.post("/api/live/alice/end")
    assert response.status == 200
    answer = await response.json()
    assert answer["stream"]["active"] is False and answer["stream"]["roomName"] is None
    summary = answer["summary"]
    assert set(summary) == SUMMARY_KEYS
    session = (await services.streams.recent_sessions(stream.id))[0]
    assert summary["sessionId"] == session.id
    assert (summary["live"], summary["durationSeconds"]) == (False, 3_725)
    assert (summary["startedAt"], summary["endedAt"]) == (
        "2026-01-01T12:00:00Z",
        "2026-01-01T13:02:05Z",
    )
    # Bob (two tabs), the guest and Carol; never more than three at once; the host is no viewer.
    assert (summary["peakViewers"], summary["uniqueViewers"]) == (3, 3)
    assert (summary["tips"], summary["tipCredits"]) == (2, 40)
    assert not (await services.streams.get_by_owner(ALICE.user_id)).active
    assert stream.room_name not in livekit.rooms

    # Asked again later, the ended session's summary says the same.
    again = await client.get(f"/api/live/alice/sessions/{session.id}/summary")
    assert again.status == 200
    assert await again.json() == summary


async def test_the_live_session_has_its_numbers_so_far(
    client: Client,
    services: Services,
    sign_in: SignIn,
    livekit: FakeLiveKit,
    clock: ManualClock,
) -> None:
    stream = await live_alice(services)
    await an_audience_and_tips(services, livekit, stream)
    clock.advance(90)
    await sign_in(client, ALICE)

    response = await client.get("/api/live/alice/sessions/current/summary")
    assert response.status == 200
    summary = await response.json()
    current = await services.streams.current_session(stream.id)
    assert current is not None
    assert (summary["sessionId"], summary["live"], summary["endedAt"]) == (current.id, True, None)
    assert summary["durationSeconds"] == 90
    assert (summary["tips"], summary["tipCredits"]) == (2, 40)
    by_id = await client.get(f"/api/live/alice/sessions/{current.id}/summary")
    assert await by_id.json() == summary


async def test_the_discord_summary_and_the_studio_count_the_same(
    client: Client,
    services: Services,
    sign_in: SignIn,
    livekit: FakeLiveKit,
) -> None:
    stream = await live_alice(services)
    await an_audience_and_tips(services, livekit, stream)
    await sign_in(client, ALICE)
    summary = (await (await client.post("/api/live/alice/end")).json())["summary"]
    session = await services.streams.get_session(summary["sessionId"])
    ours = await session_summary(session, services.live, services.stats, services.clock.now())
    assert (ours.audience.peak_viewers, ours.audience.unique_viewers) == (
        summary["peakViewers"],
        summary["uniqueViewers"],
    )
    assert (ours.tips, ours.tip_credits, ours.duration_seconds) == (
        summary["tips"],
        summary["tipCredits"],
        summary["durationSeconds"],
    )


async def test_someone_else_may_neither_end_nor_read_the_summary(
    client: Client, services: Services, sign_in: SignIn
) -> None:
    stream = await live_alice(services)
    await sign_in(client, BOB)

    ending = await client.post("/api/live/alice/end")
    assert ending.status == 403
    assert await ending.json() == {"error": "Only the streamer can see and end their own sessions."}
    reading = await client.get("/api/live/alice/sessions/current/summary")
    assert reading.status == 403
    assert set(await reading.json()) == {"error"}
    assert (await services.streams.get_by_owner(ALICE.user_id)).active
    assert await services.streams.current_session(stream.id) is not None


async def test_signed_out_visitors_are_asked_to_sign_in(client: Client, services: Services) -> None:
    await live_alice(services)
    for response in (
        await client.post("/api/live/alice/end"),
        await client.get("/api/live/alice/sessions/current/summary"),
    ):
        assert response.status == 401
        assert "Sign in" in (await response.json())["error"]
    assert (await services.streams.get_by_owner(ALICE.user_id)).active


async def test_ending_a_stream_that_is_not_live_is_a_conflict(
    client: Client, services: Services, sign_in: SignIn
) -> None:
    await live_alice(services)
    await services.streams.end(ALICE.user_id)
    await sign_in(client, ALICE)
    response = await client.post("/api/live/alice/end")
    assert response.status == 409
    assert await response.json() == {"error": "This stream is not live right now."}
    current = await client.get("/api/live/alice/sessions/current/summary")
    assert current.status == 404
    assert await current.json() == {"error": "This stream is not live right now."}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/live/nobody/sessions/1/summary", 404),
        ("/api/live/alice/sessions/999/summary", 404),
        ("/api/live/alice/sessions/0/summary", 404),
        (f"/api/live/alice/sessions/{2**63}/summary", 404),
        ("/api/live/alice/sessions/-1/summary", 400),
        ("/api/live/alice/sessions/latest/summary", 400),
        ("/api/live/alice/sessions/%C2%B2/summary", 400),  # a superscript two is a digit to Python
    ],
)
async def test_unknown_or_malformed_sessions_are_json_refusals(
    client: Client, services: Services, sign_in: SignIn, path: str, status: int
) -> None:
    await live_alice(services)
    await sign_in(client, ALICE)
    response = await client.get(path)
    assert response.status == status
    assert response.content_type == "application/json"
    assert set(await response.json()) == {"error"}


async def test_another_streams_session_is_not_found_for_this_owner(
    client: Client, services: Services, sign_in: SignIn
) -> None:
    await live_alice(services)
    await services.streams.create(
        owner_id=BOB.user_id, username="bob", display_name="Bob", draft=StreamDraft("Night")
    )
    bobs = (await services.streams.go_live(BOB.user_id)).session
    await sign_in(client, ALICE)
    response = await client.get(f"/api/live/alice/sessions/{bobs.id}/summary")
    assert response.status == 404
    assert await response.json() == {"error": "That stream session does not exist."}
    # Nor through his own page: that stream is not hers.
    assert (await client.get(f"/api/live/bob/sessions/{bobs.id}/summary")).status == 403


async def test_ending_ignores_an_empty_json_body_and_refuses_other_sites(
    client: Client, services: Services, sign_in: SignIn
) -> None:
    await live_alice(services)
    await sign_in(client, ALICE)
    foreign = await client.post(
        "/api/live/alice/end", json={}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status == 403
    assert (await services.streams.get_by_owner(ALICE.user_id)).active
    assert (await client.post("/api/live/alice/end", json={})).status == 200
