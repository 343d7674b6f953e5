"""/stream invite and /stream stage as members use them, through SimCord and the LiveKit double:
the invitation's DM and one-time link, who is on stage, and the refusals (not the streamer,
banned members, guests)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.kernel.clock import ManualClock
from core.kernel.errors import Conflict, Forbidden, NotFound
from core.livekit import viewer_identity
from core.services import Services
from core.stage import Member
from tests.bot.helpers import buttons, domain_errors, go_live, posts, room_of
from tests.conftest import World
from tests.fakes.livekit import FakeLiveKit


async def watches(services: Services, livekit: FakeLiveKit, world: World, member: Any) -> str:
    """`member` opens the watch page signed in (a viewer token, a connection with it)."""
    token = services.tokens.mint(
        room=await room_of(services, world),
        identity=viewer_identity(member.id, "tab"),
        name=member.user.name,
        role="viewer",
    )
    return livekit.join_with_token(token).identity


async def invitations(services: Services, world: World) -> list[int]:
    stream = await services.streams.get_by_owner(world.alice.id)
    return [i.user_id for i in (await services.stage.state(stream)).invitations]


async def test_invite_sends_a_private_link_and_says_so(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    await go_live(world)
    await watches(services, livekit, world, world.bob)

    result = await world.alice.slash(world.general, "stream invite", member=str(world.bob.id))

    assert result.ephemeral
    assert "Invited **bob** on stage" in result.response.content
    assert "2 minutes" in result.response.content and "DM" in result.response.content
    [dm] = world.bob.user.dm_channel.history()
    assert dm.embeds[0].title == "🎙️ Alice invites you on stage"
    [accept] = buttons(dm)
    assert accept["label"] == "Come on stage"
    token = accept["url"].rsplit("/login/", 1)[1]
    _session, next_path = await services.auth.redeem_login_link(token)
    assert next_path == "/live/alice?stage=invited"
    assert await invitations(services, world) == [world.bob.id]
    [action] = await services.moderation.audit_log(target_id=world.bob.id)
    assert (action.action, action.moderator_id) == ("stage:invite", world.alice.id)


async def test_closed_dms_still_invite_and_say_where_to_accept(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    await go_live(world)
    await watches(services, livekit, world, world.bob)
    world.env.inject_error("POST", "/users/@me/channels", status=403, code=50007)

    result = await world.alice.slash(world.general, "stream invite", member=str(world.bob.id))

    assert "DMs are closed" in result.response.content
    assert await invitations(services, world) == [world.bob.id]


async def test_raised_hands_come_first_in_the_suggestions(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    await go_live(world)
    stream = await services.streams.get_by_owner(world.alice.id)
    await services.stage.raise_hand(stream, Member(world.bob.id, "bob"))

    choices = await world.alice.autocomplete(world.general, "stream invite", "member", "")

    assert choices[0] == {"name": "✋ bob", "value": str(world.bob.id)}
    assert str(world.env.bot.user.id) not in [c["value"] for c in choices]


async def test_only_the_streamer_or_a_moderator_invites(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    await go_live(world)
    await watches(services, livekit, world, world.admin)

    result = await world.bob.slash(
        world.general, "stream invite", member=str(world.admin.id), streamer=world.alice.user
    )

    assert result.ephemeral and "Only the streamer and moderators" in result.response.content
    assert domain_errors(world) == [Forbidden]
    assert await invitations(services, world) == []
    # A moderator (Manage Server) may run someone else's stage.
    await watches(services, livekit, world, world.bob)
    done = await world.admin.slash(
        world.general, "stream invite", member=str(world.bob.id), streamer=world.alice.user
    )
    assert "Invited **bob**" in done.response.content


async def test_banned_members_and_guests_are_not_invited(
    world: World, services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    await go_live(world)
    await watches(services, livekit, world, world.bob)
    await services.moderation.ban(
        moderator_id=world.admin.id, user_id=world.bob.id, scope="chat", duration=timedelta(days=1)
    )
    livekit.add_participant(await room_of(services, world), "guest-0badc0ffee")

    banned = await world.alice.slash(world.general, "stream invite", member=str(world.bob.id))
    guest = await world.alice.slash(world.general, "stream invite", member=str(world.admin.id))

    assert "bob is banned for 1d" in banned.response.content
    assert "isn't watching this stream signed in" in guest.response.content
    assert "guests can't come on stage" in guest.response.content
    assert domain_errors(world) == [Forbidden, Conflict]
    assert await invitations(services, world) == []
    assert world.bob.user.dm_channel is None or world.bob.user.dm_channel.history() == []


async def test_inviting_while_offline_points_to_golive(world: World) -> None:
    result = await world.alice.slash(world.general, "stream invite", member=str(world.bob.id))
    assert result.ephemeral and "/stream golive" in result.response.content
    assert domain_errors(world) == [NotFound]


async def test_stage_lists_who_is_on_and_for_how_long(
    world: World, services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    await go_live(world)
    bob = await watches(services, livekit, world, world.bob)
    await world.alice.slash(world.general, "stream invite", member=str(world.bob.id))
    stream = await services.streams.get_by_owner(world.alice.id)
    await services.stage.accept(stream, Member(world.bob.id, "bob"), bob)
    clock.advance(600)

    result = await world.admin.slash(world.general, "stream stage", member=world.alice.user)

    embed = result.response.embeds[0]
    assert embed.title == "On stage with Alice"
    assert "**bob** · 10m" in embed.description
    assert {f.name: f.value for f in embed.fields}["Guests"] == "1 of 3"


async def test_time_on_stage_shows_in_the_summary_and_in_stats(
    world: World, services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    await world.admin.slash(world.general, "setup announce-channel", channel=world.announcements)
    await go_live(world)
    bob = await watches(services, livekit, world, world.bob)
    await world.alice.slash(world.general, "stream invite", member=str(world.bob.id))
    stream = await services.streams.get_by_owner(world.alice.id)
    await services.stage.accept(stream, Member(world.bob.id, "bob"), bob)
    clock.advance(25 * 60)

    await world.alice.slash(world.general, "stream end")
    await services.events.drain()
    await world.env.settle()

    [summary] = posts(world.announcements)
    fields = {f.name: f.value for f in summary.embeds[0].fields}
    assert fields["On stage"] == "bob (25m)"
    stats = await world.alice.slash(world.general, "stats member", member=world.bob.user)
    assert stats.response.content == (
        "bob has no stream page yet.\nOn stage as a guest: 25m in 1 stream."
    )
