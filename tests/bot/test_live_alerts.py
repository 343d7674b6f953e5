"""Around a go-live, beyond the announcement: one follower DM per session (through flaps and
restarts), the live role, the tick that catches up and ends abandoned streams, and problems
explained to the admin instead of failing silently."""

from __future__ import annotations

from typing import Any

from core.kernel.clock import ManualClock
from core.services import Services
from golive.cli import guild_problem_lines
from tests.bot.helpers import (
    create_page,
    go_live,
    joins,
    leaves,
    member_roles,
    on_air,
    posted_alerts,
    room_of,
    setup_announcements,
    tick,
)
from tests.conftest import World
from tests.fakes.livekit import FakeLiveKit


async def test_a_flap_and_a_restart_never_repeat_the_announcement_or_the_dm(
    world: World, services: Services, livekit: FakeLiveKit, clock: ManualClock, make_bot: Any
) -> None:
    await setup_announcements(world)
    await create_page(world, world.alice)
    await world.bob.slash(world.general, "follow", member=world.alice)
    await world.alice.slash(world.general, "stream golive")
    room = await room_of(services, world)
    host = f"host-{world.alice.id}"

    await on_air(world)  # the studio's camera: announced, Bob told
    await leaves(services, livekit, room, host)  # the broadcaster's network drops…
    clock.advance(90)
    await tick(world)
    await on_air(world)  # …and comes back within the grace, camera on again
    await tick(world)
    await world.env.restart_bot(make_bot())
    await tick(world)

    [announcement] = posted_alerts(world)
    assert announcement.embeds[0].author.name == "🔴 Alice is live"
    [dm] = world.bob.user.dm_channel.history()
    assert "whom you follow, is live now" in dm.embeds[0].description
    assert (await services.streams.get_by_owner(world.alice.id)).active


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


async def test_the_live_role_is_worn_while_live(world: World) -> None:
    live = world.guild.create_role("Live now")
    result = await world.admin.slash(world.general, "setup live-role", role=live)
    assert "while they are live" in result.response.content
    await go_live(world)
    assert live.id in member_roles(world, world.alice)
    await world.alice.slash(world.general, "stream end")
    assert live.id not in member_roles(world, world.alice)


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
    off = await world.bob.slash(world.general, "notifications", dms=False)
    assert "off" in off.response.content
    await world.alice.slash(world.general, "stream golive")
    assert world.bob.user.dm_channel.history() == []
    following = await world.bob.slash(world.general, "following")
    assert "🔴" in following.response.embeds[0].description
