"""Tipping on the watch page in Chromium: the form, its answers, and the live tip feed."""

from __future__ import annotations

import json

from playwright.async_api import expect

from core.services import Services
from tests.conftest import ALICE, BOB
from tests.core.money.test_ledger import fund
from tests.pages.browser import (
    OpenTab,
    Tab,
    create_stream,
    lk,
    sign_in_via_link,
    use_stub_livekit,
)


async def tip_packet(tab: Tab, packet: dict[str, object], topic: str = "tips") -> None:
    await lk(
        tab,
        f"lk.emit('dataReceived', new TextEncoder().encode({json.dumps(json.dumps(packet))}),"
        f" undefined, 0, {json.dumps(topic)})",
    )


async def test_a_signed_in_viewer_tips_from_the_watch_page(
    services: Services,
    open_tab: OpenTab,
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    await fund(services, BOB, 100)
    tab = await open_tab()
    await use_stub_livekit(tab)
    await sign_in_via_link(services, tab, BOB, "/live/alice")
    form, status = tab.page.get_by_test_id("tip-form"), tab.page.get_by_test_id("tip-status")

    await form.get_by_label("Credits").fill("25")
    await form.get_by_label("Message").fill("hello https://spam.example/x")
    await form.get_by_role("button", name="Send tip").click()
    await expect(status).to_have_text("Thank you! You sent 25 credits. Your balance: 75 credits.")
    assert await services.ledger.balance(ALICE.user_id) == 25
    [tip] = await services.db.fetch_all("SELECT message FROM tips")
    assert tip["message"] == "hello"

    await form.get_by_label("Credits").fill("500")
    await form.get_by_role("button", name="Send tip").click()
    await expect(status).to_have_text(
        "You have 75 credits, but this needs 500 credits. Nothing was charged."
    )
    assert await services.ledger.balance(BOB.user_id) == 75
    assert tab.errors == []


async def test_tips_sent_into_the_room_appear_in_the_feed_as_text(
    services: Services,
    open_tab: OpenTab,
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    await use_stub_livekit(tab)
    await tab.goto("/live/alice")
    await tab.page.wait_for_function(
        "() => window.__lk && window.__lk.room()?.state === 'connected'"
    )
    await expect(tab.page.get_by_test_id("tip-sign-in")).to_contain_text("press Watch")
    await tip_packet(tab, {"type": "tip", "from": "Carol", "amount": 40, "message": "wow"})
    await tip_packet(
        tab, {"type": "tip", "from": "<b>Eve</b>", "amount": 1, "message": "<img src=x>"}
    )
    await tip_packet(tab, {"type": "chat", "text": "not a tip"}, topic="chat")
    items = tab.page.get_by_test_id("tip-feed").locator("li")
    await expect(items).to_have_text(
        ["<b>Eve</b> tipped 1 credit: <img src=x>", "Carol tipped 40 credits: wow"]
    )
    assert await tab.page.locator("#tip-feed img").count() == 0
    assert tab.errors == []
