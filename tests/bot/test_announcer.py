"""The go-live announcement as a community sees it: posted once through Discord's bad minutes, the
ping role pinged once, live viewer counts, and the summary it turns into at the end."""

from __future__ import annotations

from typing import Any

from core.accounts.auth import Identity
from core.kernel.clock import ManualClock
from core.services import Services
from tests.bot.helpers import (
    create_page,
    end_stream,
    go_live,
    joins,
    leaves,
    on_air,
    posted_alerts,
    room_of,
    setup_announcements,
    tick,
)
from tests.conftest import World
from tests.fakes.livekit import FakeLiveKit


async def test_the_announcement_shows_viewers_at_most_once_a_minute(
    world: World, services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    await setup_announcements(world)
    await go_live(world)
    room = await room_of(services, world)
    await joins(services, livekit, room, "guest-1")
    await tick(world)
    assert posted_alerts(world)[0].edited_at is None  # posted less than a minute ago

    clock.advance(61)
    await joins(services, livekit, room, "viewer-1-a")
    await tick(world)
    shown = posted_alerts(world)[0].embeds[0]
    assert [(f.name, f.value) for f in shown.fields] == [("Watching now", "👀 2")]

    await joins(services, livekit, room, "viewer-2-a")
    await tick(world)  # a third viewer, seconds later: no new edit yet
    assert posted_alerts(world)[0].embeds[0].fields[0].value == "👀 2"
    clock.advance(60)
    await tick(world)
    assert posted_alerts(world)[0].embeds[0].fields[0].value == "👀 3"


async def test_the_end_turns_the_announcement_into_a_summary_with_a_chart(
    world: World, services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    await setup_announcements(world)
    await go_live(world)
    room = await room_of(services, world)
    for viewer in ("guest-1", "guest-2", "viewer-1-a"):
        await joins(services, livekit, room, viewer)
    clock.advance(600)
    await leaves(services, livekit, room, "guest-2")
    clock.advance(3720)
    await end_stream(world)

    [summary] = posted_alerts(world)
    embed = summary.embeds[0]
    assert embed.description == "Alice was live for **1h 12m**."
    assert {f.name: f.value for f in embed.fields} == {"Peak viewers": "3", "Viewers": "3"}
    [chart] = summary.attachments
    assert chart.filename == "viewers.png"
    assert embed.image.url is not None and embed.image.url.endswith("viewers.png")


async def test_a_rate_limit_on_the_announcement_is_retried_and_posts_once(world: World) -> None:
    await setup_announcements(world)
    world.env.inject_error(
        "POST", "/channels/*/messages", status=429, code=0, message="You are being rate limited."
    )
    await go_live(world)
    [announcement] = posted_alerts(world)
    assert announcement.embeds[0].title == "Painting live"


async def test_a_discord_server_error_on_the_announcement_is_retried_and_posts_once(
    world: World,
) -> None:
    await setup_announcements(world)
    world.env.inject_error("POST", "/channels/*/messages", status=500, times=2)
    await go_live(world)
    assert len(posted_alerts(world)) == 1


async def test_a_server_error_on_the_summary_is_retried(world: World, clock: ManualClock) -> None:
    await setup_announcements(world)
    await go_live(world)
    clock.advance(300)
    world.env.inject_error("PATCH", "/channels/*/messages/*", status=502)
    await end_stream(world)
    assert posted_alerts(world)[0].embeds[0].description == "Alice was live for **5m**."


async def test_the_ping_role_is_pinged_once_and_nothing_else_can_ping(
    world: World, services: Services, make_bot: Any
) -> None:
    fans = world.guild.create_role("Stream fans")
    await setup_announcements(world)
    result = await world.admin.slash(world.general, "setup ping-role", role=fans)
    assert "will be pinged once" in result.response.content
    await create_page(world, world.alice, title=f"@everyone come watch <@&{fans.id}>")
    await world.alice.slash(world.general, "stream golive")
    await on_air(world)
    await world.env.restart_bot(make_bot())
    await tick(world)

    [announcement] = posted_alerts(world)
    assert announcement.content == fans.mention
    stored = world.env.backend.get_message(world.announcements.id, announcement.id)
    assert stored.ping_role_ids == [fans.id] and not stored.mention_everyone


async def test_the_summary_counts_the_tips_of_the_session(
    world: World, services: Services, clock: ManualClock
) -> None:
    await setup_announcements(world)
    await go_live(world)
    stream = await services.streams.get_by_owner(world.alice.id)
    await services.ledger.grant(
        world.bob.id, 100, moderator_id=world.admin.id, reason="welcome", key="grant-bob"
    )
    bob = Identity(world.bob.id, "bob", "bob")
    await services.tips.tip_stream(bob, stream.id, 25, "lovely colours", "tip-1")
    await services.tips.tip_stream(bob, stream.id, 15, "", "tip-2")
    clock.advance(60)
    await end_stream(world)

    [summary] = posted_alerts(world)
    assert {f.name: f.value for f in summary.embeds[0].fields}["Tips"] == (
        "💜 40 credits from 2 tips"
    )
