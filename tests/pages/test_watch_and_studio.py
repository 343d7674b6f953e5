"""The pages in a real browser: headless Debian Chromium driven by Playwright (Python).

There is no LiveKit media server here (the LiveKit double speaks only the Twirp API), so a live
page cannot really connect. What matters is what people see: the page fetched a token, tried to
connect, and calmly says it is retrying — with no uncaught errors in the page.

Set GOLIVE_SCREENSHOTS=1 to also refresh docs/screenshots/ (README pictures).
"""

from __future__ import annotations

import json
import re

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Route, expect

from core.kernel.clock import ManualClock
from core.services import Services
from tests.conftest import ALICE, BOB
from tests.fakes.livekit import FakeLiveKit
from tests.pages.browser import (
    LIVEKIT_CLIENT_URL,
    MEDIA_UNREACHABLE,
    PHONE,
    RETRYING,
    WAIT_MS,
    OpenTab,
    add_past_session,
    create_stream,
    foreign_urls,
    lk,
    no_horizontal_scroll,
    screenshot,
    sign_in_via_link,
    use_stub_livekit,
)
from tests.studio import go_live_with_video

# ---------------------------------------------------------------------------- watch page


async def test_offline_watch_page_shows_the_profile(
    services: Services, clock: ManualClock, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await add_past_session(services, clock, ALICE, 72 * 60)
    await add_past_session(services, clock, ALICE, 25 * 60)
    tab = await open_tab()

    await tab.goto("/live/alice")

    offline = tab.page.get_by_test_id("offline")
    await expect(offline).to_be_visible()
    await expect(tab.page.get_by_test_id("title")).to_have_text("Sunset over the river")
    await expect(offline).to_contain_text("Alice")
    await expect(offline).to_contain_text("Lisbon")
    await expect(offline).to_contain_text("Slow TV from the balcony")
    await expect(offline).to_contain_text("Last live")
    await expect(tab.page.locator(".sessions__item")).to_have_count(2)
    await expect(tab.page.locator(".sessions__duration").first).to_have_text("25m")
    await expect(tab.page.locator(".sessions__duration").nth(1)).to_have_text("1h 12m")
    await expect(tab.page.get_by_test_id("player")).to_have_count(0)
    await expect(tab.page.get_by_role("link", name=re.compile("studio", re.I))).to_have_count(0)
    await screenshot(tab.page, "watch-offline.png")
    assert tab.errors == []


async def test_offline_page_of_a_new_streamer_says_they_have_not_streamed(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services, location_name=None, description="")
    tab = await open_tab()

    await tab.goto("/live/alice")

    await expect(tab.page.get_by_test_id("offline")).to_contain_text("Hasn't streamed yet")
    await expect(tab.page.get_by_test_id("offline")).not_to_contain_text("Lisbon")
    assert tab.errors == []


async def test_owner_sees_a_studio_link_on_their_offline_page(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    tab = await open_tab()

    await sign_in_via_link(services, tab, ALICE, "/live/alice")

    await expect(tab.page.get_by_text("Signed in as")).to_contain_text("Alice")
    await tab.page.get_by_role("link", name=re.compile("studio", re.I)).click()
    await tab.page.wait_for_url(re.compile(r"/live/alice/studio$"))
    assert tab.errors == []


async def test_live_watch_page_fetches_a_token_and_calmly_retries(
    services: Services, livekit: FakeLiveKit, open_tab: OpenTab
) -> None:
    await create_stream(services)
    live = (await services.streams.go_live(ALICE.user_id)).stream
    tab = await open_tab()

    async with tab.page.expect_response("**/api/live/token") as token_info:
        await tab.goto("/live/alice")
    token = await token_info.value
    assert token.status == 200
    assert json.loads(token.request.post_data or "{}") == {
        "roomName": live.room_name,
        "role": "viewer",
    }
    assert (await token.json())["token"]

    await expect(tab.page.get_by_test_id("live-badge")).to_be_visible()
    await expect(tab.page.get_by_test_id("title")).to_have_text("Sunset over the river")
    await expect(tab.page.get_by_test_id("player")).to_be_visible()
    await expect(tab.page.get_by_test_id("quality")).to_have_value("auto")
    await expect(tab.status()).to_contain_text(RETRYING)
    # It really tried the media server's signalling socket, at the URL golive handed out.
    assert any(
        url.startswith(livekit.url.replace("http", "ws", 1) + "/rtc") for url in tab.websockets
    )

    # The next attempt fetches a fresh token (backoff starts at one second).
    async with tab.page.expect_response("**/api/live/token"):
        pass
    assert tab.errors == []
    assert foreign_urls(tab, livekit) == []


async def test_watch_page_says_when_the_stream_has_ended(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    await tab.goto("/live/alice")
    await expect(tab.status()).to_contain_text(RETRYING)

    await services.streams.end(ALICE.user_id)

    await expect(tab.status()).to_contain_text("The stream has ended")
    await expect(tab.page.get_by_role("link", name="Reload")).to_be_visible()
    assert tab.errors == []


async def test_watch_page_backs_off_between_attempts(services: Services, open_tab: OpenTab) -> None:
    """1 s, 2 s, 4 s … at most 30 s (plus up to 20 % jitter), each attempt with a fresh token."""
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    await tab.page.clock.install()
    await tab.goto("/live/alice")
    status, detail = tab.status(), tab.page.locator("#status-detail")

    waits = []
    for _ in range(7):
        # A failed attempt says when the next one comes. The page says "Trying again now…"
        # before it asks for a token, so the text after that answer is the next attempt's.
        await expect(status).to_contain_text(RETRYING)
        await expect(detail).to_have_text(re.compile(r"^Next try in \d+ s\.$"))
        text = await detail.text_content() or ""
        waits.append(int(text.split()[3]))
        async with tab.page.expect_response("**/api/live/token"):
            await tab.page.clock.fast_forward((waits[-1] + 1) * 1000)

    for seconds, base in zip(waits, [1, 2, 4, 8, 16, 30, 30], strict=True):
        assert base <= seconds <= round(base * 1.2), waits
    assert tab.errors == []


async def test_watch_page_waits_as_long_as_a_busy_server_asks(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()

    async def busy(route: Route) -> None:
        await route.fulfill(status=503, headers={"Retry-After": "45"}, json={})

    await tab.page.route("**/api/live/token", busy)
    await tab.goto("/live/alice")
    await expect(tab.status()).to_contain_text(RETRYING)
    await expect(tab.page.locator("#status-detail")).to_have_text("Next try in 45 s.")
    assert tab.errors == []


async def test_pages_say_when_the_streaming_library_did_not_load(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    await tab.page.route(LIVEKIT_CLIENT_URL, lambda route: route.fulfill(status=404))
    await tab.goto("/live/alice")
    await expect(tab.status()).to_have_text("The video player could not load.")
    await expect(tab.page.get_by_role("link", name="Reload")).to_be_visible()

    await sign_in_via_link(services, tab, ALICE, "/live/alice/studio")
    await expect(tab.status()).to_have_text(
        "The streaming library could not load. Reload the page."
    )
    assert tab.errors == []


async def test_quality_choice_is_remembered(services: Services, open_tab: OpenTab) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    await tab.goto("/live/alice")

    await tab.page.get_by_test_id("quality").select_option("low")
    await tab.page.reload()

    await expect(tab.page.get_by_test_id("quality")).to_have_value("low")
    assert tab.errors == []


async def test_watch_page_plays_the_broadcaster_counts_viewers_and_sets_quality(
    services: Services, open_tab: OpenTab, livekit: FakeLiveKit
) -> None:
    await create_stream(services)
    await go_live_with_video(services, livekit, ALICE.user_id)  # on air: her video came
    tab = await open_tab()
    await use_stub_livekit(tab)
    await tab.goto("/live/alice")
    await tab.page.wait_for_function(
        "() => window.__lk && window.__lk.room()?.state === 'connected'"
    )
    viewers, player = tab.page.get_by_test_id("viewer-count"), tab.page.get_by_test_id("player")

    await expect(viewers).to_have_text("1 watching")  # you
    # On air (golive saw her video), but her studio isn't in this room yet.
    await expect(tab.status()).to_contain_text("Waiting for the streamer to come back")
    await lk(tab, "lk.join('host-1001')")
    await lk(tab, "lk.publishCamera('host-1001')")
    await expect(player).to_have_class(re.compile(r"\bis-playing\b"))
    await tab.page.wait_for_function("() => document.getElementById('player-video').videoWidth > 0")
    await expect(tab.status()).to_have_text("")
    await expect(viewers).to_have_text("1 watching")  # the broadcaster is not a viewer

    await lk(tab, "lk.join('viewer-1002-abc123')")
    await lk(tab, "lk.join('guest-0a1b2c3d4e5f')")
    await expect(viewers).to_have_text("3 watching")
    await lk(tab, "lk.leave('guest-0a1b2c3d4e5f')")
    await expect(viewers).to_have_text("2 watching")

    # Browsers block sound until the viewer interacts with the page.
    unmute = tab.page.get_by_role("button", name="Tap to unmute")
    await expect(unmute).to_be_visible()
    await unmute.click()
    await expect(unmute).to_be_hidden()
    assert await lk(tab, "lk.audioStarted") == 1

    assert await lk(tab, "lk.qualities") == ["HIGH"]  # Auto: adaptive stream decides
    for choice, quality in (
        ("low", "LOW"),
        ("medium", "MEDIUM"),
        ("high", "HIGH"),
        ("auto", "HIGH"),
    ):
        await tab.page.get_by_test_id("quality").select_option(choice)
        assert (await lk(tab, "lk.qualities"))[-1] == quality  # type: ignore[index]

    await lk(tab, "lk.emit('reconnecting')")
    await expect(tab.page.get_by_test_id("player-notice")).to_have_text("Reconnecting…")
    await lk(tab, "lk.emit('reconnected')")
    await expect(tab.page.get_by_test_id("player-notice")).to_be_hidden()

    await lk(tab, "lk.emit('disconnected', 5)")  # DisconnectReason.ROOM_DELETED
    await expect(tab.status()).to_contain_text("The stream has ended")
    await expect(player).not_to_have_class(re.compile(r"\bis-playing\b"))
    assert tab.errors == []


async def test_a_stream_still_starting_says_so_until_the_video_arrives(
    services: Services, open_tab: OpenTab
) -> None:
    """Media first: go-live was pressed, the studio hasn't sent video yet."""
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    await use_stub_livekit(tab)
    await tab.goto("/live/alice")
    await tab.page.wait_for_function(
        "() => window.__lk && window.__lk.room()?.state === 'connected'"
    )
    await expect(tab.status()).to_contain_text("The stream is starting…")
    await expect(tab.page.get_by_test_id("live-badge")).to_have_text("Starting")
    await lk(tab, "lk.join('host-1001')")  # the studio connects, camera not on yet
    await expect(tab.status()).to_contain_text("The stream is starting…")
    await expect(tab.page.get_by_text("as soon as the streamer sends it")).to_be_visible()
    await lk(tab, "lk.publishCamera('host-1001')")
    await expect(tab.page.get_by_test_id("player")).to_have_class(re.compile(r"\bis-playing\b"))
    await expect(tab.status()).to_have_text("")
    await expect(tab.page.get_by_test_id("live-badge")).to_have_text("Live")
    # Once it played, a streamer who drops is "coming back", not "starting".
    await lk(tab, "lk.leave('host-1001')")
    await expect(tab.status()).to_contain_text("Waiting for the streamer")
    assert tab.errors == []


async def test_watch_page_rejoins_after_an_unexpected_disconnect(
    services: Services, open_tab: OpenTab, livekit: FakeLiveKit
) -> None:
    await create_stream(services)
    await go_live_with_video(services, livekit, ALICE.user_id)
    tab = await open_tab()
    await use_stub_livekit(tab)
    await tab.goto("/live/alice")
    await tab.page.wait_for_function(
        "() => window.__lk && window.__lk.room()?.state === 'connected'"
    )

    async with tab.page.expect_response("**/api/live/token"):
        await lk(tab, "lk.emit('disconnected', 9)")  # SIGNAL_CLOSE: the network blinked
        await expect(tab.status()).to_contain_text(RETRYING)

    await tab.page.wait_for_function(
        "() => window.__lk.rooms.length === 2 && window.__lk.room().state === 'connected'"
    )
    await expect(tab.status()).to_contain_text("Waiting for the streamer to come back")
    assert tab.errors == []


# ---------------------------------------------------------------------------- studio


async def test_owner_goes_live_and_ends_from_the_studio(
    services: Services, livekit: FakeLiveKit, open_tab: OpenTab
) -> None:
    await create_stream(services)
    tab = await open_tab()
    await sign_in_via_link(services, tab, ALICE, "/live/alice/studio")

    # The fake camera shows up in the preview and Go live becomes available.
    await tab.page.wait_for_function(
        "() => document.querySelector('[data-testid=preview]').videoWidth > 0", timeout=WAIT_MS
    )
    go_live = tab.page.get_by_test_id("go-live")
    await expect(go_live).to_be_enabled()
    await expect(tab.page.get_by_test_id("end")).to_be_hidden()

    async with tab.page.expect_response("**/api/live/toggle-active") as toggled:
        await go_live.click()
    assert (await toggled.value).status == 200
    assert json.loads((await toggled.value).request.post_data or "{}") == {"active": True}
    stream = await services.streams.get_by_owner(ALICE.user_id)
    assert stream.active
    await expect(tab.page.get_by_test_id("end")).to_be_visible()
    await expect(go_live).to_be_hidden()
    # No media server in tests: the stream stays live on golive and the studio keeps trying.
    await expect(tab.status()).to_contain_text(MEDIA_UNREACHABLE)
    assert (await services.streams.get_by_owner(ALICE.user_id)).active

    # End asks once (tests/pages/test_studio.py has the dialog and the summary in detail).
    await tab.page.get_by_test_id("end").click()
    async with tab.page.expect_response("**/api/live/alice/end") as ended:
        await tab.page.get_by_test_id("end-confirm").click()
    assert (await ended.value).status == 200
    await expect(tab.status()).to_contain_text("Your stream has ended")
    await expect(go_live).to_be_visible()
    await expect(go_live).to_be_enabled()
    assert (
        await tab.page.evaluate("() => document.querySelector('[data-testid=preview]').videoWidth")
        > 0
    )
    assert not (await services.streams.get_by_owner(ALICE.user_id)).active
    assert tab.errors == []
    assert foreign_urls(tab, livekit) == []


async def test_studio_of_a_live_stream_shows_the_live_state(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()

    async with tab.page.expect_request(
        lambda r: r.url.endswith("/api/live/token") and "broadcaster" in (r.post_data or "")
    ):
        await sign_in_via_link(services, tab, ALICE, "/live/alice/studio")

    await expect(tab.page.get_by_test_id("end")).to_be_visible()
    await expect(tab.page.get_by_test_id("go-live")).to_be_hidden()
    await expect(tab.status()).to_contain_text(MEDIA_UNREACHABLE)
    assert tab.errors == []


async def test_studio_publishes_camera_and_mic_with_simulcast(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    tab = await open_tab()
    await use_stub_livekit(tab)
    await sign_in_via_link(services, tab, ALICE, "/live/alice/studio")
    await expect(tab.page.get_by_test_id("go-live")).to_be_enabled()

    async with tab.page.expect_request(
        lambda r: r.url.endswith("/api/live/token") and "broadcaster" in (r.post_data or "")
    ) as token_request:
        await tab.page.get_by_test_id("go-live").click()
    live = await services.streams.get_by_owner(ALICE.user_id)
    assert json.loads((await token_request.value).post_data or "{}") == {
        "roomName": live.room_name,
        "role": "broadcaster",
    }
    await expect(tab.status()).to_have_text("You are live.")
    await expect(tab.page.get_by_test_id("live-badge")).to_be_visible()
    await expect(tab.page.get_by_test_id("live-viewers")).to_have_text("0")
    published = await lk(tab, "lk.published")
    assert sorted(published, key=str) == [  # type: ignore[arg-type]
        {"kind": "audio", "source": "microphone", "simulcast": False},
        {"kind": "video", "source": "camera", "simulcast": True},
    ]
    await lk(tab, "lk.join('viewer-1002-abc123')")
    await lk(tab, "lk.join('host-1001')")  # the studio's own identity in another tab: not a viewer
    await expect(tab.page.get_by_test_id("live-viewers")).to_have_text("1")

    # Ended elsewhere (Discord, a moderator): the room is deleted and the studio goes back to preview.
    await services.streams.end(ALICE.user_id)
    await lk(tab, "lk.emit('disconnected', 5)")
    await expect(tab.status()).to_contain_text("Your stream was ended")
    await expect(tab.page.get_by_test_id("go-live")).to_be_visible()
    await expect(tab.page.get_by_test_id("live-badge")).to_be_hidden()
    # The camera keeps running for the next go-live.
    await tab.page.wait_for_function(
        "() => document.querySelector('[data-testid=preview]').videoWidth > 0"
    )
    assert await lk(tab, "lk.localTracksStopped") == 0
    assert tab.errors == []


async def test_studio_of_someone_else_is_refused(services: Services, open_tab: OpenTab) -> None:
    await create_stream(services)
    tab = await open_tab()

    await sign_in_via_link(services, tab, BOB, "/live/alice/studio")

    await expect(tab.page.get_by_role("heading", level=1)).to_have_text("This studio isn't yours")
    await expect(tab.page.get_by_test_id("preview")).to_have_count(0)
    await expect(tab.page.get_by_role("link", name="Watch the stream")).to_have_attribute(
        "href", "/live/alice"
    )
    assert tab.errors == []


async def test_studio_without_signing_in_explains_how(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    tab = await open_tab()

    response = await tab.page.goto(tab.base + "/live/alice/studio")

    assert response is not None
    assert response.status == 401
    await expect(tab.page.get_by_role("heading", level=1)).to_contain_text("Sign in")
    assert tab.errors == []


# ---------------------------------------------------------------------------- sign-in and messages


async def test_used_login_link_shows_a_clear_message(services: Services, open_tab: OpenTab) -> None:
    await create_stream(services)
    link = await services.auth.create_login_link(ALICE, "/live/alice/studio")
    await services.auth.redeem_login_link(link.token)
    tab = await open_tab()

    async with tab.page.expect_response(lambda r: r.request.method == "POST") as posted:
        await tab.goto(f"/login/{link.token}")

    assert (await posted.value).status == 410
    await expect(tab.page.get_by_role("heading", level=1)).to_have_text(
        "This link can't be used again"
    )
    await expect(tab.page.get_by_test_id("message")).to_contain_text("already been used")
    assert tab.errors == []


async def test_login_page_without_javascript_still_has_a_button(
    services: Services, browser: Browser, web_server: TestServer
) -> None:
    """Link-preview bots run no scripts: the GET alone must not spend the link."""
    link = await services.auth.create_login_link(ALICE, "/live")
    context = await browser.new_context(java_script_enabled=False)
    try:
        page = await context.new_page()
        await page.goto(str(web_server.make_url(f"/login/{link.token}")))
        await expect(page.get_by_role("button", name="Continue")).to_be_visible()
        await page.get_by_role("button", name="Continue").click()
        await page.wait_for_url(re.compile(r"/live$"))
        await expect(page.get_by_text("Signed in as")).to_contain_text("Alice")
    finally:
        await context.close()


async def test_unknown_stream_is_a_friendly_404(open_tab: OpenTab) -> None:
    tab = await open_tab()

    response = await tab.page.goto(tab.base + "/live/nobody-here")

    assert response is not None
    assert response.status == 404
    await expect(tab.page.get_by_role("heading", level=1)).to_have_text("Not found")
    await expect(tab.page.get_by_role("link", name=re.compile("live", re.I)).first).to_be_visible()


# ---------------------------------------------------------------------------- index, hosts, phones


async def test_live_index_lists_live_streams_and_has_an_empty_state(
    services: Services, open_tab: OpenTab, livekit: FakeLiveKit
) -> None:
    tab = await open_tab()
    await tab.goto("/live")
    await expect(tab.page.get_by_test_id("empty")).to_contain_text("Nobody is live right now")

    await create_stream(services)
    await create_stream(services, BOB, title="Night market", location_name="Taipei")
    await services.streams.go_live(ALICE.user_id)  # starting: no video yet, not listed
    await go_live_with_video(services, livekit, BOB.user_id)
    await tab.page.reload()

    cards = tab.page.locator(".card")
    await expect(cards).to_have_count(1)
    await expect(cards.first).to_contain_text("Night market")
    await expect(cards.first).to_contain_text("Bob")
    await expect(cards.first).to_contain_text("Taipei")
    await expect(cards.first).to_contain_text("Live since")
    await cards.first.get_by_role("link").click()
    await tab.page.wait_for_url(re.compile(r"/live/bob$"))
    assert tab.errors == []


async def test_pages_load_nothing_from_other_hosts(
    services: Services, livekit: FakeLiveKit, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await create_stream(services, BOB, title="Night market")
    await services.streams.go_live(BOB.user_id)
    tab = await open_tab()

    for path in ("/live", "/live/alice", "/live/bob", "/live/nobody"):
        await tab.goto(path)
        await tab.page.wait_for_load_state("networkidle")
    await sign_in_via_link(services, tab, ALICE, "/live/alice/studio")
    await tab.page.wait_for_function(
        "() => document.querySelector('[data-testid=preview]').videoWidth > 0", timeout=WAIT_MS
    )

    assert len(tab.urls) > 10  # the recorder saw the pages, their CSS, scripts and API calls
    assert foreign_urls(tab, livekit) == []
    assert tab.errors == []


@pytest.mark.parametrize("width", [375, 320])
async def test_pages_fit_a_phone_screen(
    services: Services, clock: ManualClock, open_tab: OpenTab, width: int
) -> None:
    await create_stream(
        services,
        title="A rather long stream title that has to wrap on a small phone screen",
        description="x" * 300,
    )
    await add_past_session(services, clock, ALICE, 3_000)
    await create_stream(services, BOB, title="Night market", location_name="Taipei")
    await services.streams.go_live(BOB.user_id)
    tab = await open_tab({**PHONE, "width": width})

    for path in ("/live", "/live/alice", "/live/bob", "/live/nobody"):
        await tab.goto(path)
        assert await no_horizontal_scroll(tab.page), f"{path} scrolls sideways on a phone"
    await sign_in_via_link(services, tab, ALICE, "/live/alice/studio")
    await expect(tab.page.get_by_test_id("go-live")).to_be_visible()
    assert await no_horizontal_scroll(tab.page), "the studio scrolls sideways on a phone"
    assert tab.errors == []
