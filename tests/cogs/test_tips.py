"""/tip, the Tip button on announcements and its form, and /tips top, as members use them."""

from __future__ import annotations

from typing import Any

from core.kernel.errors import InvalidInput, NotFound, PaymentRefused
from core.services import Services
from tests.bot.helpers import dms, domain_errors, fund, on_air, page_for
from tests.conftest import World


async def test_tip_moves_credits_and_the_streamer_gets_a_dm(
    world: World, services: Services
) -> None:
    await page_for(services, world.alice, "Alice")
    await fund(services, world.bob, 100)
    result = await world.bob.slash(
        world.general, "tip", member=world.alice, amount=30, message="great @everyone"
    )
    assert result.ephemeral
    assert result.response.content == (
        "Thank you: **30 credits** to **Alice**. Your balance is now 70 credits."
    )
    [alert] = dms(world.alice)
    assert alert.embeds[0].title == "💸 bob tipped you 30 credits"
    assert alert.embeds[0].description == "great @everyone"
    assert await services.ledger.balance(world.alice.id) == 30


async def test_tip_refusals_are_explained_and_move_nothing(
    world: World, services: Services
) -> None:
    await page_for(services, world.alice, "Alice")
    await fund(services, world.bob, 20)
    mine = await world.alice.slash(world.general, "tip", member=world.alice, amount=10)
    assert mine.response.content == "You can't tip yourself."
    stranger = await world.alice.slash(world.general, "tip", member=world.bob, amount=10)
    assert "has no stream page" in stranger.response.content
    poor = await world.bob.slash(world.general, "tip", member=world.alice, amount=21)
    assert poor.response.content == (
        "You have 20 credits, but this needs 21 credits. Nothing was charged."
    )
    tiny = await world.bob.slash(world.general, "tip", member=world.alice, amount=5)
    assert tiny.response.content == "A tip is between 10 credits and 10,000 credits."
    assert all(r.ephemeral for r in (mine, stranger, poor, tiny))
    assert domain_errors(world) == [PaymentRefused, NotFound, PaymentRefused, InvalidInput]
    assert await services.ledger.balance(world.bob.id) == 20
    assert dms(world.alice) == []


async def test_the_tip_button_on_an_announcement_opens_a_form_even_after_a_restart(
    world: World, services: Services, make_bot: Any
) -> None:
    await page_for(services, world.alice, "Alice")
    await fund(services, world.bob, 100)
    await world.alice.slash(world.general, "stream golive")
    await on_air(world)
    # The announcement (a chat thread's starter message may follow it).
    [announcement] = [m for m in world.general.history() if m.embeds]
    old_bot = world.env.bot
    await world.env.restart_bot(make_bot())
    await old_bot.close()  # the old process is gone: it no longer hears tips
    shown = await world.bob.click(announcement, label="Tip")
    assert shown.modal["title"] == "Tip Alice"
    done = await world.bob.submit_modal(
        shown, {"tip:amount": "25", "tip:message": "see www.spam.example.com"}
    )
    assert done.ephemeral and "**25 credits** to **Alice**" in done.response.content
    [alert] = dms(world.alice)
    assert alert.embeds[0].description == "see"
    own = await world.alice.click(announcement, label="Tip")
    assert own.ephemeral and "can't tip yourself" in own.response.content
    bad = await world.bob.submit_modal(
        await world.bob.click(announcement, label="Tip"), {"tip:amount": "lots"}
    )
    assert "whole number" in bad.response.content
    assert domain_errors(world) == [InvalidInput]


async def test_tips_top_shows_the_leaderboards(world: World, services: Services) -> None:
    await page_for(services, world.alice, "Alice")
    await fund(services, world.bob, 500)
    await world.bob.slash(world.general, "tip", member=world.alice, amount=120)
    board = await world.admin.slash(world.general, "tips top")
    embed = board.response.embeds[0]
    assert embed.title == "Tips, this week"
    assert [field.value for field in embed.fields] == [
        "🥇 **bob** · 120 credits (1 tip)",
        "🥇 **Alice** · 120 credits (1 tip)",
    ]
    alice_only = await world.admin.slash(
        world.general, "tips top", period="all", member=world.admin
    )
    assert alice_only.response.embeds[0].description == "No tips yet."


async def test_the_tip_button_comes_and_goes_with_the_tips_extension(
    world: World, services: Services
) -> None:
    await page_for(services, world.alice, "Alice")
    await world.alice.slash(world.general, "stream golive")
    await on_air(world)
    [announcement] = [m for m in world.general.history() if m.embeds]
    await world.env.bot.unload_extension("cogs.tips")
    unanswered = await world.bob.click(announcement, label="Tip")
    assert not unanswered.acknowledged  # nobody answers Tip without the tips cog
    await world.env.bot.load_extension("cogs.tips")
    shown = await world.bob.click(announcement, label="Tip")
    assert shown.modal["title"] == "Tip Alice"
