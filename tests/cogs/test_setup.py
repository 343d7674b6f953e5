"""/setup: only for Manage Server, and never silently broken by missing permissions."""

from __future__ import annotations

import discord
import pytest
from simcord.backend.errors import SetupError

from core.services import Services
from tests.bot.helpers import create_page, on_air
from tests.conftest import World


async def test_admin_sets_the_announcement_channel(world: World, services: Services) -> None:
    result = await world.admin.slash(
        world.general, "setup announce-channel", channel=world.announcements
    )
    assert result.ephemeral and world.announcements.mention in result.response.content
    assert await services.guilds.announce_channel(world.guild.id) == world.announcements.id


async def test_members_without_manage_server_cannot_see_setup(
    world: World, services: Services
) -> None:
    with pytest.raises(SetupError, match="default-member-permissions"):
        await world.bob.slash(world.general, "setup announce-channel", channel=world.announcements)
    assert await services.guilds.announce_channel(world.guild.id) is None


async def test_a_channel_the_bot_cannot_post_in_is_refused_with_what_to_fix(
    world: World, services: Services
) -> None:
    locked = world.guild.create_text_channel(
        "locked", overwrites={world.guild.me: discord.PermissionOverwrite(send_messages=False)}
    )
    result = await world.admin.slash(world.general, "setup announce-channel", channel=locked)
    assert result.ephemeral
    assert "I need **Send Messages, Embed Links**" in result.response.content
    assert "Nothing was changed" in result.response.content
    assert await services.guilds.announce_channel(world.guild.id) is None


async def test_going_live_still_works_when_discord_refuses_the_announcement(
    world: World, services: Services
) -> None:
    await world.admin.slash(world.general, "setup announce-channel", channel=world.announcements)
    await create_page(world, world.alice)
    world.env.inject_error(
        "POST", "/channels/*/messages", status=403, code=50013, message="Missing Permissions"
    )
    result = await world.alice.slash(world.general, "stream golive")
    await on_air(world)
    # Going live still worked; the configured channel's failure is logged for operators.
    assert result.response.embeds[0].title.startswith("Your stream is starting")
    assert (await services.streams.get_by_owner(world.alice.id)).state == "live"
    assert world.announcements.history() == []


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


async def test_setup_mod_log_and_mod_role_are_for_manage_server_only(
    world: World, services: Services
) -> None:
    helpers = world.guild.create_role("Helpers")
    with pytest.raises(SetupError, match="default-member-permissions"):
        await world.bob.slash(world.general, "setup mod-log", channel=world.general)
    with pytest.raises(SetupError, match="default-member-permissions"):
        await world.bob.slash(world.general, "setup mod-role", role=helpers)
    assert await services.moderation.mod_log_channel(world.guild.id) is None
    assert await services.moderation.moderator_role(world.guild.id) is None


async def test_a_mod_log_channel_the_bot_cannot_post_in_is_refused(
    world: World, services: Services
) -> None:
    locked = world.guild.create_text_channel(
        "locked", overwrites={world.guild.me: discord.PermissionOverwrite(send_messages=False)}
    )
    result = await world.admin.slash(world.general, "setup mod-log", channel=locked)
    assert "I need **Send Messages, Embed Links**" in result.response.content
    assert "Nothing was changed" in result.response.content
    assert await services.moderation.mod_log_channel(world.guild.id) is None


async def test_setup_language_sets_what_the_server_reads_in(
    world: World, services: Services
) -> None:
    result = await world.admin.slash(world.general, "setup language", language="pt_BR")
    assert result.ephemeral
    assert await services.guilds.language(world.guild.id) == "pt_BR"
    with pytest.raises(SetupError, match="default-member-permissions"):
        await world.bob.slash(world.general, "setup language", language="de")
    assert await services.guilds.language(world.guild.id) == "pt_BR"
    assert await services.guilds.language(None) == "en"
