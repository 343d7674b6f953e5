"""GET /api/live/<slug>/health: the streamer's video as LiveKit reports it."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from livekit.protocol import ingress as lk_ingress
from livekit.protocol import models as lk_models

from core.kernel.clock import ManualClock
from core.live.ingress import obs_identity
from core.services import Services
from core.streams import StreamDraft
from tests.conftest import ALICE
from tests.fakes.livekit import FakeLiveKit

Client = TestClient[Any, Any]
Status = lk_ingress.IngressState.Status
HOST = f"host-{ALICE.user_id}"


async def make_page(services: Services) -> None:
    await services.streams.create(
        owner_id=ALICE.user_id,
        username=ALICE.username,
        display_name=ALICE.display_name,
        draft=StreamDraft(title="Painting live"),
    )


async def health(client: Client) -> tuple[int, dict[str, Any]]:
    async with client.get("/api/live/alice/health") as response:
        return response.status, await response.json()


async def live_from_obs(
    services: Services,
    livekit: FakeLiveKit,
    *,
    fps: float = 30,
    status: int = Status.ENDPOINT_PUBLISHING,
) -> lk_ingress.IngressInfo:
    await make_page(services)
    await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    [info] = livekit.ingresses.values()
    livekit.set_ingress_status(info.ingress_id, status)  # type: ignore[arg-type]
    info.state.video.CopyFrom(
        lk_ingress.InputVideoState(
            width=1920, height=1080, framerate=fps, average_bitrate=4_500_000
        )
    )
    await services.streams.go_live(ALICE.user_id)
    livekit.add_participant(info.room_name, obs_identity(ALICE.user_id), kind="ingress")
    livekit.publish_track(info.room_name, obs_identity(ALICE.user_id))
    return info


async def test_an_offline_stream_has_no_health(client: Client, services: Services) -> None:
    await make_page(services)
    assert await health(client) == (
        200,
        {
            "status": "offline",
            "poor": False,
            "source": None,
            "width": None,
            "height": None,
            "fps": None,
            "bitrate": None,
            "bitrateMeasured": False,
            "summary": "",
            "reasons": [],
        },
    )


async def test_obs_input_as_the_ingress_measures_it(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    await live_from_obs(services, livekit)
    status, answer = await health(client)
    assert status == 200
    assert (answer["status"], answer["poor"], answer["source"]) == ("good", False, "obs")
    assert answer["summary"] == "1920x1080 · 30 fps · 4.5 Mbps"
    assert answer["bitrateMeasured"] is True


async def test_a_stalled_obs_input_is_a_poor_connection(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    await live_from_obs(services, livekit, status=Status.ENDPOINT_BUFFERING)
    _, answer = await health(client)
    assert (answer["status"], answer["poor"]) == ("poor", True)
    assert answer["reasons"] == ["LiveKit is waiting for OBS's video to arrive (buffering)"]


async def test_a_low_frame_rate_is_a_poor_connection(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    await live_from_obs(services, livekit, fps=9)
    _, answer = await health(client)
    assert answer["poor"] and answer["reasons"] == ["OBS's video arrives at 9 frames per second"]


async def test_a_browser_stream_reports_resolution_and_its_target_bitrate(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    await make_page(services)
    event = await services.streams.go_live(ALICE.user_id)
    livekit.add_participant(event.session.room_name, HOST)
    track = livekit.publish_track(event.session.room_name, HOST)
    track.width, track.height = 1280, 720
    track.layers.extend(
        [
            lk_models.VideoLayer(width=640, height=360, bitrate=500_000),
            lk_models.VideoLayer(width=1280, height=720, bitrate=2_500_000),
        ]
    )
    _, answer = await health(client)
    # LiveKit's server API has no live quality for a browser: never claim "good".
    assert (answer["status"], answer["poor"], answer["source"]) == ("sending", False, "browser")
    assert answer["summary"] == "1280x720 · up to 2.5 Mbps"
    assert answer["bitrateMeasured"] is False


async def test_a_streamer_connected_without_video_is_flagged(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    await make_page(services)
    event = await services.streams.go_live(ALICE.user_id)
    livekit.add_participant(event.session.room_name, HOST)
    livekit.publish_track(event.session.room_name, HOST, kind="audio")
    _, answer = await health(client)
    assert (answer["status"], answer["poor"]) == ("no_video", True)


async def test_a_crowd_of_pages_costs_livekit_one_call_per_ten_seconds(
    client: Client, services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    await live_from_obs(services, livekit)
    for _ in range(5):
        await health(client)
    assert len(livekit.calls("ListParticipants")) == 1
    clock.advance(11)
    await health(client)
    assert len(livekit.calls("ListParticipants")) == 2


async def test_livekit_down_is_a_503_not_a_500(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    await make_page(services)
    await services.streams.go_live(ALICE.user_id)
    await livekit.down()
    status, answer = await health(client)
    assert status == 503 and "can't be reached" in answer["error"]


async def test_an_unknown_page_is_a_404(client: Client) -> None:
    status, answer = await health(client)
    assert status == 404 and "alice" in answer["error"]


async def test_the_reasons_and_numbers_come_in_the_pages_language(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    await live_from_obs(services, livekit, fps=9, status=Status.ENDPOINT_BUFFERING)
    async with client.get("/api/live/alice/health", headers={"Accept-Language": "de"}) as response:
        german = await response.json()
    assert german["reasons"] == [
        "LiveKit wartet auf das Video von OBS (Pufferung)",
        "Das Video von OBS kommt mit 9 Bildern pro Sekunde an",
    ]
    assert german["summary"] == "1920x1080 · 9 fps · 4,5 Mbps"
    async with client.get("/api/live/alice/health?lang=pt_BR") as response:
        brazilian = await response.json()
    assert brazilian["reasons"][0] == "O LiveKit está esperando o vídeo do OBS chegar (buffering)"
