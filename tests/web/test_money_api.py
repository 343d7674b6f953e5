"""Tipping from the watch page, and Stripe: Checkout links and the signed webhook."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient

from core.config.settings import Settings
from core.kernel.errors import PaymentRefused
from core.services import Services
from tests.conftest import ALICE, BOB, SignIn
from tests.core.money.test_ledger import fund, page
from tests.fakes.stripe import SECRET_KEY, FakeStripe, running_fake_stripe

WEBHOOK_SECRET = "whsec_test_0123456789abcdef"


@pytest_asyncio.fixture
async def stripe_api() -> AsyncIterator[FakeStripe]:
    async with running_fake_stripe() as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, stripe_api: FakeStripe) -> Settings:
    stripe = dataclasses.replace(
        settings.stripe,
        secret_key=SECRET_KEY,
        webhook_secret=WEBHOOK_SECRET,
        api_base=stripe_api.url,
    )
    return dataclasses.replace(settings, stripe=stripe)


def signed(payload: str, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """Stripe's documented scheme: t=<unix time>,v1=hex(hmac_sha256(secret, f"{t}.{payload}"))."""
    timestamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def event(event_id: str, session_id: str, kind: str = "checkout.session.completed") -> str:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": kind,
            "data": {
                "object": {
                    "id": session_id,
                    "object": "checkout.session",
                    "payment_status": "paid",
                }
            },
        }
    )


async def deliver(client: TestClient[Any, Any], payload: str, signature: str) -> Any:
    response = await client.post(
        "/stripe/webhook",
        data=payload,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )
    return response.status, await response.json()


async def test_topup_credits_once_per_event_and_per_payment(
    services: Services, client: TestClient[Any, Any], stripe_api: FakeStripe
) -> None:
    checkout = await services.topups.start_checkout(ALICE.user_id, 500)
    assert checkout.url == "https://checkout.stripe.com/c/pay/cs_test_1"
    assert checkout.price_text == "5.00 USD"
    [created] = stripe_api.created
    assert created["line_items[0][quantity]"] == "500"
    assert created["metadata[member_id]"] == str(ALICE.user_id)

    payload = event("evt_1", checkout.session_id)
    assert await deliver(client, payload, signed(payload)) == (
        200,
        {"received": True, "result": "credited"},
    )
    assert await services.ledger.balance(ALICE.user_id) == 500
    # Stripe redelivers the same event: nothing more.
    assert (await deliver(client, payload, signed(payload)))[1]["result"] == "duplicate"
    # Another event about the same payment: still credited once.
    later = event("evt_2", checkout.session_id, "checkout.session.async_payment_succeeded")
    assert (await deliver(client, later, signed(later)))[1]["result"] == "duplicate"
    assert await services.ledger.balance(ALICE.user_id) == 500
    assert await services.ledger.check_books() == []


async def test_webhook_refuses_bad_signatures_and_ignores_other_events(
    services: Services, client: TestClient[Any, Any]
) -> None:
    checkout = await services.topups.start_checkout(ALICE.user_id, 500)
    payload = event("evt_1", checkout.session_id)
    for signature in (
        signed(payload, secret="whsec_someone_else"),
        signed(payload, at=int(time.time()) - 3600),  # too old: a replay from long ago
        "t=1,v1=00",
        "",
    ):
        status, body = await deliver(client, payload, signature)
        assert (status, body) == (400, {"error": "The signature does not verify."})
    other = json.dumps(
        {"id": "evt_9", "object": "event", "type": "customer.created", "data": {"object": {}}}
    )
    assert (await deliver(client, other, signed(other)))[1]["result"] == "ignored"
    unknown = event("evt_3", "cs_not_ours")
    assert (await deliver(client, unknown, signed(unknown)))[1]["result"] == "ignored"
    assert await services.ledger.balance(ALICE.user_id) == 0


async def test_a_session_we_never_recorded_is_credited_from_its_metadata(
    services: Services, client: TestClient[Any, Any]
) -> None:
    """We crashed after Stripe made the session: its metadata (set by us, signed) still counts."""
    payload = json.loads(event("evt_1", "cs_lost"))
    payload["data"]["object"].update(
        client_reference_id=str(BOB.user_id),
        metadata={"member_id": str(BOB.user_id), "credits": "250"},
    )
    text = json.dumps(payload)
    assert (await deliver(client, text, signed(text)))[1]["result"] == "credited"
    assert await services.ledger.balance(BOB.user_id) == 250


async def test_a_retried_topup_opens_one_checkout_until_it_is_paid(
    services: Services, client: TestClient[Any, Any], stripe_api: FakeStripe
) -> None:
    first = await services.topups.start_checkout(ALICE.user_id, 500)
    again = await services.topups.start_checkout(ALICE.user_id, 500)
    assert again.url == first.url
    assert len(stripe_api.created) == 1
    rows = await services.db.fetch_all("SELECT session_id FROM stripe_checkouts")
    assert [row["session_id"] for row in rows] == [first.session_id]

    payload = event("evt_paid", first.session_id)
    assert (await deliver(client, payload, signed(payload)))[1]["result"] == "credited"
    # Paid: the next top-up is a purchase of its own.
    next_one = await services.topups.start_checkout(ALICE.user_id, 500)
    assert next_one.session_id != first.session_id
    assert len(stripe_api.created) == 2


async def test_a_stripe_hiccup_is_retried_without_opening_two_sessions(
    services: Services, stripe_api: FakeStripe
) -> None:
    stripe_api.fail_times = 1
    checkout = await services.topups.start_checkout(BOB.user_id, 300)
    assert stripe_api.requests == 2
    assert [c["line_items[0][quantity]"] for c in stripe_api.created] == ["300"]
    assert checkout.url.endswith(checkout.session_id)


async def test_topup_limits_and_a_stripe_outage_are_explained(
    services: Services, stripe_api: FakeStripe
) -> None:
    with pytest.raises(Exception, match="between 100 credits and 100,000 credits"):
        await services.topups.start_checkout(ALICE.user_id, 99)
    stripe_api.fail = True
    with pytest.raises(PaymentRefused, match="Stripe couldn't start the payment"):
        await services.topups.start_checkout(ALICE.user_id, 100)


class TestWithoutStripe:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return dataclasses.replace(
            settings,
            stripe=dataclasses.replace(settings.stripe, secret_key=None, webhook_secret=None),
        )

    async def test_topup_explains_how_to_enable_it(
        self, services: Services, client: TestClient[Any, Any]
    ) -> None:
        with pytest.raises(PaymentRefused, match="STRIPE_SECRET_KEY"):
            await services.topups.start_checkout(ALICE.user_id, 500)
        payload = event("evt_1", "cs_1")
        assert (await deliver(client, payload, signed(payload)))[0] == 400


async def test_tipping_from_the_watch_page(
    services: Services, client: TestClient[Any, Any], sign_in: SignIn
) -> None:
    await page(services, ALICE)
    await fund(services, BOB, 100)
    body = {"amount": 20, "message": "nice http://x.io/y", "requestId": "req-00000001"}
    anonymous = await client.post("/api/live/alice/tip", json=body)
    assert anonymous.status == 401

    await sign_in(client, BOB)
    first = await client.post("/api/live/alice/tip", json=body)
    assert first.status == 201
    answer = await first.json()
    assert (answer["balance"], answer["tip"]["message"], answer["replayed"]) == (80, "nice", False)
    again = await client.post("/api/live/alice/tip", json=body)
    assert again.status == 200 and (await again.json())["replayed"] is True
    assert await services.ledger.balance(BOB.user_id) == 80

    async def refused(slug: str, **changes: Any) -> tuple[int, str]:
        response = await client.post(f"/api/live/{slug}/tip", json={**body, **changes})
        return response.status, (await response.json())["error"]

    assert (await refused("alice", amount="20", requestId="req-00000002"))[0] == 400
    assert (await refused("alice", amount=9, requestId="req-00000003"))[0] == 400
    assert (await refused("alice", requestId="short"))[0] == 400
    assert await refused("alice", amount=81, requestId="req-00000004") == (
        409,
        "You have 80 credits, but this needs 81 credits. Nothing was charged.",
    )
    assert (await refused("nobody", requestId="req-00000005"))[0] == 404
    await page(services, BOB)
    assert await refused("bob", requestId="req-00000006") == (409, "You can't tip yourself.")
