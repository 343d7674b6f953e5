"""Tipping on the watch page in Chromium: the form (balance, one-tap amounts, the server's
limits), its answers, "Get credits" through Stripe Checkout (the Stripe double plays Checkout's
page) and the page that confirms the top-up on the way back, and the live tip feed."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from playwright.async_api import expect

from core.config.settings import Settings
from core.services import Services
from tests.conftest import ALICE, BOB
from tests.core.money.test_ledger import fund
from tests.fakes.stripe import SECRET_KEY, FakeStripe
from tests.pages.browser import (
    PHONE,
    OpenTab,
    Tab,
    create_stream,
    lk,
    no_horizontal_scroll,
    sign_in_via_link,
    use_stub_livekit,
)
from tests.pages.public_address import at_public_address

# Fixtures: golive at the address Stripe sends the browser back to; the Stripe double.
from tests.pages.public_address import web_port as web_port
from tests.pages.public_address import web_server as web_server
from tests.web.test_money_api import WEBHOOK_SECRET, event, signed
from tests.web.test_money_api import stripe_api as stripe_api


@pytest.fixture
def settings(settings: Settings, stripe_api: FakeStripe, web_port: int) -> Settings:
    stripe_api.hosted = True  # its Checkout page is on the double, not on stripe.com
    stripe = dataclasses.replace(
        settings.stripe,
        secret_key=SECRET_KEY,
        webhook_secret=WEBHOOK_SECRET,
        api_base=stripe_api.url,
    )
    return dataclasses.replace(at_public_address(settings, web_port), stripe=stripe)


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

    await form.get_by_label("Credits", exact=True).fill("25")
    await form.get_by_label("Message").fill("hello https://spam.example/x")
    await form.get_by_role("button", name="Send tip").click()
    await expect(status).to_have_text("Thank you! You sent 25 credits. Your balance: 75 credits.")
    assert await services.ledger.balance(ALICE.user_id) == 25
    [tip] = await services.db.fetch_all("SELECT message FROM tips")
    assert tip["message"] == "hello"

    await form.get_by_label("Credits", exact=True).fill("500")
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


async def test_the_form_shows_the_balance_one_tap_amounts_and_the_servers_limits(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    await fund(services, BOB, 100)
    tab = await open_tab()
    await use_stub_livekit(tab)
    await sign_in_via_link(services, tab, BOB, "/live/alice")
    form = tab.page.get_by_test_id("tip-form")
    await expect(form.get_by_test_id("tip-balance")).to_have_text("Your balance: 100 credits.")
    # The server checks 10..10,000 credits and 200 characters: the form says and enforces so.
    await expect(form.get_by_test_id("tip-limits")).to_have_text(
        "A tip is between 10 credits and 10,000 credits."
    )
    amount = form.get_by_label("Credits", exact=True)
    await expect(amount).to_have_attribute("min", "10")
    await expect(amount).to_have_attribute("max", "10000")
    await expect(form.get_by_label("Message")).to_have_attribute("maxlength", "200")
    presets = form.get_by_test_id("tip-presets").get_by_role("button")
    await expect(presets).to_have_text(["50", "100", "500"])

    await form.get_by_role("button", name="Tip 50 credits").click()
    await expect(amount).to_have_value("50")
    await expect(form.get_by_role("button", name="Tip 50 credits")).to_have_attribute(
        "aria-pressed", "true"
    )
    await form.get_by_role("button", name="Send tip").click()
    await expect(form.get_by_test_id("tip-status")).to_have_text(
        "Thank you! You sent 50 credits. Your balance: 50 credits."
    )
    await expect(form.get_by_test_id("tip-balance")).to_have_text("Your balance: 50 credits.")

    await amount.fill("5")  # below the smallest tip: said before anything is sent
    await form.get_by_role("button", name="Send tip").click()
    await expect(form.get_by_test_id("tip-status")).to_have_text(
        "A tip is between 10 credits and 10,000 credits."
    )
    assert await services.ledger.balance(BOB.user_id) == 50
    assert tab.errors == []


async def pay_from_the_watch_page(services: Services, tab: Tab, *, press: str) -> None:
    """A member with no credits presses Get credits, picks 500, and presses `press` on Checkout."""
    await use_stub_livekit(tab)
    await sign_in_via_link(services, tab, BOB, "/live/alice")
    topup = tab.page.get_by_test_id("tip-topup")
    await expect(tab.page.get_by_test_id("tip-balance")).to_have_text("Your balance: 0 credits.")
    # Nothing to tip with: the amounts to buy are offered straight away.
    buy = topup.get_by_role("button", name="500 credits for $5.00")
    await expect(buy).to_be_visible()
    await expect(topup.get_by_test_id("get-credits")).to_have_attribute("aria-expanded", "true")
    await buy.click()
    await tab.page.wait_for_url(re.compile(r"/c/pay/cs_test_1$"))
    await tab.page.get_by_role("link", name=press).click()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_get_credits_goes_to_checkout_and_the_return_page_confirms_the_top_up(
    services: Services, open_tab: OpenTab, viewport: str
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await (open_tab(PHONE) if viewport == "phone" else open_tab())
    await pay_from_the_watch_page(services, tab, press="Pay")

    # Back from Stripe before its webhook: the page says it is confirming, and keeps asking.
    await tab.page.wait_for_url(re.compile(r"/topup/done\?session_id=cs_test_1&next=/live/alice$"))
    panel = tab.page.get_by_test_id("topup-return")
    await expect(panel.get_by_role("heading")).to_have_text("Confirming your payment…")
    await expect(panel.locator("progress")).to_be_visible()
    assert await no_horizontal_scroll(tab.page)
    with_webhook = event("evt_1", "cs_test_1")
    assert await services.topups.handle_webhook(with_webhook.encode(), signed(with_webhook)) == (
        "credited"
    )
    await expect(panel.get_by_role("heading")).to_have_text("Payment received — 500 credits added")
    await expect(panel.get_by_test_id("topup-message")).to_have_text("Your balance: 500 credits.")
    await expect(panel.locator("progress")).to_have_count(0)
    polls = [url for url in tab.urls if url.endswith("/api/topups/cs_test_1")]
    assert len(polls) >= 1

    await panel.get_by_role("link", name="Back to the stream").click()
    await tab.page.wait_for_url(re.compile(r"/live/alice$"))
    await expect(tab.page.get_by_test_id("tip-balance")).to_have_text("Your balance: 500 credits.")
    assert tab.errors == []


async def test_a_payment_already_confirmed_is_said_at_once(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    await sign_in_via_link(services, tab, BOB, "/live")
    checkout = await services.topups.start_checkout(BOB.user_id, 1000, "/live/alice")
    paid = event("evt_1", checkout.session_id)
    await services.topups.handle_webhook(paid.encode(), signed(paid))
    await tab.goto(f"/topup/done?session_id={checkout.session_id}&next=/live/alice")
    panel = tab.page.get_by_test_id("topup-return")
    await expect(panel.get_by_role("heading")).to_have_text(
        "Payment received — 1,000 credits added"
    )
    await expect(panel.get_by_test_id("topup-message")).to_have_text("Your balance: 1,000 credits.")
    assert tab.errors == []


async def test_cancelling_at_checkout_comes_back_to_a_page_that_says_nothing_was_charged(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    await pay_from_the_watch_page(services, tab, press="Cancel")
    await tab.page.wait_for_url(re.compile(r"/topup/cancelled\?next=/live/alice$"))
    panel = tab.page.get_by_test_id("topup-return")
    await expect(panel.get_by_role("heading")).to_have_text("Payment cancelled")
    await expect(panel).to_contain_text("Nothing was charged.")
    await panel.get_by_role("link", name="Back to the stream").click()
    await tab.page.wait_for_url(re.compile(r"/live/alice$"))
    assert await services.ledger.balance(BOB.user_id) == 0
    assert tab.errors == []


class TestWithoutStripe:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        stripe = dataclasses.replace(settings.stripe, secret_key=None, webhook_secret=None)
        return dataclasses.replace(settings, stripe=stripe)

    async def test_no_credits_and_no_stripe_says_who_can_help(
        self, services: Services, open_tab: OpenTab
    ) -> None:
        await create_stream(services)
        await services.streams.go_live(ALICE.user_id)
        tab = await open_tab()
        await use_stub_livekit(tab)
        await sign_in_via_link(services, tab, BOB, "/live/alice")
        topup = tab.page.get_by_test_id("tip-topup")
        await expect(topup.get_by_test_id("tip-topup-status")).to_have_text(
            "Buying credits isn't set up here yet; a moderator can grant you some."
        )
        await expect(topup.get_by_test_id("get-credits")).to_be_hidden()
        assert tab.errors == []


async def test_the_form_speaks_the_pages_language(services: Services, open_tab: OpenTab) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    await fund(services, BOB, 1500)
    tab = await open_tab()
    await use_stub_livekit(tab)
    await sign_in_via_link(services, tab, BOB, "/live/alice?lang=de")
    form = tab.page.get_by_test_id("tip-form")
    await expect(form.get_by_test_id("tip-balance")).to_have_text("Dein Guthaben: 1.500 Credits.")
    await expect(form.get_by_test_id("tip-limits")).to_have_text(
        "Ein Trinkgeld liegt zwischen 10 Credits und 10.000 Credits."
    )
    await tip_packet(tab, {"type": "tip", "from": "Carol", "amount": 40, "message": "wow"})
    await expect(tab.page.get_by_test_id("tip-feed").locator("li")).to_have_text(
        ["Carol hat 40 Credits als Trinkgeld gegeben: wow"]
    )
    assert tab.errors == []
