"""The watch page shows the streamer's video health and says plainly when it is poor (Chromium)."""

from __future__ import annotations

from livekit.protocol import ingress as lk_ingress
from playwright.async_api import expect

from core.live.ingress import obs_identity
from core.services import Services
from tests.conftest import ALICE
from tests.fakes.livekit import FakeLiveKit
from tests.pages.browser import (
    OpenTab,
    create_stream,
)

Status = lk_ingress.IngressState.Status


async def go_live_from_obs(services: Services, livekit: FakeLiveKit, status: int) -> None:
    await create_stream(services)
    await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    [info] = livekit.ingresses.values()
    livekit.set_ingress_status(info.ingress_id, status)  # type: ignore[arg-type]
    info.state.video.CopyFrom(
        lk_ingress.InputVideoState(width=1920, height=1080, framerate=30, average_bitrate=4_500_000)
    )
    await services.streams.go_live(ALICE.user_id)
    livekit.add_participant(info.room_name, obs_identity(ALICE.user_id), kind="ingress")
    livekit.publish_track(info.room_name, obs_identity(ALICE.user_id))


async def test_a_healthy_obs_stream_shows_its_numbers_and_no_notice(
    services: Services,
    livekit: FakeLiveKit,
    open_tab: OpenTab,
) -> None:
    await go_live_from_obs(services, livekit, Status.ENDPOINT_PUBLISHING)
    tab = await open_tab()
    await tab.goto("/live/alice")
    health = tab.page.get_by_test_id("stream-health")
    await expect(health).to_be_visible()
    await expect(health).to_contain_text("1920x1080 · 30 fps · 4.5 Mbps")
    await expect(tab.page.get_by_test_id("stream-health-notice")).to_be_hidden()
    assert tab.errors == []


async def test_a_stalled_obs_stream_says_the_connection_is_poor(
    services: Services,
    livekit: FakeLiveKit,
    open_tab: OpenTab,
) -> None:
    await go_live_from_obs(services, livekit, Status.ENDPOINT_BUFFERING)
    tab = await open_tab()
    await tab.goto("/live/alice")
    notice = tab.page.get_by_test_id("stream-health-notice")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("The streamer's connection is poor")
    await expect(notice).to_contain_text("buffering")
    assert tab.errors == []


async def test_livekits_own_verdict_on_the_streamer_shows_the_notice(
    services: Services,
    livekit: FakeLiveKit,
    open_tab: OpenTab,
) -> None:
    await go_live_from_obs(services, livekit, Status.ENDPOINT_PUBLISHING)
    tab = await open_tab()
    await tab.goto("/live/alice")
    await expect(tab.page.get_by_test_id("stream-health")).to_contain_text("30 fps")
    # What watch.js forwards when LiveKit rates the streamer's connection (no media server here).
    await tab.page.evaluate(
        """document.dispatchEvent(new CustomEvent("golive:broadcaster-quality",
             { detail: { quality: "poor" } }))"""
    )
    notice = tab.page.get_by_test_id("stream-health-notice")
    await expect(notice).to_have_text(
        "LiveKit rates the streamer's connection poor. The video may stutter or freeze."
    )
    assert tab.errors == []


async def test_the_notice_is_written_in_the_page_language(
    services: Services,
    livekit: FakeLiveKit,
    open_tab: OpenTab,
) -> None:
    await go_live_from_obs(services, livekit, Status.ENDPOINT_PUBLISHING)
    tab = await open_tab()
    await tab.goto("/live/alice?lang=de")
    await expect(tab.page.get_by_test_id("stream-health")).to_contain_text("30 fps")
    await tab.page.evaluate(
        """document.dispatchEvent(new CustomEvent("golive:broadcaster-quality",
             { detail: { quality: "lost" } }))"""
    )
    await expect(tab.page.get_by_test_id("stream-health-notice")).to_have_text(
        "LiveKit hat die Verbindung zum Streamer verloren. Das Video kann ruckeln oder stehen bleiben."
    )
    assert tab.errors == []
