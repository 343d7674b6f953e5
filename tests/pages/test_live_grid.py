"""/live in Chromium: the grid refreshes itself, and its two searches (by name, near a city).

The page polls POST /api/live/search every 10 s; the browser's clock is Playwright's, so the
test moves time forward instead of waiting for it.
"""

from __future__ import annotations

import re

from playwright.async_api import expect

from core.services import Services
from tests.conftest import ALICE, BOB
from tests.fakes.livekit import FakeLiveKit
from tests.pages.browser import OpenTab, create_stream
from tests.studio import go_live_with_video, send_video

REFRESH_MS = 10_000


async def test_a_stream_that_goes_live_after_the_page_opened_appears_without_a_reload(
    services: Services, open_tab: OpenTab, livekit: FakeLiveKit
) -> None:
    lisbon = await services.places.resolve("Lisbon")
    await create_stream(
        services,
        BOB,
        title="Night market",
        location_name=lisbon.label,
        latitude=lisbon.latitude,
        longitude=lisbon.longitude,
    )
    tab = await open_tab()
    await tab.page.clock.install()
    await tab.goto("/live")
    await expect(tab.page.get_by_test_id("empty")).to_contain_text("Nobody is live right now")
    await tab.page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    await services.streams.go_live(BOB.user_id)
    async with tab.page.expect_response(re.compile(r"/api/live/search$")):
        await tab.page.clock.run_for(REFRESH_MS + 500)
    # Media first: his room is open but no video came yet, so the grid doesn't list him.
    await expect(tab.page.get_by_test_id("empty")).to_be_visible()

    await send_video(services, livekit, BOB.user_id)
    async with tab.page.expect_response(re.compile(r"/api/live/search$")):
        await tab.page.clock.run_for(REFRESH_MS + 500)

    cards = tab.page.locator(".card")
    await expect(cards).to_have_count(1)
    await expect(cards.first).to_contain_text("Night market")
    await expect(cards.first).to_contain_text("Bob")
    await expect(cards.first).to_contain_text("Lisbon, Portugal")
    await expect(cards.first).to_contain_text("Live since")
    await expect(cards.first).to_contain_text("0 watching")
    await expect(tab.page.get_by_test_id("empty")).to_be_hidden()
    await expect(tab.page.get_by_test_id("count")).to_have_text("1 stream on air")
    assert await tab.page.evaluate("window.__sameDocument === true")

    await services.streams.end(BOB.user_id)
    await tab.page.clock.run_for(REFRESH_MS + 500)
    await expect(tab.page.get_by_test_id("empty")).to_be_visible()
    await expect(cards).to_have_count(0)
    assert tab.errors == []


async def test_searching_by_name_and_near_a_city(
    services: Services, open_tab: OpenTab, livekit: FakeLiveKit
) -> None:
    for who, title, city_name in ((ALICE, "Fado night", "Porto"), (BOB, "Tapas", "Madrid")):
        city = await services.places.resolve(city_name)
        await create_stream(
            services,
            who,
            title=title,
            location_name=city.label,
            latitude=city.latitude,
            longitude=city.longitude,
        )
        await go_live_with_video(services, livekit, who.user_id)
    tab = await open_tab()
    await tab.goto("/live")
    await expect(tab.page.locator(".card")).to_have_count(2)

    await tab.page.get_by_label("Find a streamer").fill("ali")
    await tab.page.get_by_label("Find a streamer").press("Enter")
    await tab.page.wait_for_url(re.compile(r"/live\?user=ali$"))
    await expect(tab.page.locator(".card")).to_have_count(1)
    await expect(tab.page.locator(".card").first).to_contain_text("Fado night")

    near = tab.page.get_by_label("Near a city")
    async with tab.page.expect_response(re.compile(r"/api/places\?q=Lisb")):
        await near.press_sequentially("Lisb")
    await expect(tab.page.locator("#city-suggestions option").first).to_have_attribute(
        "value", "Lisbon, Portugal"
    )
    await near.fill("Lisbon, Portugal")
    await near.press("Enter")
    places = tab.page.get_by_test_id("location")
    await expect(places).to_have_count(2)
    await expect(places.nth(0)).to_have_text(re.compile(r"^Porto, Portugal · 27\d\.\d km$"))
    await expect(places.nth(1)).to_have_text(re.compile(r"^Madrid, Spain · 50\d\.\d km$"))

    await tab.page.get_by_label("Find a streamer").fill("zzz")
    await tab.page.get_by_label("Find a streamer").press("Enter")
    await expect(tab.page.get_by_test_id("empty")).to_contain_text("Nobody live matches “zzz”")
    assert tab.errors == []


async def test_an_unknown_city_is_explained_on_the_page(open_tab: OpenTab) -> None:
    tab = await open_tab()
    await tab.goto("/live?near=Xyzzyville")
    await expect(tab.page.get_by_test_id("problem")).to_contain_text(
        "I don't know a city called 'Xyzzyville'"
    )
    assert tab.errors == []
