"""Thumbnails on the /live cards in Chromium: the egress's snapshot, newer ones as they come, and
the gradient whenever there is none.

The LiveKit double's egress writes real JPEGs into the shared folder (`capture_snapshots`), so
Chromium decodes exactly what golive serves.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Locator, Route, expect

from core.config import Settings
from core.kernel.clock import ManualClock
from core.services import Services
from golive.bootstrap import open_services
from tests.conftest import ALICE, BOB
from tests.fakes.livekit import FakeLiveKit
from tests.pages.browser import OpenTab, create_stream, screenshot
from tests.studio import go_live_with_video

REFRESH_MS = 10_000


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return dataclasses.replace(
        settings,
        thumbnails=dataclasses.replace(
            settings.thumbnails, directory=tmp_path / "thumbs", interval=timedelta(seconds=10)
        ),
    )


@pytest_asyncio.fixture
async def services(settings: Settings, clock: ManualClock) -> AsyncIterator[Services]:
    async with open_services(settings, clock) as opened:
        yield opened


async def decoded_width(image: Locator) -> int:
    """How wide the picture Chromium decoded, once it has (0: broken, it shows nothing)."""
    width = await image.evaluate(
        """image => image.complete ? image.naturalWidth : new Promise((done) => {
          image.addEventListener("load", () => done(image.naturalWidth), { once: true });
          image.addEventListener("error", () => done(0), { once: true });
        })"""
    )
    assert isinstance(width, int)
    return width


async def test_a_card_shows_the_snapshot_and_one_without_keeps_the_gradient(
    services: Services, open_tab: OpenTab, livekit: FakeLiveKit
) -> None:
    await create_stream(services, ALICE, title="Sunset over the river")
    await create_stream(services, BOB, title="Night market")
    alice = await go_live_with_video(services, livekit, ALICE.user_id)
    # Bob's egress couldn't start (LiveKit refused): his card keeps the gradient.
    livekit.fail_next("StartRoomCompositeEgress", code="unavailable")
    await go_live_with_video(services, livekit, BOB.user_id)
    [written] = livekit.capture_snapshots()
    assert written.name == f"{alice.room_name}.jpeg"

    tab = await open_tab()
    await tab.goto("/live")
    alice_card = tab.page.locator(".card[data-slug=alice]")
    bob_card = tab.page.locator(".card[data-slug=bob]")
    image = alice_card.get_by_test_id("thumbnail")
    await expect(image).to_have_attribute("src", re.compile(r"^/live/alice/thumbnail\.jpg\?v=\d+$"))
    assert await decoded_width(image) == 640
    await expect(bob_card.get_by_test_id("thumbnail")).to_have_count(0)
    await expect(bob_card.locator(".card__initial")).to_have_text("B")
    # The badge stays on top of the picture.
    badge = alice_card.locator(".card__badge")
    on_top = await badge.evaluate(
        "badge => { const r = badge.getBoundingClientRect();"
        " return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === badge; }"
    )
    assert on_top
    await screenshot(tab.page, "live-grid-thumbnails.png")
    assert tab.errors == []


async def test_a_newer_snapshot_replaces_the_old_one_without_a_reload(
    services: Services, open_tab: OpenTab, livekit: FakeLiveKit
) -> None:
    await create_stream(services, ALICE)
    await go_live_with_video(services, livekit, ALICE.user_id)
    livekit.capture_snapshots()
    tab = await open_tab()
    await tab.page.clock.install()
    await tab.goto("/live")
    image = tab.page.locator(".card[data-slug=alice]").get_by_test_id("thumbnail")
    assert await decoded_width(image) == 640
    first = await image.get_attribute("src")

    [written] = livekit.capture_snapshots()
    newer = f"/live/alice/thumbnail.jpg?v={written.stat().st_mtime_ns}"
    async with tab.page.expect_response(re.compile(r"/api/live/search$")):
        await tab.page.clock.run_for(REFRESH_MS + 500)
    await expect(image).to_have_attribute("src", re.compile(re.escape(newer) + "$"))
    assert newer != first
    assert await decoded_width(image) == 640
    assert tab.errors == []


async def test_a_snapshot_gone_since_the_page_was_made_falls_back_to_the_gradient(
    services: Services, open_tab: OpenTab, livekit: FakeLiveKit
) -> None:
    await create_stream(services, ALICE)
    await go_live_with_video(services, livekit, ALICE.user_id)
    [written] = livekit.capture_snapshots()
    tab = await open_tab()

    async def lose_the_file_first(route: Route) -> None:
        # The grid was rendered with the snapshot's address; the file vanishes before the
        # browser asks for it (the egress failed and its folder was cleaned, say).
        written.unlink(missing_ok=True)
        await route.continue_()

    await tab.page.route(re.compile(r"/live/alice/thumbnail\.jpg"), lose_the_file_first)
    await tab.goto("/live")
    card = tab.page.locator(".card[data-slug=alice]")
    await expect(card.get_by_test_id("thumbnail")).to_have_count(0)  # the 404'd picture is gone
    await expect(card.locator(".card__initial")).to_be_visible()
    assert tab.errors == []
