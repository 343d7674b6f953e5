"""Go-live alerts as a community sees them: one announcement and one DM per session (through
flaps, restarts and Discord's bad minutes), live viewer counts, the end summary, ping and live
roles, and problems explained to the admin instead of failing silently."""

from __future__ import annotations

from typing import Any

import discord

from core.accounts.auth import Identity
from core.kernel.clock import ManualClock
from core.services import Services
from golive import scheduler
from golive.cli import guild_problem_lines
from tests.cogs.test_streams import create_page
from tests.conftest import World
from tests.fakes.livekit import FakeLiveKit


async def go_live(world: World) -> None:
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream golive")


async def setup_announcements(world: World) -> None:
    await world.admin.slash(world.general, "setup announce-channel", channel=world.announcements)


async def room_of(services: Services, world: World) -> str:
    stream = await services.streams.get_by_owner(world.alice.id)
    assert stream.room_name is not None
    return stream.room_name


async def joins(services: Services, livekit: FakeLiveKit, room: str, identity: str) -> None:
    livekit.add_participant(room, identity)
    await services.webhooks.receive(livekit.event("participant_joined", room, identity))


async def leaves(services: Services, livekit: FakeLiveKit, room: str, identity: str) -> None:
    info = livekit.remove_participant_directly(room, identity)
    await services.webhooks.receive(livekit.event("participant_left", room, participant=info))


async def tick(world: World) -> None:
    """One turn of every scheduler job, as a running `golive run` would do."""
    bot = world.env.bot
    await scheduler.run_once(scheduler.core_jobs(bot.services) + scheduler.discord_jobs(bot))
    await bot.services.events.drain()
    await world.env.settle()


def posted_alerts(world: World) -> list[discord.Message]:
    """The go-live announcements in the announcement channel (other features post there too)."""
    return [
        message
        for message in world.announcements.history()
        if message.embeds
        and (message.embeds[0].author.name or "").endswith(("is live", "was live"))
    ]


def member_roles(world: World, member: Any) -> list[int]:
    return list(world.env.backend.guilds[world.guild.id].members[member.id].role_ids)


async def test_a_flap_and_a_restart_never_repeat_the_announcement_or_the_dm(
    world: World, services: Services, livekit: FakeLiveKit, clock: ManualClock, make_bot: Any
) -> None:
    await setup_announcements(world)
    await create_page(world, world.alice)
    await world.bob.slash(world.general, "follow", member=world.alice)
    await world.alice.slash(world.general, "stream golive")
    room = await room_of(services, world)
    host = f"host-{world.alice.id}"

    await joins(services, livekit, room, host)
    await leaves(services, livekit, room, host)  # the broadcaster's network drops…
    clock.advance(90)
    await tick(world)
    await joins(services, livekit, room, host)  # …and comes back within the grace
    await tick(world)
    await world.env.restart_bot(make_bot())
    await tick(world)

    [announcement] = posted_alerts(world)
    assert announcement.embeds[0].author.name == "🔴 Alice is live"
    [dm] = world.bob.user.dm_channel.history()
    assert "whom you follow, is live now" in dm.embeds[0].description
    assert (await services.streams.get_by_owner(world.alice.id)).active


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
    await world.alice.slash(world.general, "stream end")

    [summary] = posted_alerts(world)
    embed = summary.embeds[0]
    assert embed.description == "Alice was live for **1h 12m**."
    assert {f.name: f.value for f in embed.fields} == {"Peak viewers": "3", "Viewers": "3"}
    [chart] = summary.attachments
    assert chart.filename == "viewers.png"
    assert embed.image.url is not None and embed.image.url.endswith("viewers.png")


async def test_a_broadcaster_who_does_not_come_back_ends_the_stream_after_the_grace(
    world: World, services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    await setup_announcements(world)
    await go_live(world)
    room = await room_of(services, world)
    host = f"host-{world.alice.id}"
    await joins(services, livekit, room, host)
    await leaves(services, livekit, room, host)
    clock.advance(121)
    await tick(world)

    assert not (await services.streams.get_by_owner(world.alice.id)).active
    [summary] = posted_alerts(world)
    assert summary.embeds[0].author.name == "Alice was live"


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


async def test_an_announcement_discord_keeps_refusing_is_posted_by_a_later_tick(
    world: World,
) -> None:
    await setup_announcements(world)
    world.env.inject_error(
        "POST", f"/channels/{world.announcements.id}/messages", status=503, times=4
    )
    await go_live(world)
    assert posted_alerts(world) == []
    await tick(world)
    assert len(posted_alerts(world)) == 1
    await tick(world)
    assert len(posted_alerts(world)) == 1


async def test_a_server_error_on_the_summary_is_retried(world: World, clock: ManualClock) -> None:
    await setup_announcements(world)
    await go_live(world)
    clock.advance(300)
    world.env.inject_error("PATCH", "/channels/*/messages/*", status=502)
    await world.alice.slash(world.general, "stream end")
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
    await world.env.restart_bot(make_bot())
    await tick(world)

    [announcement] = posted_alerts(world)
    assert announcement.content == fans.mention
    stored = world.env.backend.get_message(world.announcements.id, announcement.id)
    assert stored.ping_role_ids == [fans.id] and not stored.mention_everyone


async def test_the_live_role_is_worn_while_live(world: World) -> None:
    live = world.guild.create_role("Live now")
    result = await world.admin.slash(world.general, "setup live-role", role=live)
    assert "while they are live" in result.response.content
    await go_live(world)
    assert live.id in member_roles(world, world.alice)
    await world.alice.slash(world.general, "stream end")
    assert live.id not in member_roles(world, world.alice)


async def test_setup_refuses_a_live_role_the_bot_cannot_give(world: World) -> None:
    above_the_bot = world.guild.create_role("Royalty", position=50)
    result = await world.admin.slash(world.general, "setup live-role", role=above_the_bot)
    assert result.ephemeral
    assert "above my own role" in result.response.content
    assert "Nothing was changed" in result.response.content


async def test_setup_refuses_a_ping_role_the_bot_may_not_mention(world: World) -> None:
    quiet = world.guild.create_role("Quiet", mentionable=False)
    channel = world.guild.create_text_channel(
        "muted-announcements",
        overwrites={
            world.guild.me: discord.PermissionOverwrite(mention_everyone=False),
        },
    )
    await world.admin.slash(world.general, "setup announce-channel", channel=channel)
    result = await world.admin.slash(world.general, "setup ping-role", role=quiet)
    assert "I can't ping" in result.response.content


async def test_a_permission_lost_after_setup_is_told_to_the_admin_and_to_golive_check(
    world: World, services: Services
) -> None:
    live = world.guild.create_role("Live now")
    await world.admin.slash(world.general, "setup live-role", role=live)
    world.env.inject_error(
        "PUT", "/guilds/*/members/*/roles/*", status=403, code=50013, message="Missing Permissions"
    )
    await go_live(world)

    [dm] = world.admin.user.dm_channel.history()
    assert "Manage Roles" in dm.content and world.guild.name in dm.content
    [line] = await guild_problem_lines(services)
    assert "Manage Roles" in line and str(world.guild.id) in line
    assert live.id not in member_roles(world, world.alice)


async def test_followers_who_turned_dms_off_are_not_messaged(world: World) -> None:
    await create_page(world, world.alice)
    await world.bob.slash(world.general, "follow", member=world.alice)
    off = await world.bob.slash(world.general, "notifications", dms="off")
    assert "off" in off.response.content
    await world.alice.slash(world.general, "stream golive")
    assert world.bob.user.dm_channel.history() == []
    following = await world.bob.slash(world.general, "following")
    assert "🔴" in following.response.embeds[0].description


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
    await world.alice.slash(world.general, "stream end")

    [summary] = posted_alerts(world)
    assert {f.name: f.value for f in summary.embeds[0].fields}["Tips"] == (
        "💜 40 credits from 2 tips"
    )
