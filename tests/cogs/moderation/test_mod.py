"""/mod as moderators and members use it, through SimCord."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from simcord import SetupError

from core.chat.service import ChatAuthor
from core.kernel.errors import Conflict, Forbidden
from core.services import Services
from tests.bot.helpers import (
    alice_live,
    domain_errors,
    grant_command,
    set_mod_log,
)
from tests.conftest import World
from tests.fakes.livekit import FakeLiveKit

REFUSED_COMMANDS: list[tuple[str, dict[str, Any]]] = [
    ("mod ban", {"scope": "chat"}),
    ("mod unban", {}),
    ("mod timeout", {"duration": 600}),
    ("mod end", {}),
    ("mod kick", {}),
]


async def test_members_without_moderate_members_dont_see_mod(world: World) -> None:
    assert not any(c.startswith("mod ") for c in world.bob.available_commands(world.general))
    assert "mod ban" in world.admin.available_commands(world.general)
    with pytest.raises(SetupError, match="default-member-permissions"):
        await world.bob.slash(world.general, "mod ban", member=world.alice.user)


@pytest.mark.parametrize(("command", "options"), REFUSED_COMMANDS)
async def test_members_granted_mod_but_not_moderating_are_refused(
    world: World, services: Services, command: str, options: dict[str, Any]
) -> None:
    stream = await alice_live(world, services)
    # An admin allowed /mod to bob under Integrations, but bob has no moderator role.
    grant_command(world, "mod", world.bob)
    result = await world.bob.slash(world.general, command, member=world.alice.user, **options)
    assert result.ephemeral and "Only moderators" in result.response.content
    assert domain_errors(world) == [Forbidden]
    assert await services.moderation.audit_log() == []
    assert await services.moderation.active_sanctions(world.alice.id) == []
    assert (await services.streams.get_by_owner(world.alice.id)).active == stream.active


async def test_slowmode_and_log_refuse_members_too(world: World, services: Services) -> None:
    await alice_live(world, services)
    grant_command(world, "mod", world.bob)
    slow = await world.bob.slash(world.general, "mod slowmode", seconds=30, member=world.alice.user)
    log = await world.bob.slash(world.general, "mod log")
    assert "Only moderators" in slow.response.content and "Only moderators" in log.response.content
    assert domain_errors(world) == [Forbidden, Forbidden]
    stream = await services.streams.get_by_owner(world.alice.id)
    assert await services.chat.slowmode(stream.id) == 0


async def test_a_ban_blocks_chat_hides_messages_and_is_logged(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    stream = await alice_live(world, services)
    mod_log = await set_mod_log(world)
    await services.chat.post(stream, ChatAuthor(world.bob.id, "bob"), "spam spam")
    result = await world.admin.slash(
        world.general,
        "mod ban",
        member=world.bob.user,
        scope="chat",
        duration=86400,
        reason="spamming links",
    )
    assert result.ephemeral and "banned from the chat for 1 day" in result.response.content
    assert await services.chat.history(stream) == []
    with pytest.raises(Forbidden):
        await services.chat.post(stream, ChatAuthor(world.bob.id, "bob"), "let me back")
    assert "banned from the chat" in mod_log.last_message.content
    [action] = await services.moderation.audit_log(target_id=world.bob.id)
    assert action.action == "ban:chat" and "spamming links" in action.details

    unbanned = await world.admin.slash(world.general, "mod unban", member=world.bob.user)
    assert "may chat and stream again" in unbanned.response.content
    await services.chat.post(stream, ChatAuthor(world.bob.id, "bob"), "sorry")


async def test_a_streaming_ban_ends_the_stream_and_refuses_the_next_golive(
    world: World, services: Services
) -> None:
    await alice_live(world, services)
    await world.admin.slash(world.general, "mod ban", member=world.alice.user, scope="streaming")
    assert not (await services.streams.get_by_owner(world.alice.id)).active
    again = await world.alice.slash(world.general, "stream golive")
    assert "banned you from streaming" in again.response.content
    assert domain_errors(world) == [Forbidden]


async def test_moderators_cannot_be_banned_by_moderators(world: World, services: Services) -> None:
    mods = world.guild.create_role("Mods", permissions=discord.Permissions(moderate_members=True))
    other_admin = world.guild.add_member(world.env.create_user("othermod"), roles=[mods])
    result = await world.admin.slash(world.general, "mod ban", member=other_admin.user)
    assert "another moderator" in result.response.content
    assert domain_errors(world) == [Forbidden]
    assert await services.moderation.active_sanctions(other_admin.id) == []


async def test_timeout_keeps_a_member_out_of_the_chat_for_a_while(
    world: World, services: Services, clock: Any
) -> None:
    stream = await alice_live(world, services)
    result = await world.admin.slash(
        world.general, "mod timeout", member=world.bob.user, duration=300
    )
    assert "can't chat for 5 minutes" in result.response.content
    with pytest.raises(Forbidden, match="timed you out"):
        await services.chat.post(stream, ChatAuthor(world.bob.id, "bob"), "hi")
    clock.advance(301)
    await services.chat.post(stream, ChatAuthor(world.bob.id, "bob"), "hi again")


async def test_slowmode_inside_the_chat_thread_needs_no_streamer(
    world: World, services: Services
) -> None:
    await world.admin.slash(world.general, "setup announce-channel", channel=world.announcements)
    stream = await alice_live(world, services)
    [thread] = world.announcements.threads
    result = await world.admin.slash(thread, "mod slowmode", seconds=30)
    assert "one message every 30s" in result.response.content
    assert await services.chat.slowmode(stream.id) == 30
    thread_edits = [
        r.json for r in world.env.http_requests if r.method == "PATCH" and str(thread.id) in r.path
    ]
    assert thread_edits[-1]["rate_limit_per_user"] == 30  # Discord's own slow mode, mirrored
    off = await world.admin.slash(world.general, "mod slowmode", seconds=0)
    assert "Name the streamer" in off.response.content
    assert domain_errors(world)[-1].__name__ == "InvalidInput"
    assert await services.chat.slowmode(stream.id) == 30


async def test_end_force_ends_a_live_stream(world: World, services: Services) -> None:
    await alice_live(world, services)
    result = await world.admin.slash(world.general, "mod end", member=world.alice.user)
    assert "stream was ended" in result.response.content
    stream = await services.streams.get_by_owner(world.alice.id)
    assert not stream.active
    [session] = await services.streams.recent_sessions(stream.id)
    assert session.end_reason == "moderator"
    again = await world.admin.slash(world.general, "mod end", member=world.alice.user)
    assert "not live" in again.response.content
    assert domain_errors(world) == [Conflict]


async def test_kick_removes_the_viewers_connections(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    stream = await alice_live(world, services)
    assert stream.room_name is not None
    livekit.add_participant(stream.room_name, f"viewer-{world.bob.id}-a1b2c3")
    result = await world.admin.slash(world.general, "mod kick", member=world.bob.user)
    assert "removed from 1 viewer connection and" in result.response.content
    assert "can't watch for 10m" in result.response.content
    # The viewer is gone; the streamer's studio stays.
    assert list(livekit.participants[stream.room_name]) == [f"host-{world.alice.id}"]
    with pytest.raises(Forbidden):
        await services.moderation.check_may_watch(world.bob.id)


async def test_the_log_lists_actions_newest_first(world: World, services: Services) -> None:
    await alice_live(world, services)
    await world.admin.slash(world.general, "mod timeout", member=world.bob.user, duration=60)
    await world.admin.slash(world.general, "mod end", member=world.alice.user)
    everything = await world.admin.slash(world.general, "mod log")
    lines = everything.response.embeds[0].description.splitlines()
    assert "**end_stream**" in lines[0] and "**timeout**" in lines[1]
    about_bob = await world.admin.slash(world.general, "mod log", member=world.bob.user)
    assert len(about_bob.response.embeds[0].description.splitlines()) == 1


async def test_a_configured_role_makes_moderators_and_the_web_knows(
    world: World, services: Services
) -> None:
    helpers = world.guild.create_role("Helpers")
    await world.admin.slash(world.general, "setup mod-role", role=helpers)
    helper = world.guild.add_member(world.env.create_user("helper"), roles=[helpers])
    # The README's step for admins: allow /mod to the role under Integrations.
    grant_command(world, "mod", helpers)
    assert "mod ban" in helper.available_commands(world.general)
    assert not await services.moderation.is_moderator(helper.id)
    result = await helper.slash(world.general, "mod log")
    assert result.response.embeds[0].title == "Moderation log"
    assert await services.moderation.is_moderator(helper.id)
