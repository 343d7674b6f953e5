"""/credits as moderators use it: grants, revokes, refunds, the audit and payouts."""

from __future__ import annotations

import pytest
from simcord import SetupError

from core.kernel.errors import Conflict, InvalidInput, PaymentRefused
from core.services import Services
from tests.bot.helpers import dms, domain_errors, fund, page_for
from tests.conftest import World


async def test_payouts_are_requested_listed_paid_and_rejected(
    world: World, services: Services
) -> None:
    await fund(services, world.bob, 2500)
    no_page = await world.bob.slash(world.general, "wallet payout", amount=1000)
    assert no_page.response.content.startswith("Payouts are for streamers")
    await page_for(services, world.bob, "Bob")
    small = await world.bob.slash(world.general, "wallet payout", amount=10)
    assert small.response.content == "A payout is at least 1,000 credits."
    first = await world.bob.slash(world.general, "wallet payout", amount=1000)
    assert "Payout request **#1** for **1,000 credits**" in first.response.content
    await world.bob.slash(world.general, "wallet payout", amount=1200)
    assert await services.ledger.balance(world.bob.id) == 300
    too_much = await world.bob.slash(world.general, "wallet payout", amount=1000)
    assert "You have 300 credits" in too_much.response.content

    listed = await world.admin.slash(world.general, "credits payouts")
    lines = listed.response.embeds[0].description.splitlines()
    assert [line.split(" · ")[0] for line in lines] == ["**#1**", "**#2**"]
    paid = await world.admin.slash(world.general, "credits payout-paid", request=1, note="IBAN ok")
    assert "is marked paid" in paid.response.content
    rejected = await world.admin.slash(
        world.general, "credits payout-reject", request=2, reason="details missing"
    )
    assert "1,200 credits went back" in rejected.response.content
    again = await world.admin.slash(world.general, "credits payout-paid", request=1)
    assert again.response.content == "Payout request #1 is already paid."
    assert await services.ledger.balance(world.bob.id) == 1500
    assert (await services.ledger.platform_balances())["payouts"] == 1000
    assert [m.content.split(" for ")[0].split(" was ")[0] for m in dms(world.bob)] == [
        "Your payout request #1",
        "Your payout request #2",
    ]
    assert "IBAN ok" in dms(world.bob)[0].content
    assert domain_errors(world) == [PaymentRefused, InvalidInput, PaymentRefused, Conflict]


async def test_moderators_grant_revoke_refund_and_audit(world: World, services: Services) -> None:
    await page_for(services, world.alice, "Alice")
    granted = await world.admin.slash(
        world.general, "credits grant", member=world.bob, amount=300, reason="event prize"
    )
    assert "Granted **300 credits**" in granted.response.content
    assert "Their balance: 300 credits" in granted.response.content
    await world.bob.slash(world.general, "tip", member=world.alice, amount=100)
    refund = await world.admin.slash(world.general, "credits refund-tip", tip=1, reason="oops")
    assert refund.response.content == "Tip #1 (100 credits from bob) is refunded."
    twice = await world.admin.slash(world.general, "credits refund-tip", tip=1, reason="oops")
    assert twice.response.content == "Tip #1 has already been refunded."
    revoked = await world.admin.slash(
        world.general, "credits revoke", member=world.bob, amount=50, reason="duplicate prize"
    )
    assert "Their balance: 250 credits" in revoked.response.content
    too_much = await world.admin.slash(
        world.general, "credits revoke", member=world.bob, amount=999, reason="x"
    )
    assert too_much.response.content.startswith("That member has only 250 credits")
    audit = await world.admin.slash(world.general, "credits audit", member=world.bob)
    lines = audit.response.embeds[0].description.splitlines()
    assert len(lines) == 3 and all(f"by <@{world.admin.id}>" in line for line in lines)
    assert "Removed by a moderator: duplicate prize" in lines[0]
    assert domain_errors(world) == [Conflict, PaymentRefused]
    with pytest.raises(SetupError, match="default-member-permissions"):
        await world.bob.slash(
            world.general, "credits grant", member=world.bob, amount=1, reason="me"
        )
