"""Past streams: the offline stream page lists them, and a recording's page plays it in Chromium
with its chat replayed beside it at the moments it was written (seeking both ways), and lets the
owner delete it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from livekit.protocol import egress as lk_egress
from playwright.async_api import expect

from core.kernel.clock import ManualClock
from core.live import Recording
from core.services import Services
from core.streams import StreamDraft
from tests.conftest import ALICE, BOB, FILE_RECORDING
from tests.core.live.recorded import CAROL, Line, record_stream, record_to
from tests.fakes.livekit import FakeLiveKit
from tests.pages.browser import (
    WAIT_MS,
    OpenTab,
    Tab,
    create_stream,
    foreign_urls,
    no_horizontal_scroll,
    screenshot,
    sign_in_via_link,
)

PHONE_390 = {"width": 390, "height": 844}

Client = TestClient[Any, Any]


async def record_a_stream(
    services: Services, livekit: FakeLiveKit, clock: ManualClock, minutes: int
) -> None:
    await services.streams.go_live(ALICE.user_id)
    await services.events.drain()  # the recording starts (a durable delivery)
    clock.advance(minutes * 60)
    await services.streams.end(ALICE.user_id)
    await services.events.drain()
    [info] = [e for e in livekit.egresses.values() if not e.file_results]
    livekit.set_egress_status(info.egress_id, lk_egress.EgressStatus.EGRESS_COMPLETE)
    path = info.room_composite.file_outputs[0].filepath
    info.file_results.append(
        lk_egress.FileInfo(filename=path, duration=minutes * 60 * 1_000_000_000, location=path)
    )
    assert await services.webhooks.receive(livekit.event("egress_ended", egress_info=info))
    clock.advance(3600)


async def test_the_offline_page_lists_past_streams_with_length_and_their_pages(
    client: Client, services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    services.recording.config = dataclasses.replace(
        FILE_RECORDING, record_all=True, file_prefix="rec/"
    )
    await services.streams.create(
        owner_id=ALICE.user_id,
        username=ALICE.username,
        display_name=ALICE.display_name,
        draft=StreamDraft(title="Painting live"),
    )
    await record_a_stream(services, livekit, clock, 72)
    await record_a_stream(services, livekit, clock, 25)

    async with client.get("/live/alice") as response:
        assert response.status == 200
        html = await response.text()
    section = html.split('data-testid="past-streams"', 1)[1].split("</section>", 1)[0]
    assert "Past streams" in section
    # Newest first, each with its length and a link to its page on golive (player and chat).
    assert section.index("25m") < section.index("1h 12m")
    assert section.count('href="/live/alice/vods/') == 2
    assert "media.golive.test" not in section


async def test_a_page_without_recordings_shows_no_past_streams(
    client: Client, services: Services
) -> None:
    await services.streams.create(
        owner_id=ALICE.user_id,
        username=ALICE.username,
        display_name=ALICE.display_name,
        draft=StreamDraft(title="Painting live"),
    )
    async with client.get("/live/alice") as response:
        assert "Past streams" not in await response.text()


# -- a recording's page in the browser ----------------------------------------------------------

FIXTURE = Path(__file__).parent / "fixtures" / "vod.webm"  # 12 s, its second counted on screen


async def recorded(
    services: Services, livekit: FakeLiveKit, clock: ManualClock, folder: Path
) -> Recording:
    """Alice's stream, recorded into a real little video, with a chat along the way."""
    await create_stream(services)
    record_to(services, folder)
    vod = await record_stream(
        services,
        livekit,
        clock,
        [
            Line(1, BOB, "hi Alice! the light is lovely"),
            Line(4, ALICE, "welcome Bob, the sun sets in a minute"),
            Line(6, CAROL, "something rude"),
            Line(8, BOB, "there it goes"),
            Line(10, ALICE, "thanks for watching!"),
        ],
        video=FIXTURE.read_bytes(),
        suffix=".webm",
    )
    rude = [m for m in await services.chat.session_messages(vod.session_id) if "rude" in m.body]
    await services.chat.hide(rude[0].id, moderator_id=ALICE.user_id)
    return vod


async def seek(tab: Tab, seconds: float) -> None:
    """Move the video as a viewer dragging its bar does, and wait until it got there."""
    await tab.page.evaluate(
        """(seconds) => new Promise((done) => {
          const video = document.getElementById("vod-video");
          video.pause();
          video.addEventListener("seeked", () => done(), { once: true });
          video.currentTime = seconds;
        })""",
        seconds,
    )


async def open_vod(tab: Tab, vod: Recording) -> None:
    await tab.goto(f"/live/alice/vods/{vod.id}")
    await expect(tab.page.locator("#replay-list[data-loaded=true]")).to_have_count(1)
    # The browser read the file's header: its length is known and the player can seek.
    await tab.page.wait_for_function(
        "document.getElementById('vod-video').readyState >= 1", timeout=WAIT_MS
    )


async def test_the_chat_is_replayed_beside_the_video_at_its_moments(
    services: Services,
    livekit: FakeLiveKit,
    clock: ManualClock,
    open_tab: OpenTab,
    tmp_path: Path,
) -> None:
    vod = await recorded(services, livekit, clock, tmp_path)
    tab = await open_tab()
    await open_vod(tab, vod)
    lines = tab.page.get_by_test_id("replay-message")
    duration = await tab.page.evaluate("document.getElementById('vod-video').duration")
    assert duration == pytest.approx(12, abs=0.5)

    # At the start nothing has been said yet.
    await expect(lines).to_have_count(0)
    await expect(tab.page.get_by_test_id("replay-empty")).to_be_visible()

    await seek(tab, 4.5)
    await expect(lines).to_have_count(2)
    await expect(lines.nth(1)).to_contain_text("welcome Bob")
    await expect(lines.nth(1)).to_contain_text("0:04")
    await expect(lines.nth(1).locator(".chat__badge")).to_have_text("Streamer")

    # Forwards past the hidden message: it is never replayed.
    await seek(tab, 9.5)
    await expect(lines).to_have_count(3)
    await expect(tab.page.get_by_test_id("replay-list")).not_to_contain_text("rude")
    await expect(lines.last).to_contain_text("there it goes")

    # Backwards: what was said later goes away again.
    await seek(tab, 2)
    await expect(lines).to_have_count(1)
    await expect(lines.first).to_contain_text("hi Alice!")

    # Playing reveals the next line when the video reaches it; pausing holds the list there.
    await tab.page.evaluate(
        "() => { const v = document.getElementById('vod-video'); v.muted = true; return v.play(); }"
    )
    await expect(lines).to_have_count(2, timeout=WAIT_MS)
    shown_at = await tab.page.evaluate(
        """() => { const v = document.getElementById('vod-video'); v.pause();
                   return v.currentTime; }"""
    )
    due = len([at for at in (1, 4, 8, 10) if at <= shown_at])
    await expect(lines).to_have_count(due)

    await seek(tab, 10.5)
    await expect(lines).to_have_count(4)
    await screenshot(tab.page, "vod-replay.png")
    assert tab.errors == []
    assert foreign_urls(tab, livekit) == []


async def test_the_recording_page_fits_a_phone_with_the_chat_under_the_video(
    services: Services,
    livekit: FakeLiveKit,
    clock: ManualClock,
    open_tab: OpenTab,
    tmp_path: Path,
) -> None:
    vod = await recorded(services, livekit, clock, tmp_path)
    tab = await open_tab(PHONE_390)
    await open_vod(tab, vod)
    await seek(tab, 11)
    await expect(tab.page.get_by_test_id("replay-message")).to_have_count(4)
    assert await no_horizontal_scroll(tab.page)
    video_box = await tab.page.get_by_test_id("vod-video").bounding_box()
    chat_box = await tab.page.get_by_test_id("chat-replay").bounding_box()
    assert video_box is not None and chat_box is not None
    assert chat_box["y"] >= video_box["y"] + video_box["height"]
    assert tab.errors == []


async def test_the_stream_page_leads_to_the_recording(
    services: Services,
    livekit: FakeLiveKit,
    clock: ManualClock,
    open_tab: OpenTab,
    tmp_path: Path,
) -> None:
    vod = await recorded(services, livekit, clock, tmp_path)
    tab = await open_tab()
    await tab.goto("/live/alice?lang=pt_BR")
    past = tab.page.get_by_test_id("past-stream")
    await expect(past).to_have_count(1)
    await expect(past).to_contain_text("12 s")
    await past.get_by_role("link").click()
    await tab.page.wait_for_url(re.compile(rf"/live/alice/vods/{vod.id}$"))
    await expect(tab.page.get_by_test_id("title")).to_have_text("Sunset over the river")


async def test_the_owner_deletes_the_recording_after_confirming(
    services: Services,
    livekit: FakeLiveKit,
    clock: ManualClock,
    open_tab: OpenTab,
    tmp_path: Path,
) -> None:
    vod = await recorded(services, livekit, clock, tmp_path)
    path = services.recording.local_file(vod)
    assert path is not None and path.exists()
    tab = await open_tab()
    await sign_in_via_link(services, tab, ALICE, f"/live/alice/vods/{vod.id}")

    dialog = tab.page.get_by_test_id("vod-delete-dialog")
    await tab.page.get_by_test_id("vod-delete").click()
    await expect(dialog).to_be_visible()
    await tab.page.get_by_test_id("vod-delete-cancel").click()  # second thoughts: kept
    await expect(dialog).to_be_hidden()
    assert [v.id for v in await services.recording.list_vods(vod.stream_id)] == [vod.id]

    await tab.page.get_by_test_id("vod-delete").click()
    await tab.page.get_by_test_id("vod-delete-confirm").click()
    await tab.page.wait_for_url(re.compile(r"/live/alice$"))
    await expect(tab.page.get_by_test_id("offline")).to_be_visible()
    await expect(tab.page.get_by_test_id("past-stream")).to_have_count(0)
    assert await services.recording.list_vods(vod.stream_id) == []
    assert not path.exists()
    assert tab.errors == []


async def test_a_viewer_has_no_delete_button_and_is_refused_anyway(
    services: Services,
    livekit: FakeLiveKit,
    clock: ManualClock,
    open_tab: OpenTab,
    tmp_path: Path,
) -> None:
    vod = await recorded(services, livekit, clock, tmp_path)
    tab = await open_tab()
    await sign_in_via_link(services, tab, BOB, f"/live/alice/vods/{vod.id}")
    await expect(tab.page.locator("#replay-list[data-loaded=true]")).to_have_count(1)
    await expect(tab.page.get_by_test_id("vod-delete")).to_have_count(0)

    # The request the button would send, sent by hand from the page: refused.
    answer = await tab.page.evaluate(
        """async (url) => {
          const response = await fetch(url, { method: "DELETE" });
          return { status: response.status, body: await response.json() };
        }""",
        f"/api/live/alice/vods/{vod.id}",
    )
    assert answer["status"] == 403
    assert "Only the streamer and moderators" in answer["body"]["error"]
    assert [v.id for v in await services.recording.list_vods(vod.stream_id)] == [vod.id]
