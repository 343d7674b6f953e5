"""The studio in Chromium, one flow per test: devices, screen sharing, muting, the live panel
(time on air, viewers, connection, tips, the chat with the owner's Hide), End with its summary,
the permission and no-device states, and the phone layout.

The camera is Chromium's fake one (two of them here, to have something to pick from) and a shared
screen is its fake screen: `--use-fake-ui-for-media-stream` answers getDisplayMedia's picker too,
so no other flag is needed headless. The room is the page tests' stand-in for livekit-client;
what the server sends into the room (chat, tips) is replayed from the LiveKit double.

Set GOLIVE_SCREENSHOTS=1 to refresh docs/screenshots/studio-live.png.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from playwright.async_api import Browser, async_playwright, expect

from core.chat.service import ChatAuthor
from core.kernel.clock import ManualClock
from core.services import Services
from core.streams import Stream
from tests.conftest import ALICE, BOB
from tests.core.live.test_presence import join, leave
from tests.core.money.test_ledger import fund
from tests.fakes.livekit import FakeLiveKit
from tests.pages.browser import (
    CHROMIUM_ARGS,
    DESKTOP,
    OpenTab,
    Tab,
    create_stream,
    lk,
    no_horizontal_scroll,
    screenshot,
    sign_in_via_link,
    use_stub_livekit,
)

HOST = f"host-{ALICE.user_id}"
NARROW_PHONE = {"width": 390, "height": 844}
TWO_CAMERAS = "--use-fake-device-for-media-stream=device-count=2"


@pytest_asyncio.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    """The page tests' Chromium, with two fake cameras (and its three fake microphones)."""
    args = [arg for arg in CHROMIUM_ARGS if arg != "--use-fake-device-for-media-stream"]
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=[*args, TWO_CAMERAS]
        )
        try:
            yield launched
        finally:
            await launched.close()


async def open_studio(
    services: Services, open_tab: OpenTab, viewport: dict[str, int] = DESKTOP, stub: bool = True
) -> Tab:
    tab = await open_tab(viewport)
    if stub:
        await use_stub_livekit(tab)
    await sign_in_via_link(services, tab, ALICE, "/live/alice/studio")
    return tab


async def camera_shows(tab: Tab) -> None:
    await tab.page.wait_for_function(
        "() => document.querySelector('[data-testid=preview]').videoWidth > 0"
    )


async def connected(tab: Tab) -> None:
    await tab.page.wait_for_function(
        "() => window.__lk && window.__lk.room()?.state === 'connected'"
        " && window.__lk.published.length > 0"
    )


async def go_live(tab: Tab) -> None:
    await expect(tab.page.get_by_test_id("go-live")).to_be_enabled()
    await tab.page.get_by_test_id("go-live").click()
    await connected(tab)
    await expect(tab.status()).to_have_text("You are live.")


# The sources the room has from the studio now (published and not unpublished since).
PUBLISHED = """() => {
  const count = {};
  for (const t of window.__lk.published) count[t.source] = (count[t.source] || 0) + 1;
  for (const t of window.__lk.unpublished) count[t.source] -= 1;
  return Object.keys(count).filter((s) => count[s] > 0).sort();
}"""


async def published(tab: Tab) -> list[str]:
    return await tab.page.evaluate(PUBLISHED)  # type: ignore[no-any-return]


async def comes_to_publish(tab: Tab, sources: list[str]) -> None:
    """Wait until the room has exactly `sources` from the studio."""
    wanted = json.dumps(sorted(sources), separators=(",", ":"))  # as JSON.stringify writes it
    await tab.page.wait_for_function(
        f"() => JSON.stringify(({PUBLISHED})()) === {json.dumps(wanted)}"
    )


async def replay(tab: Tab, packet: Any) -> None:
    """Deliver a packet the server sent into the room (to the LiveKit double) to the studio."""
    await lk(
        tab,
        f"lk.emit('dataReceived', new TextEncoder().encode({json.dumps(packet.text)}),"
        f" undefined, 0, {json.dumps(packet.topic)})",
    )


async def live_stream(services: Services) -> Stream:
    await create_stream(services)
    return (await services.streams.go_live(ALICE.user_id)).stream


# ---------------------------------------------------------------------------- devices


async def test_the_streamer_picks_a_camera_and_microphone_and_the_studio_remembers(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    tab = await open_studio(services, open_tab)
    await camera_shows(tab)
    cameras = tab.page.get_by_role("combobox", name="Camera", exact=True)
    microphones = tab.page.get_by_role("combobox", name="Microphone", exact=True)
    await expect(cameras.locator("option")).to_have_text(["fake_device_0", "fake_device_1"])
    await expect(microphones.locator("option")).to_have_count(3)
    await expect(tab.page.get_by_test_id("camera-state")).to_have_text("on")
    # Offline there is no chat to show: its script (which polls the history) isn't even loaded.
    assert not [
        url for url in tab.urls if re.search(r"/static/chat\.\w+\.js$|/api/live/alice/chat", url)
    ]
    await go_live(tab)
    await expect(tab.page.get_by_test_id("chat")).to_be_visible()

    # While live: the published track switches device; nothing is published again.
    await cameras.select_option(label="fake_device_1")
    await tab.page.wait_for_function("() => window.__lk.deviceSwitches.length === 1")
    [switch] = await lk(tab, "lk.deviceSwitches")  # type: ignore[misc]
    second_camera = await cameras.input_value()
    assert switch == {"kind": "video", "deviceId": {"exact": second_camera}}
    label = (
        "() => document.querySelector('[data-testid=preview]').srcObject.getVideoTracks()[0].label"
    )
    assert await tab.page.evaluate(label) == "fake_device_1"
    await microphones.select_option(label="Fake Audio Input 2")
    await tab.page.wait_for_function("() => window.__lk.deviceSwitches.length === 2")
    assert await published(tab) == ["camera", "microphone"]
    assert len(await lk(tab, "lk.published")) == 2  # type: ignore[arg-type]

    # The next visit opens the same ones.
    await tab.page.reload()
    await camera_shows(tab)
    assert await tab.page.evaluate(label) == "fake_device_1"
    await expect(cameras).to_have_value(second_camera)
    await expect(microphones.locator("option:checked")).to_have_text("Fake Audio Input 2")
    assert tab.errors == []


async def test_a_camera_plugged_in_later_is_picked_up(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    tab = await open_tab()
    await use_stub_livekit(tab)
    # No camera at first: getUserMedia finds none, enumerateDevices lists none.
    await tab.page.add_init_script(NO_CAMERA)
    await sign_in_via_link(services, tab, ALICE, "/live/alice/studio")
    await expect(tab.page.get_by_test_id("device-help")).to_contain_text("No camera found")

    await tab.page.evaluate("() => window.__plugCamera()")
    await camera_shows(tab)
    await expect(tab.page.get_by_test_id("device-help")).to_be_hidden()
    await expect(tab.page.get_by_test_id("camera-state")).to_have_text("on")
    await expect(tab.page.get_by_test_id("go-live")).to_be_enabled()
    assert tab.errors == []


# ---------------------------------------------------------------------------- screen


async def test_switching_to_the_screen_and_back_while_live(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    tab = await open_studio(services, open_tab)
    await go_live(tab)
    preview = tab.page.get_by_test_id("preview")
    await expect(preview).to_have_class(re.compile(r"\bplayer__video--mirror\b"))

    await tab.page.get_by_role("radio", name="Screen", exact=True).check()
    await comes_to_publish(tab, ["microphone", "screen_share", "screen_share_audio"])
    [capture] = await lk(tab, "lk.screenCaptures")  # type: ignore[misc]
    # Tab or system sound where the browser offers it; never the studio tab itself.
    assert (capture["audio"], capture["systemAudio"], capture["selfBrowserSurface"]) == (
        True,
        "include",
        "exclude",
    )
    await expect(preview).not_to_have_class(re.compile(r"\bplayer__video--mirror\b"))
    screen = (
        "() => document.querySelector('[data-testid=preview]').srcObject.getVideoTracks()[0].label"
    )
    assert (await tab.page.evaluate(screen)).startswith("screen:")
    # The camera is let go (its light goes off) while only the screen is shown.
    await expect(tab.page.get_by_test_id("camera-state")).to_have_text(
        "not used while you share only your screen"
    )
    assert (
        await lk(
            tab, "lk.localTracks.find((t) => t.source === 'camera').mediaStreamTrack.readyState"
        )
        == "ended"
    )

    await tab.page.get_by_role("radio", name="Screen + camera").check()
    await comes_to_publish(tab, ["camera", "microphone", "screen_share", "screen_share_audio"])
    await expect(tab.page.get_by_test_id("preview-camera")).to_be_visible()

    # "Stop sharing" in the browser's bar: back to the camera alone, and the studio says so.
    await lk(tab, "lk.endTrack('screen_share')")
    await expect(tab.status()).to_have_text(
        "You stopped sharing your screen. Viewers see your camera again."
    )
    await comes_to_publish(tab, ["camera", "microphone"])
    await expect(tab.page.get_by_role("radio", name="Camera", exact=True)).to_be_checked()
    await expect(tab.page.get_by_test_id("preview-camera")).to_be_hidden()
    await expect(preview).to_have_class(re.compile(r"\bplayer__video--mirror\b"))
    assert tab.errors == []


async def test_a_cancelled_screen_picker_keeps_what_viewers_see(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    tab = await open_tab()
    await use_stub_livekit(tab)
    await tab.page.add_init_script(
        "navigator.mediaDevices.getDisplayMedia = async () => {"
        " throw new DOMException('Permission denied by user', 'NotAllowedError'); };"
    )
    await sign_in_via_link(services, tab, ALICE, "/live/alice/studio")
    await go_live(tab)

    await tab.page.get_by_role("radio", name="Screen", exact=True).click()
    await expect(tab.status()).to_have_text(
        "Screen sharing was cancelled. Viewers still see what they saw."
    )
    await expect(tab.page.get_by_role("radio", name="Camera", exact=True)).to_be_checked()
    assert await published(tab) == ["camera", "microphone"]
    assert tab.errors == []


# ---------------------------------------------------------------------------- mute


async def test_muting_the_microphone_and_the_camera(services: Services, open_tab: OpenTab) -> None:
    await create_stream(services)
    tab = await open_studio(services, open_tab)
    await go_live(tab)
    mic = tab.page.get_by_role("button", name="Mute microphone")
    camera = tab.page.get_by_role("button", name="Turn camera off")
    await expect(mic).to_have_attribute("aria-pressed", "false")

    await mic.click()
    await expect(mic).to_have_attribute("aria-pressed", "true")
    await expect(tab.page.get_by_test_id("mic-state")).to_have_text("muted")
    await expect(tab.status()).to_have_text("You are live. Your microphone is off.")
    await camera.click()
    await expect(camera).to_have_attribute("aria-pressed", "true")
    await expect(tab.page.get_by_test_id("camera-state")).to_have_text("off")
    await expect(tab.page.get_by_test_id("preview-hint")).to_have_text(
        "Your camera is off. Viewers see a dark picture."
    )
    # LiveKit track mutes: the tracks stay published, viewers get the muted state.
    assert await lk(tab, "lk.mutes") == [
        {"source": "microphone", "muted": True},
        {"source": "camera", "muted": True},
    ]
    assert await published(tab) == ["camera", "microphone"]

    await mic.click()
    await camera.click()
    await expect(mic).to_have_attribute("aria-pressed", "false")
    await expect(tab.page.get_by_test_id("preview-hint")).to_be_hidden()
    await expect(tab.status()).to_have_text("You are live.")
    assert await lk(tab, "lk.mutes.slice(2)") == [
        {"source": "microphone", "muted": False},
        {"source": "camera", "muted": False},
    ]
    assert tab.errors == []


# ---------------------------------------------------------------------------- while live


async def test_the_live_panel_shows_time_viewers_connection_tips_and_the_chat(
    services: Services, livekit: FakeLiveKit, clock: ManualClock, open_tab: OpenTab
) -> None:
    stream = await live_stream(services)
    assert stream.room_name is not None
    # What LiveKit receives from the studio, as the server's health check sees it.
    livekit.add_participant(stream.room_name, HOST)
    track = livekit.publish_track(stream.room_name, HOST)
    track.width, track.height = 1280, 720
    clock.advance(3_605)  # on air for an hour already (the server's clock, not the browser's)
    tab = await open_studio(services, open_tab)
    await connected(tab)

    await expect(tab.page.get_by_test_id("live-badge")).to_be_visible()
    await expect(tab.page.get_by_test_id("live-elapsed")).to_have_text(re.compile(r"^1:00:\d\d$"))
    await expect(tab.page.get_by_test_id("live-health")).to_have_text(
        "Arriving at the media server: 1280x720"
    )

    # Viewers: people only — not OBS, not LiveKit's egress, not the studio's other tab.
    for identity in ("viewer-1002-aaa", "guest-c0ffee", f"{HOST}-obs", "EG_recorder", HOST):
        await lk(tab, f"lk.join({json.dumps(identity)})")
    viewers = tab.page.get_by_test_id("live-viewers")
    await expect(viewers).to_have_text("2")
    await lk(tab, "lk.leave('guest-c0ffee')")
    await expect(viewers).to_have_text("1")

    # LiveKit's verdict on the studio's own connection.
    await lk(tab, "lk.emit('connectionQualityChanged', 'poor', lk.room().localParticipant)")
    await expect(tab.page.get_by_test_id("live-connection")).to_have_text("poor")
    await expect(tab.page.get_by_test_id("live-health-notice")).to_contain_text(
        "Your connection is poor"
    )
    await lk(tab, "lk.emit('connectionQualityChanged', 'excellent', lk.room().localParticipant)")
    await expect(tab.page.get_by_test_id("live-connection")).to_have_text("excellent")
    await expect(tab.page.get_by_test_id("live-health-notice")).to_be_hidden()

    # A tip, as the server sends it into the room.
    await fund(services, BOB, 100)
    await services.tips.tip_stream(BOB, stream.id, 25, "<b>great</b> show", "test:tip")
    await services.events.drain()
    await replay(tab, livekit.sent_data[-1])
    await expect(tab.page.get_by_test_id("live-tips")).to_have_text("1")
    await expect(tab.page.get_by_test_id("live-credits")).to_have_text("25")
    await expect(tab.page.get_by_test_id("live-tip")).to_have_text(
        "Bob tipped 25 credits: <b>great</b> show"
    )
    tip_packet = livekit.sent_data[-1]

    # The chat: a viewer's message arrives through the room; the streamer hides it.
    message = await services.chat.post(stream, ChatAuthor(BOB.user_id, "Bob"), "first!")
    await services.events.drain()
    await replay(tab, livekit.sent_data[-1])
    chat = tab.page.get_by_test_id("chat")
    await expect(chat.get_by_test_id("chat-message")).to_have_text([re.compile("Bob.*first!")])
    await screenshot(tab.page, "studio-live.png")

    await replay(tab, tip_packet)  # the same tip twice (a retried send) counts once
    await expect(tab.page.get_by_test_id("live-tip")).to_have_count(1)
    await expect(tab.page.get_by_test_id("live-tips")).to_have_text("1")

    await chat.get_by_role("button", name="Hide this message from Bob").click()
    await expect(chat.get_by_test_id("chat-message")).to_have_count(0)
    assert await services.chat.history(stream) == []
    [action] = await services.moderation.audit_log()
    assert (action.action, action.moderator_id, action.target_id) == (
        "hide_message",
        ALICE.user_id,
        BOB.user_id,
    )
    assert message.id not in [m.id for m in await services.chat.history(stream)]
    assert tab.errors == []


# ---------------------------------------------------------------------------- end


async def test_end_asks_once_then_shows_the_servers_summary(
    services: Services, livekit: FakeLiveKit, clock: ManualClock, open_tab: OpenTab
) -> None:
    stream = await live_stream(services)
    room = stream.room_name
    assert room is not None
    for identity in (HOST, "viewer-1002-aaa", "guest-c0ffee", "viewer-1003-bbb"):
        await join(services, livekit, room, identity)
    await leave(services, livekit, room, "guest-c0ffee")
    await fund(services, BOB, 100)
    await services.tips.tip_stream(BOB, stream.id, 30, "", "test:one")
    await services.tips.tip_stream(BOB, stream.id, 12, "", "test:two")
    clock.advance(754)
    tab = await open_studio(services, open_tab)
    await connected(tab)
    await expect(tab.page.get_by_test_id("live-tips")).to_have_text("2")  # the server's count
    end = tab.page.get_by_test_id("end")

    # Asked once: a real modal dialog, the safe answer focused; Esc keeps streaming.
    await end.click()
    dialog = tab.page.get_by_role("dialog", name="End your stream?")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_role("button", name="Keep streaming")).to_be_focused()
    await tab.page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(end).to_be_focused()
    assert (await services.streams.get_by_owner(ALICE.user_id)).active

    await end.click()
    async with tab.page.expect_response("**/api/live/alice/end") as ended:
        await dialog.get_by_role("button", name="End stream").click()
    answer = await (await ended.value).json()
    assert not (await services.streams.get_by_owner(ALICE.user_id)).active

    summary = tab.page.get_by_test_id("summary")
    await expect(summary).to_be_visible()
    await expect(summary).to_be_focused()
    numbers = answer["summary"]
    assert (numbers["durationSeconds"], numbers["peakViewers"], numbers["uniqueViewers"]) == (
        754,
        3,
        3,
    )
    assert (numbers["tips"], numbers["tipCredits"]) == (2, 42)
    await expect(tab.page.get_by_test_id("summary-duration")).to_have_text("0:12:34")
    await expect(tab.page.get_by_test_id("summary-peak")).to_have_text("3")
    await expect(tab.page.get_by_test_id("summary-unique")).to_have_text("3")
    await expect(tab.page.get_by_test_id("summary-tips")).to_have_text("2")
    await expect(tab.page.get_by_test_id("summary-credits")).to_have_text("42")
    await expect(tab.page.get_by_test_id("live-badge")).to_be_hidden()
    await expect(tab.page.get_by_test_id("go-live")).to_be_visible()

    # Going live again puts the summary away.
    await tab.page.get_by_test_id("go-live").click()
    await expect(summary).to_be_hidden()
    assert tab.errors == []


async def test_ended_from_discord_the_studio_shows_the_summary_too(
    services: Services, clock: ManualClock, open_tab: OpenTab
) -> None:
    await live_stream(services)
    clock.advance(65)
    tab = await open_tab()
    await use_stub_livekit(tab)
    # The live panel learns its session from the server.
    async with tab.page.expect_response("**/api/live/alice/sessions/current/summary"):
        await sign_in_via_link(services, tab, ALICE, "/live/alice/studio")
    await connected(tab)

    await services.streams.end(ALICE.user_id)
    await lk(tab, "lk.emit('disconnected', 5)")  # the room was deleted
    await expect(tab.status()).to_contain_text("Your stream was ended")
    await expect(tab.page.get_by_test_id("summary-duration")).to_have_text("0:01:05")
    assert tab.errors == []


# ---------------------------------------------------------------------------- devices refused


NO_CAMERA = """
(() => {
  const devices = navigator.mediaDevices;
  const realGet = devices.getUserMedia.bind(devices);
  const realList = devices.enumerateDevices.bind(devices);
  let plugged = false;
  devices.getUserMedia = async (constraints) => {
    if (constraints && constraints.video && !plugged) {
      throw new DOMException('Requested device not found', 'NotFoundError');
    }
    return realGet(constraints);
  };
  devices.enumerateDevices = async () =>
    (await realList()).filter((d) => plugged || d.kind !== 'videoinput');
  window.__plugCamera = () => {
    plugged = true;
    devices.dispatchEvent(new Event('devicechange'));
  };
})();
"""

BLOCKED = """
navigator.mediaDevices.getUserMedia = async () => {
  throw new DOMException('Permission denied', 'NotAllowedError');
};
"""


async def test_blocked_devices_say_how_to_allow_them(services: Services, open_tab: OpenTab) -> None:
    await create_stream(services)
    tab = await open_tab()
    await tab.page.add_init_script(BLOCKED)
    await sign_in_via_link(services, tab, ALICE, "/live/alice/studio")  # the real livekit-client

    help_box = tab.page.get_by_test_id("device-help")
    await expect(help_box).to_contain_text("Camera and microphone are blocked")
    await expect(help_box).to_contain_text("allow the camera and microphone for this site")
    await expect(help_box).not_to_contain_text("No camera")
    await expect(tab.page.get_by_test_id("preview-hint")).to_have_text("Camera blocked")
    await expect(tab.page.get_by_test_id("camera-state")).to_have_text("blocked by the browser")
    await expect(tab.page.get_by_test_id("mic-state")).to_have_text("blocked by the browser")
    await expect(help_box.get_by_role("button", name="Try again")).to_be_visible()
    await expect(help_box.get_by_role("button", name="Share your screen instead")).to_be_visible()
    await expect(tab.page.get_by_test_id("go-live")).to_be_disabled()
    assert tab.errors == []


async def test_no_camera_offers_the_screen_and_never_asks_to_allow_one(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    tab = await open_tab()
    await tab.page.add_init_script(NO_CAMERA)
    await sign_in_via_link(services, tab, ALICE, "/live/alice/studio")  # the real livekit-client

    help_box = tab.page.get_by_test_id("device-help")
    await expect(help_box).to_contain_text("No camera found")
    await expect(help_box).to_contain_text("Plug in a camera")
    await expect(help_box).not_to_contain_text("allow")
    await expect(help_box).not_to_contain_text("blocked")
    await expect(tab.page.get_by_test_id("preview-hint")).to_have_text("No camera found")
    await expect(tab.page.get_by_test_id("camera-state")).to_have_text("none found")
    await expect(tab.page.get_by_test_id("mic-state")).to_have_text("on")  # the microphone works
    await expect(tab.page.get_by_test_id("go-live")).to_be_disabled()

    await help_box.get_by_role("button", name="Share your screen instead").click()
    await tab.page.wait_for_function(
        "() => document.querySelector('[data-testid=preview]').videoWidth > 0"
    )
    await expect(help_box).to_be_hidden()
    await expect(tab.page.get_by_role("radio", name="Screen", exact=True)).to_be_checked()
    await expect(tab.page.get_by_test_id("go-live")).to_be_enabled()
    assert tab.errors == []


# ---------------------------------------------------------------------------- phone


async def test_on_a_phone_the_live_badge_stays_whole_and_nothing_scrolls_sideways(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(
        services, title="A rather long stream title that has to wrap on a small phone screen"
    )
    await services.streams.go_live(ALICE.user_id)
    tab = await open_studio(services, open_tab, NARROW_PHONE)
    await connected(tab)
    badge = tab.page.get_by_test_id("live-badge")
    await expect(badge).to_be_visible()

    lines = await badge.evaluate(
        """(badge) => {
          const range = document.createRange();
          range.selectNodeContents(badge);
          return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
        }"""
    )
    assert lines == 1, "the LIVE badge wraps"
    assert await badge.evaluate("(b) => b.scrollWidth <= b.clientWidth")
    await expect(tab.page.get_by_test_id("live-elapsed")).to_have_text(re.compile(r"^0:00:\d\d$"))
    assert await no_horizontal_scroll(tab.page)
    # Everything the streamer needs is there, one column: preview, controls, panel, chat.
    for test_id in ("preview", "source-picker", "end", "live-panel", "chat"):
        await expect(tab.page.get_by_test_id(test_id)).to_be_visible()
    # The dialog fits too.
    await tab.page.get_by_test_id("end").click()
    dialog = tab.page.get_by_role("dialog", name="End your stream?")
    await expect(dialog).to_be_visible()
    box: Any = await dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= NARROW_PHONE["width"]
    assert tab.errors == []
