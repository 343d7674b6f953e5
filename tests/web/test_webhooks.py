"""POST /livekit/webhook with bodies and signatures exactly as livekit-server sends them."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from core.kernel.events import inline
from core.services import Services
from core.streams import StreamEvent, StreamMediaStarted
from tests.core.live.test_presence import go_live, session_id
from tests.fakes.livekit import FakeLiveKit, sign_webhook

Client = TestClient[object, object]


async def test_a_signed_event_is_applied(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    stream = await go_live(services)
    assert stream.room_name is not None
    livekit.add_participant(stream.room_name, "guest-1")
    body, headers = livekit.signed_webhook(
        livekit.event("participant_joined", stream.room_name, "guest-1")
    )
    response = await client.post("/livekit/webhook", data=body, headers=headers)
    assert response.status == 200
    assert await response.json() == {"ok": True, "duplicate": False}
    assert (await services.live.audience(await session_id(services, stream))).current_viewers == 1


async def test_a_replayed_event_is_acknowledged_and_ignored(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    stream = await go_live(services)
    assert stream.room_name is not None
    livekit.add_participant(stream.room_name, "guest-1")
    body, headers = livekit.signed_webhook(
        livekit.event("participant_joined", stream.room_name, "guest-1")
    )
    await client.post("/livekit/webhook", data=body, headers=headers)
    again = await client.post("/livekit/webhook", data=body, headers=headers)
    assert again.status == 200 and (await again.json())["duplicate"] is True
    assert (await services.live.audience(await session_id(services, stream))).unique_viewers == 1


async def test_the_studios_first_video_over_signed_webhooks_takes_the_stream_on_air_once(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    on_air: list[StreamEvent] = []

    async def listener(event: StreamEvent) -> None:
        on_air.append(event)

    services.events.wire("test", [inline(StreamMediaStarted, listener)])
    stream = await go_live(services)
    room = stream.room_name
    assert room is not None
    assert (await (await client.get("/api/live/alice")).json())["state"] == "starting"
    host = f"host-{stream.owner_id}"
    livekit.add_participant(room, host)
    joined = livekit.signed_webhook(livekit.event("participant_joined", room, host))
    assert (await client.post("/livekit/webhook", data=joined[0], headers=joined[1])).status == 200
    track = livekit.publish_track(room, host, kind="video", source="camera")
    body, headers = livekit.signed_webhook(
        livekit.event("track_published", room, host, track=track)
    )
    assert (await client.post("/livekit/webhook", data=body, headers=headers)).status == 200
    again = await client.post("/livekit/webhook", data=body, headers=headers)  # LiveKit retries
    assert (await again.json())["duplicate"] is True
    await services.events.drain()

    assert (await (await client.get("/api/live/alice")).json())["state"] == "live"
    assert [event.session.room_name for event in on_air] == [room]


async def test_a_forged_signature_is_refused_and_changes_nothing(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    stream = await go_live(services)
    assert stream.room_name is not None
    body, headers = livekit.signed_webhook(
        livekit.event("participant_joined", stream.room_name, "guest-1"),
        api_secret="not-the-real-secret-but-long-enough-0123456789",
    )
    response = await client.post("/livekit/webhook", data=body, headers=headers)
    assert response.status == 401
    assert await response.json() == {"error": "The webhook signature is not valid."}
    assert (await services.live.audience(await session_id(services, stream))).current_viewers == 0


async def test_an_altered_body_is_refused(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    stream = await go_live(services)
    assert stream.room_name is not None
    body, headers = livekit.signed_webhook(
        livekit.event("participant_joined", stream.room_name, "guest-1")
    )
    tampered = body.replace("guest-1", "guest-2")
    response = await client.post("/livekit/webhook", data=tampered, headers=headers)
    assert response.status == 401
    assert (await services.live.audience(await session_id(services, stream))).current_viewers == 0


async def test_an_unsigned_webhook_is_refused(client: Client, livekit: FakeLiveKit) -> None:
    body, _ = livekit.signed_webhook(livekit.event("room_started", "live-x-1"))
    response = await client.post(
        "/livekit/webhook", data=body, headers={"Content-Type": "application/webhook+json"}
    )
    assert response.status == 401
    assert await response.json() == {"error": "The webhook is not signed."}


async def test_a_signed_body_that_is_not_an_event_is_a_bad_request(
    client: Client, livekit: FakeLiveKit
) -> None:
    body = '{"event": 12, "nonsense": ['
    _, headers = livekit.signed_webhook(livekit.event("room_started", "x"))
    headers["Authorization"] = sign_webhook(body, livekit.api_key, livekit.api_secret)
    response = await client.post("/livekit/webhook", data=body, headers=headers)
    assert response.status == 400
    assert "error" in await response.json()
