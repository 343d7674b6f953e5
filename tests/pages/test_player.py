"""The player on the live watch page, in Chromium: its controls (play and pause, sound, fullscreen,
picture-in-picture, keys), the controls fading while people watch, the live viewer count, the
"starting" and "reconnecting" states, and where the chat sits on a phone.

The room is the page tests' stand-in for livekit-client (browser.py), steered as a media server
would; the streamer's video and sound are Chromium's fake camera and microphone.

Set GOLIVE_SCREENSHOTS=1 to refresh docs/screenshots/watch-live.png and watch-phone.png.
"""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from core.accounts.auth import Identity
from core.chat.service import ChatAuthor
from core.livekit import host_identity, obs_identity
from core.services import Services
from tests.conftest import ALICE, BOB
from tests.fakes.livekit import FakeLiveKit
from tests.pages.browser import (
    LIVEKIT_CLIENT_URL,
    RETRYING,
    OpenTab,
    Tab,
    create_stream,
    lk,
    no_horizontal_scroll,
    screenshot,
    sign_in_via_link,
    use_stub_livekit,
)

HOST = host_identity(ALICE.user_id)
PHONE_390 = {"width": 390, "height": 844}
IDLE = re.compile(r"\bis-idle\b")
PLAYING = re.compile(r"\bis-playing\b")


async def open_live_page(tab: Tab, path: str = "/live/alice") -> None:
    await use_stub_livekit(tab)
    await tab.goto(path)
    await tab.page.wait_for_function(
        "() => window.__lk && window.__lk.room()?.state === 'connected'"
    )


async def streamer_sends_video(tab: Tab, *, sound: bool = False) -> None:
    await lk(tab, f"lk.join('{HOST}')")
    await lk(tab, f"lk.publishCamera('{HOST}')")
    if sound:
        await lk(tab, f"lk.publishMicrophone('{HOST}')")
    await tab.page.wait_for_function("() => document.getElementById('player-video').videoWidth > 0")
    await expect(tab.page.get_by_test_id("player")).to_have_class(PLAYING)


async def video_paused(page: Page) -> bool:
    return bool(await page.evaluate("document.getElementById('player-video').paused"))


async def audio_state(page: Page) -> dict[str, object]:
    return dict(
        await page.evaluate(
            "(() => { const a = document.querySelector('#player-audio audio');"
            " return { muted: a.muted, volume: a.volume }; })()"
        )
    )


async def live_with_viewers_golive_knows(services: Services, livekit: FakeLiveKit) -> None:
    """Alice is live; LiveKit has two viewers and her, and golive's reconciler has counted them."""
    await create_stream(services)
    room = (await services.streams.go_live(ALICE.user_id)).stream.room_name
    assert room is not None
    livekit.add_participant(room, HOST)
    livekit.add_participant(room, "guest-0a1b2c3d4e5f")
    livekit.add_participant(room, "viewer-1002-t1")
    assert await services.live.reconcile_once() == []


# ---------------------------------------------------------------------------- controls


async def test_play_pause_sound_and_volume_from_buttons_and_keys(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    await open_live_page(tab)
    page = tab.page
    play = page.get_by_test_id("play")
    await expect(play).to_be_disabled()  # nothing to pause before the video
    await streamer_sends_video(tab, sound=True)

    # Pause and play: the button, then k and space with the focus outside any text field.
    await expect(play).to_have_accessible_name("Pause")
    await play.click()
    await expect(play).to_have_accessible_name("Play")
    assert await video_paused(page)
    assert (await audio_state(page))["muted"] is True  # paused live video is silent too
    await page.locator("h1").click()  # focus off the button: keys act on the player
    await page.keyboard.press("k")
    await expect(play).to_have_accessible_name("Pause")
    assert not await video_paused(page)
    await page.keyboard.press("Space")
    await expect(play).to_have_accessible_name("Play")
    await page.keyboard.press("Space")
    await expect(play).to_have_accessible_name("Pause")
    assert await page.evaluate("window.scrollY") == 0  # space did not scroll the page

    # Sound starts muted (browsers allow only muted autoplay); the mute button unmutes it.
    mute, unmute_prompt = (
        page.get_by_test_id("mute"),
        page.get_by_role("button", name="Tap to unmute"),
    )
    await expect(mute).to_have_accessible_name("Unmute")
    await expect(unmute_prompt).to_be_visible()
    await mute.click()
    await expect(mute).to_have_accessible_name("Mute")
    await expect(unmute_prompt).to_be_hidden()
    assert await lk(tab, "lk.audioStarted") == 1
    assert await audio_state(page) == {"muted": False, "volume": 1}

    # m mutes and unmutes; the volume slider sets the level and remembers it.
    await page.locator("h1").click()
    await page.keyboard.press("m")
    await expect(mute).to_have_accessible_name("Unmute")
    assert (await audio_state(page))["muted"] is True
    await page.keyboard.press("m")
    await expect(mute).to_have_accessible_name("Mute")
    volume = page.get_by_role("slider", name="Volume")
    await volume.focus()
    await page.keyboard.press("ArrowLeft")
    await page.keyboard.press("ArrowLeft")
    await expect(volume).to_have_value("90")
    assert await audio_state(page) == {"muted": False, "volume": 0.9}
    await page.keyboard.press("m")  # the slider is no text field: m still mutes
    await expect(volume).to_have_value("0")
    await page.keyboard.press("m")
    await expect(volume).to_have_value("90")
    await page.keyboard.press("Home")
    await expect(mute).to_have_accessible_name("Unmute")
    assert (await audio_state(page))["muted"] is True
    await page.keyboard.press("End")
    await expect(mute).to_have_accessible_name("Mute")
    await page.keyboard.press("ArrowLeft")
    await expect(volume).to_have_value("95")
    assert await audio_state(page) == {"muted": False, "volume": 0.95}

    # The next visit plays at the level chosen (once the browser lets the sound play).
    await page.reload()
    await page.wait_for_function("() => window.__lk && window.__lk.room()?.state === 'connected'")
    await streamer_sends_video(tab, sound=True)
    await page.get_by_test_id("mute").click()
    assert await audio_state(page) == {"muted": False, "volume": 0.95}
    assert tab.errors == []


async def test_fullscreen_takes_the_whole_player_with_its_controls(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    await open_live_page(tab)
    await streamer_sends_video(tab)
    page, fullscreen = tab.page, tab.page.get_by_test_id("fullscreen")

    await fullscreen.click()
    await page.wait_for_function("() => document.fullscreenElement?.id === 'player'")
    await expect(fullscreen).to_have_accessible_name("Exit full screen")
    await expect(page.get_by_test_id("player-controls")).to_be_visible()
    await expect(page.get_by_test_id("viewer-count")).to_be_visible()
    box = await page.get_by_test_id("player").bounding_box()
    assert box is not None and (box["width"], box["height"]) == (1280, 800)

    await page.keyboard.press("f")
    await page.wait_for_function("() => document.fullscreenElement === null")
    await expect(fullscreen).to_have_accessible_name("Full screen")
    await page.locator("h1").click()
    await page.keyboard.press("f")
    await page.wait_for_function("() => document.fullscreenElement?.id === 'player'")
    # Left some other way (Esc is the browser's own, which headless Chromium lacks): the
    # button follows.
    await page.evaluate("document.exitFullscreen()")
    await expect(fullscreen).to_have_accessible_name("Full screen")
    # A double click on the picture does it too, as in other players.
    await page.locator("#player-video").dblclick()
    await page.wait_for_function("() => document.fullscreenElement?.id === 'player'")
    await page.locator("#player-video").dblclick()
    await page.wait_for_function("() => document.fullscreenElement === null")
    assert tab.errors == []


async def test_keys_type_into_text_fields_instead_of_steering_the_player(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    await use_stub_livekit(tab)
    await sign_in_via_link(services, tab, BOB, "/live/alice")
    await tab.page.wait_for_function("() => window.__lk.room()?.state === 'connected'")
    await streamer_sends_video(tab)

    chat_input = tab.page.get_by_label("Message as Bob")
    await chat_input.click()
    await tab.page.keyboard.type("kfm ok")

    await expect(chat_input).to_have_value("kfm ok")
    await expect(tab.page.get_by_test_id("play")).to_have_accessible_name("Pause")
    await expect(tab.page.get_by_test_id("mute")).to_have_accessible_name("Unmute")
    assert await tab.page.evaluate("document.fullscreenElement") is None
    assert not await video_paused(tab.page)
    assert tab.errors == []


async def test_picture_in_picture_where_the_browser_offers_it(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    await open_live_page(tab)
    pip = tab.page.get_by_test_id("pip")
    await expect(pip).to_be_visible()
    await expect(pip).to_be_disabled()  # no video yet
    await streamer_sends_video(tab)

    await pip.click()
    await tab.page.wait_for_function(
        "() => document.pictureInPictureElement?.id === 'player-video'"
    )
    await expect(pip).to_have_accessible_name("Exit picture in picture")
    await pip.click()
    await tab.page.wait_for_function("() => document.pictureInPictureElement === null")
    await expect(pip).to_have_accessible_name("Picture in picture")

    # A browser without it (Firefox has its own, outside the page): no button that can't work.
    other = await open_tab()
    await other.page.add_init_script(
        "Object.defineProperty(Document.prototype, 'pictureInPictureEnabled', { get: () => false })"
    )
    await open_live_page(other)
    await expect(other.page.get_by_test_id("fullscreen")).to_be_visible()
    await expect(other.page.get_by_test_id("pip")).to_be_hidden()
    assert tab.errors == [] and other.errors == []


async def test_controls_fade_while_watching_and_come_back_on_activity(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    await tab.page.clock.install()
    await open_live_page(tab)
    page, player = tab.page, tab.page.get_by_test_id("player")
    bar = page.get_by_test_id("player-controls")

    # Not playing yet: the controls stay.
    await page.clock.fast_forward(10_000)
    await expect(player).not_to_have_class(IDLE)
    await streamer_sends_video(tab)

    await page.clock.fast_forward(4_000)
    await expect(player).to_have_class(IDLE)
    assert await bar.evaluate("bar => getComputedStyle(bar).pointerEvents") == "none"
    box = await player.bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await expect(player).not_to_have_class(IDLE)

    await page.clock.fast_forward(4_000)
    await expect(player).to_have_class(IDLE)
    await page.keyboard.press("Shift")  # any key brings them back
    await expect(player).not_to_have_class(IDLE)

    # Paused, they stay put.
    await page.get_by_test_id("play").click()
    await page.clock.fast_forward(10_000)
    await expect(player).not_to_have_class(IDLE)
    assert tab.errors == []


async def test_a_tap_shows_and_hides_the_controls_on_a_touch_phone(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab(PHONE_390, touch=True)
    await tab.page.clock.install()
    await open_live_page(tab)
    await streamer_sends_video(tab)
    player, video = tab.page.get_by_test_id("player"), tab.page.locator("#player-video")

    # On the picture, clear of "Tap to unmute" (in the middle) and the LIVE pill (top left).
    picture = {"x": 340, "y": 110}
    await tab.page.clock.fast_forward(4_000)
    await expect(player).to_have_class(IDLE)
    await video.tap(position=picture)
    await expect(player).not_to_have_class(IDLE)
    await video.tap(position=picture)
    await expect(player).to_have_class(IDLE)
    assert await tab.page.evaluate("document.fullscreenElement") is None  # no double-tap zoom
    # A tap where the hidden bar is shows it, and does not press what is under the finger.
    await video.tap(position={"x": 20, "y": 200})
    await expect(player).not_to_have_class(IDLE)
    await expect(tab.page.get_by_test_id("play")).to_have_accessible_name("Pause")
    await tab.page.get_by_test_id("play").tap()
    await expect(tab.page.get_by_test_id("play")).to_have_accessible_name("Play")
    assert tab.errors == []


async def test_every_control_is_a_named_button_big_enough_for_a_finger(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab(PHONE_390, touch=True)
    await open_live_page(tab)
    await streamer_sends_video(tab)
    bar = tab.page.get_by_test_id("player-controls")

    names = [
        await button.get_attribute("aria-label") for button in await bar.get_by_role("button").all()
    ]
    assert names == ["Pause", "Unmute", "Picture in picture", "Full screen"]
    await expect(bar.get_by_role("combobox", name="Quality")).to_be_visible()
    for control in await bar.locator("button, select").all():
        box = await control.bounding_box()
        assert box is not None
        assert box["height"] >= 40 and box["width"] >= 40, await control.get_attribute("id")
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE_390["width"]
    assert await no_horizontal_scroll(tab.page)

    # Each shows where the keyboard is.
    await bar.get_by_role("button", name="Pause").focus()
    outline = await bar.get_by_role("button", name="Pause").evaluate(
        "b => getComputedStyle(b).outlineStyle"
    )
    assert outline == "solid"
    assert tab.errors == []


# ---------------------------------------------------------------------------- viewer count


async def test_the_viewer_count_is_the_servers_at_once_then_the_rooms(
    services: Services, livekit: FakeLiveKit, open_tab: OpenTab
) -> None:
    await live_with_viewers_golive_knows(services, livekit)

    # Before the player library arrives (here it never does), the count is golive's.
    early = await open_tab()
    await early.page.route(LIVEKIT_CLIENT_URL, lambda route: route.fulfill(status=404))
    await early.goto("/live/alice")
    await expect(early.status()).to_have_text("The video player could not load.")
    await expect(early.page.get_by_test_id("viewer-count")).to_have_text("2 watching")

    # In the room: you, and everyone watching — not the streamer's studio or OBS, not LiveKit's
    # recorder or agents.
    tab = await open_tab()
    await open_live_page(tab)
    viewers = tab.page.get_by_test_id("viewer-count")
    await expect(viewers).to_have_text("1 watching")
    for identity in (
        HOST,
        obs_identity(ALICE.user_id),
        "EG_Kx81qWcZ",
        "agent-AJ_4fXy",
        "viewer-1002-abc123",
        "guest-0a1b2c3d4e5f",
    ):
        await lk(tab, f"lk.join('{identity}')")
    await expect(viewers).to_have_text("3 watching")
    await lk(tab, "lk.leave('guest-0a1b2c3d4e5f')")
    await expect(viewers).to_have_text("2 watching")
    await lk(tab, f"lk.leave('{HOST}')")
    await expect(viewers).to_have_text("2 watching")

    # The stream ends: no count for a stream nobody can watch.
    await lk(tab, "lk.emit('disconnected', 5)")  # DisconnectReason.ROOM_DELETED
    await expect(tab.status()).to_contain_text("The stream has ended")
    await expect(viewers).to_be_hidden()
    assert early.errors == [] and tab.errors == []


async def test_the_count_reads_in_the_pages_language(
    services: Services, livekit: FakeLiveKit, open_tab: OpenTab
) -> None:
    await live_with_viewers_golive_knows(services, livekit)
    tab = await open_tab()
    await open_live_page(tab, "/live/alice?lang=de")
    viewers = tab.page.get_by_test_id("viewer-count")

    await expect(viewers).to_have_text("1 schaut zu")
    await lk(tab, "lk.join('viewer-1002-abc123')")
    await expect(viewers).to_have_text("2 schauen zu")
    await expect(tab.page.get_by_test_id("mute")).to_have_accessible_name("Ton an")
    assert tab.errors == []


# ---------------------------------------------------------------------------- starting, reconnecting


async def test_the_stream_is_starting_until_the_streamers_video_arrives(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    await open_live_page(tab)
    player = tab.page.get_by_test_id("player")

    await expect(tab.status()).to_have_text("The stream is starting…")
    await expect(tab.page.locator("#status-detail")).to_have_text(
        "The video appears here as soon as the streamer sends it."
    )
    await expect(tab.status()).not_to_have_class(re.compile(r"\bis-error\b"))
    await lk(tab, f"lk.join('{HOST}')")  # the studio is in, its camera not yet
    await expect(tab.status()).to_have_text("The stream is starting…")
    await lk(tab, f"lk.publishCamera('{HOST}')")
    await expect(player).to_have_class(PLAYING)
    await expect(tab.status()).to_have_text("")

    # Once it has played, a missing video is a drop, said as such.
    await lk(tab, f"lk.unpublishCamera('{HOST}')")
    await expect(tab.status()).to_have_text("Waiting for the video…")
    await expect(player).not_to_have_class(PLAYING)
    await lk(tab, f"lk.leave('{HOST}')")
    await expect(tab.status()).to_have_text("Waiting for the streamer to come back…")
    assert tab.errors == []


async def test_a_late_viewer_of_a_stream_that_dropped_is_told_it_dropped(
    services: Services, livekit: FakeLiveKit, open_tab: OpenTab
) -> None:
    """golive saw the streamer's video flowing: an empty room then means it dropped, not starting."""
    await create_stream(services)
    room = (await services.streams.go_live(ALICE.user_id)).stream.room_name
    assert room is not None
    livekit.add_participant(room, HOST)
    livekit.publish_track(room, HOST, kind="video")
    assert await services.live.reconcile_once() == []
    tab = await open_tab()

    await open_live_page(tab)

    await expect(tab.status()).to_have_text("Waiting for the streamer to come back…")
    assert tab.errors == []


async def test_reconnecting_is_a_small_notice_over_the_playing_video(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    await open_live_page(tab)
    await streamer_sends_video(tab)
    notice, player = tab.page.get_by_test_id("player-notice"), tab.page.get_by_test_id("player")

    await expect(notice).to_be_hidden()
    await lk(tab, "lk.emit('signalReconnecting')")
    await expect(notice).to_have_text("Reconnecting…")
    await lk(tab, "lk.emit('reconnecting')")
    await expect(notice).to_be_visible()
    # The video stays, with no full-screen message over it.
    await expect(player).to_have_class(PLAYING)
    await expect(tab.status()).to_have_text("")
    await lk(tab, "lk.emit('reconnected')")
    await expect(notice).to_be_hidden()

    # When reconnecting fails, the page's own retries take over as before.
    await lk(tab, "lk.emit('reconnecting')")
    async with tab.page.expect_response("**/api/live/token"):
        await lk(tab, "lk.emit('disconnected', 9)")  # SIGNAL_CLOSE
        await expect(tab.status()).to_contain_text(RETRYING)
        await expect(notice).to_be_hidden()
    await tab.page.wait_for_function(
        "() => window.__lk.rooms.length === 2 && window.__lk.room().state === 'connected'"
    )
    await expect(tab.status()).to_have_text("Waiting for the streamer to come back…")
    assert tab.errors == []


# ---------------------------------------------------------------------------- layout, screenshots


async def post_some_chat(services: Services) -> None:
    stream = await services.streams.get_by_owner(ALICE.user_id)
    for who, text in (
        (Identity(user_id=2001, username="rui", display_name="Rui"), "the light on the water 😍"),
        (BOB, "hi from Berlin!"),
        (ALICE, "welcome both, the sun sets in ten minutes"),
    ):
        await services.chat.post(stream, ChatAuthor(who.user_id, who.display_name), text)


async def test_on_a_phone_the_chat_sits_right_under_the_video(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    await post_some_chat(services)
    tab = await open_tab(PHONE_390, touch=True)
    await open_live_page(tab)
    await streamer_sends_video(tab)
    for identity in ("viewer-1002-abc123", "guest-0a1b2c3d4e5f", "guest-1f2e3d4c5b6a"):
        await lk(tab, f"lk.join('{identity}')")
    await expect(tab.page.get_by_test_id("viewer-count")).to_have_text("4 watching")
    await expect(tab.page.get_by_test_id("chat-message")).to_have_count(3)

    player = await tab.page.get_by_test_id("player").bounding_box()
    chat = await tab.page.get_by_test_id("chat").bounding_box()
    title = await tab.page.get_by_test_id("title").bounding_box()
    assert player is not None and chat is not None and title is not None
    assert abs(chat["y"] - (player["y"] + player["height"])) <= 1
    assert (player["x"], player["width"]) == (0, 390)
    assert chat["y"] + chat["height"] <= title["y"]  # the stream's details come after
    assert await no_horizontal_scroll(tab.page)
    await screenshot(tab.page, "watch-phone.png")
    assert tab.errors == []


async def test_on_a_wide_screen_the_chat_sits_beside_the_video(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    await post_some_chat(services)
    tab = await open_tab()
    await open_live_page(tab)
    await streamer_sends_video(tab, sound=True)
    for identity in ("viewer-1002-abc123", "guest-0a1b2c3d4e5f", "guest-1f2e3d4c5b6a"):
        await lk(tab, f"lk.join('{identity}')")
    await tab.page.get_by_test_id("mute").click()
    await expect(tab.page.get_by_test_id("viewer-count")).to_have_text("4 watching")
    await expect(tab.page.get_by_test_id("chat-message")).to_have_count(3)

    player = await tab.page.get_by_test_id("player").bounding_box()
    chat = await tab.page.get_by_test_id("chat").bounding_box()
    assert player is not None and chat is not None
    assert chat["x"] >= player["x"] + player["width"]
    assert abs(chat["y"] - player["y"]) <= 1
    assert await no_horizontal_scroll(tab.page)
    # The controls show while the pointer is over the video, as a viewer would see them.
    await tab.page.mouse.move(player["x"] + player["width"] / 2, player["y"] + player["height"] / 2)
    await screenshot(tab.page, "watch-live.png")
    assert tab.errors == []


async def test_on_a_tablet_the_chat_follows_the_streams_details(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab({"width": 800, "height": 1000})
    await open_live_page(tab)

    title = await tab.page.get_by_test_id("title").bounding_box()
    chat = await tab.page.get_by_test_id("chat").bounding_box()
    assert title is not None and chat is not None
    assert chat["y"] > title["y"]
    assert await no_horizontal_scroll(tab.page)
    assert tab.errors == []
