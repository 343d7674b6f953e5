"""The tip form's settings (GET /api/live/<slug>/tip), "Get credits" (POST /api/topups), and the
pages Stripe sends the member back to, against the Stripe double."""

from __future__ import annotations

import dataclasses
import html
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient

from core.config.settings import Settings
from core.services import Services
from tests.conftest import ALICE, BOB, SignIn
from tests.core.money.test_ledger import fund, page
from tests.fakes.stripe import FakeStripe
from tests.web.test_fuzz_routes import row_counts
from tests.web.test_money_api import deliver, event, signed

# The Stripe double and settings that point at it.
from tests.web.test_money_api import settings as settings
from tests.web.test_money_api import stripe_api as stripe_api

Client = TestClient[Any, Any]


async def text_of(response: Any) -> str:
    return html.unescape(await response.text())


async def form_settings(client: Client, slug: str = "alice") -> Any:
    response = await client.get(f"/api/live/{slug}/tip")
    assert response.status == 200
    return await response.json()


async def buy(client: Client, body: Any, **headers: str) -> Any:
    return await client.post("/api/topups", json=body, headers=headers)


# -- the tip form ----------------------------------------------------------------------------


async def test_the_form_reads_the_servers_limits_presets_and_the_viewers_balance(
    services: Services, client: Client, sign_in: SignIn
) -> None:
    await page(services, ALICE)
    guest = await form_settings(client)
    assert guest == {
        "streamer": "Alice",
        "min": 10,
        "max": 10_000,
        "messageMax": 200,
        "presets": [50, 100, 500],
        "balance": None,
        "topup": {
            "enabled": True,
            "amounts": [100, 500, 1000],
            "centsPerCredit": 1,
            "currency": "usd",
        },
    }
    await fund(services, BOB, 75)
    await sign_in(client, BOB)
    assert (await form_settings(client))["balance"] == 75


class TestOtherSettings:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        tips = dataclasses.replace(
            settings.tips, minimum=25, maximum=300, message_max=0, presets=()
        )
        wallet = dataclasses.replace(settings.wallet, topup_min=200, topup_max=1500)
        stripe = dataclasses.replace(settings.stripe, secret_key=None, webhook_secret=None)
        return dataclasses.replace(settings, tips=tips, wallet=wallet, stripe=stripe)

    async def test_the_form_follows_them(self, services: Services, client: Client) -> None:
        await page(services, ALICE)
        answer = await form_settings(client)
        assert (answer["min"], answer["max"], answer["messageMax"]) == (25, 300, 0)
        assert answer["presets"] == [125, 250, 300]  # 5x and 10x the smallest; 50x is above max
        assert answer["topup"]["enabled"] is False and answer["topup"]["amounts"] == []


async def test_the_form_of_a_page_that_does_not_exist_is_a_json_404(client: Client) -> None:
    response = await client.get("/api/live/nobody/tip")
    assert response.status == 404 and "error" in await response.json()


# -- Get credits -----------------------------------------------------------------------------


async def test_get_credits_starts_checkout_and_comes_back_to_the_page(
    services: Services, client: Client, sign_in: SignIn, stripe_api: FakeStripe
) -> None:
    await sign_in(client, BOB)
    response = await buy(client, {"credits": 500, "returnTo": "/live/alice?lang=de"})
    assert response.status == 201
    answer = await response.json()
    assert answer["url"] == "https://checkout.stripe.com/c/pay/cs_test_1"
    assert answer["credits"] == 500 and answer["price"] == "5.00 USD"
    [created] = stripe_api.created
    success = urlsplit(created["success_url"])
    assert f"{success.scheme}://{success.netloc}{success.path}" == "http://golive.test/topup/done"
    assert parse_qs(success.query) == {
        "session_id": ["{CHECKOUT_SESSION_ID}"],
        "next": ["/live/alice?lang=de"],
    }
    assert (
        created["cancel_url"] == "http://golive.test/topup/cancelled?next=/live/alice%3Flang%3Dde"
    )
    assert created["client_reference_id"] == str(BOB.user_id)


async def test_the_same_amount_from_discord_and_from_a_page_gets_a_session_each(
    services: Services, client: Client, sign_in: SignIn, stripe_api: FakeStripe
) -> None:
    """Stripe refuses an idempotency key reused with other parameters (another return page)."""
    from_discord = await services.topups.start_checkout(BOB.user_id, 500)
    await sign_in(client, BOB)
    from_page = await (await buy(client, {"credits": 500, "returnTo": "/live/alice"})).json()
    assert from_page["sessionId"] != from_discord.session_id
    assert len(stripe_api.created) == 2


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"credits": "500"}, 400, "whole number"),
        ({"credits": True}, 400, "whole number"),
        ({"credits": 1.5}, 400, "whole number"),
        ({}, 400, "whole number"),
        ({"credits": 99}, 400, "between 100 credits and 100,000 credits"),
        ({"credits": 100_001}, 400, "between"),
        ({"credits": -5}, 400, ""),
        ({"credits": 500, "returnTo": "//evil.example/x"}, 400, "page of this site"),
        ({"credits": 500, "returnTo": "https://evil.example/"}, 400, "page of this site"),
        ({"credits": 500, "returnTo": 7}, 400, "string"),
        ([500], 400, "JSON object"),
    ],
)
async def test_get_credits_refuses_bad_input_and_writes_nothing(
    services: Services,
    client: Client,
    sign_in: SignIn,
    stripe_api: FakeStripe,
    body: Any,
    status: int,
    words: str,
) -> None:
    await sign_in(client, BOB)
    before = await row_counts(services)
    response = await buy(client, body)
    assert response.status == status
    assert words in (await response.json())["error"]
    assert await row_counts(services) == before
    assert stripe_api.created == []


async def test_get_credits_needs_a_signed_in_member_on_this_site(
    services: Services, client: Client, sign_in: SignIn, stripe_api: FakeStripe
) -> None:
    guest = await buy(client, {"credits": 500})
    assert guest.status == 401 and "Sign in" in (await guest.json())["error"]
    await sign_in(client, BOB)
    before = await row_counts(services)
    other_site = await buy(client, {"credits": 500}, Origin="https://evil.example")
    assert other_site.status == 403
    assert await row_counts(services) == before
    assert stripe_api.created == []


async def test_stripe_down_is_explained_and_nothing_is_recorded(
    services: Services, client: Client, sign_in: SignIn, stripe_api: FakeStripe
) -> None:
    stripe_api.fail = True
    await sign_in(client, BOB)
    before = await row_counts(services)
    response = await buy(client, {"credits": 500})
    assert response.status == 409
    assert "Stripe couldn't start the payment" in (await response.json())["error"]
    assert await row_counts(services) == before


class TestWithoutStripe:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        stripe = dataclasses.replace(settings.stripe, secret_key=None, webhook_secret=None)
        return dataclasses.replace(settings, stripe=stripe)

    async def test_get_credits_says_it_is_not_set_up(
        self, services: Services, client: Client, sign_in: SignIn
    ) -> None:
        await sign_in(client, BOB)
        before = await row_counts(services)
        response = await buy(client, {"credits": 500})
        assert response.status == 409 and "isn't set up" in (await response.json())["error"]
        assert await row_counts(services) == before


# -- coming back from Stripe -------------------------------------------------------------------


async def test_the_return_page_confirms_once_the_webhook_has_credited(
    services: Services, client: Client, sign_in: SignIn
) -> None:
    await sign_in(client, BOB)
    checkout = await (await buy(client, {"credits": 500, "returnTo": "/live/alice"})).json()
    done = f"/topup/done?session_id={checkout['sessionId']}&next=/live/alice"

    waiting = await client.get(done)
    shown = await text_of(waiting)
    assert waiting.status == 200 and waiting.headers["Cache-Control"] == "no-store"
    assert "Confirming your payment…" in shown and "<progress" in shown
    assert 'href="/live/alice"' in shown and "Back to the stream" in shown
    status = await client.get(f"/api/topups/{checkout['sessionId']}")
    assert await status.json() == {"status": "pending", "credits": 500, "balance": None}

    payload = event("evt_1", checkout["sessionId"])
    assert (await deliver(client, payload, signed(payload)))[1]["result"] == "credited"
    status = await client.get(f"/api/topups/{checkout['sessionId']}")
    assert await status.json() == {"status": "credited", "credits": 500, "balance": 500}
    shown = await text_of(await client.get(done))
    assert "Payment received — 500 credits added" in shown
    assert "Your balance: 500 credits." in shown and "<progress" not in shown


async def test_only_the_member_who_paid_sees_the_payment_and_guests_see_no_balance(
    services: Services, client: Client, sign_in: SignIn
) -> None:
    checkout = await services.topups.start_checkout(BOB.user_id, 300)
    as_guest = await client.get(f"/api/topups/{checkout.session_id}")
    assert await as_guest.json() == {"status": "pending", "credits": 300, "balance": None}
    await sign_in(client, ALICE)
    assert (await client.get(f"/api/topups/{checkout.session_id}")).status == 404
    assert (await client.get(f"/topup/done?session_id={checkout.session_id}")).status == 404


@pytest.mark.parametrize("session_id", ["cs_test_404", "nope", "cs_" + "a" * 300, "%2e%2e", ""])
async def test_a_payment_we_never_made_is_a_404_on_the_page_and_a_4xx_on_the_api(
    services: Services, client: Client, session_id: str
) -> None:
    before = await row_counts(services)
    page_answer = await client.get(f"/topup/done?session_id={session_id}")
    assert page_answer.status == 404
    assert "We can't find this payment" in await text_of(page_answer)
    if session_id:
        api = await client.get(f"/api/topups/{session_id}")
        assert api.status in (400, 404) and "error" in await api.json()
    assert await row_counts(services) == before


async def test_the_cancel_page_says_nothing_was_charged_and_leads_back(client: Client) -> None:
    response = await client.get("/topup/cancelled?next=/live/alice")
    shown = await text_of(response)
    assert response.status == 200
    assert "Payment cancelled" in shown and "Nothing was charged" in shown
    assert 'href="/live/alice"' in shown
    # Only this site's pages are led back to.
    for bad in ("//evil.example", "https://evil.example", "/\\evil"):
        shown = await text_of(await client.get("/topup/cancelled", params={"next": bad}))
        assert "evil.example" not in shown and 'href="/live"' in shown
