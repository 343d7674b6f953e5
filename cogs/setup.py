"""/setup: per-guild settings, for members with Manage Server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.i18n import locale_of, permissions_text, tr
from core.kernel import i18n
from core.kernel.i18n import t
from core.services import Services

if TYPE_CHECKING:
    from bot.app import GoLiveBot

Interaction = discord.Interaction["GoLiveBot"]

POST_NEEDS = ("view_channel", "send_messages", "embed_links")


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Setup(commands.GroupCog, group_name="setup"):
    """Server settings for golive."""

    def __init__(self, services: Services) -> None:
        self.services = services
        super().__init__()

    @app_commands.command(name="announce-channel")
    @app_commands.describe(channel="Where go-live announcements are posted")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def announce_channel(
        self, interaction: Interaction, channel: discord.TextChannel
    ) -> None:
        """Choose the channel where golive announces streams that go live."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        problem = _cannot_post_in(channel, locale_of(interaction))
        if problem:
            await interaction.followup.send(problem, ephemeral=True)
            return
        assert interaction.guild_id is not None  # noqa: S101 - guild_only
        await self.services.guilds.set_announce_channel(interaction.guild_id, channel.id)
        await self.services.community.note_configured_by(interaction.guild_id, interaction.user.id)
        await self.services.community.clear_problem(interaction.guild_id, "announce")
        await interaction.followup.send(
            tr(
                interaction,
                "Go-live announcements will be posted in %(channel)s.",
                channel=channel.mention,
            ),
            ephemeral=True,
        )

    @app_commands.command(name="ping-role")
    @app_commands.describe(role="Mentioned once in each go-live announcement")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def ping_role(self, interaction: Interaction, role: discord.Role) -> None:
        """Choose a role that is pinged (once per stream) when someone goes live."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild, locale = role.guild, locale_of(interaction)
        problem = _unusable_role(role, locale) or await self._cannot_ping(guild, role, locale)
        if problem:
            await interaction.followup.send(
                f"{problem} {t(locale, 'Nothing was changed.')}", ephemeral=True
            )
            return
        community = self.services.community
        await community.set_ping_role(guild.id, role.id, by=interaction.user.id)
        await community.clear_problem(guild.id, "ping_role")
        await interaction.followup.send(
            t(
                locale,
                "%(role)s will be pinged once when a stream goes live; no other mention in an "
                "announcement can ping anyone.",
                role=role.mention,
            ),
            ephemeral=True,
        )

    @app_commands.command(name="live-role")
    @app_commands.describe(role="Given to members while they are live, taken back when they end")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def live_role(self, interaction: Interaction, role: discord.Role) -> None:
        """Choose a role that streamers wear while they are live."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild, locale = role.guild, locale_of(interaction)
        problem = _unusable_role(role, locale) or _cannot_assign(guild, role, locale)
        if problem:
            await interaction.followup.send(
                f"{problem} {t(locale, 'Nothing was changed.')}", ephemeral=True
            )
            return
        community = self.services.community
        await community.set_live_role(guild.id, role.id, by=interaction.user.id)
        await community.clear_problem(guild.id, "live_role")
        await interaction.followup.send(
            t(locale, "Members get %(role)s while they are live.", role=role.mention),
            ephemeral=True,
        )

    @app_commands.command(name="mod-log")
    @app_commands.describe(channel="Where reports and moderator actions are posted")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def mod_log(self, interaction: Interaction, channel: discord.TextChannel) -> None:
        """Choose the private channel where /report lands and moderator actions are logged."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        problem = _cannot_post_in(channel, locale_of(interaction))
        if problem:
            await interaction.followup.send(problem, ephemeral=True)
            return
        assert interaction.guild_id is not None  # noqa: S101 - guild_only
        await self.services.moderation.set_mod_log_channel(interaction.guild_id, channel.id)
        await interaction.followup.send(
            tr(
                interaction,
                "Reports and moderator actions will be posted in %(channel)s. Keep it visible "
                "to moderators only.",
                channel=channel.mention,
            ),
            ephemeral=True,
        )

    @app_commands.command(name="mod-role")
    @app_commands.describe(role="Members with this role may use /mod and hide chat messages")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def mod_role(self, interaction: Interaction, role: discord.Role) -> None:
        """Let a role moderate golive (besides Manage Server and Moderate Members)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        assert interaction.guild_id is not None  # noqa: S101 - guild_only
        await self.services.moderation.set_moderator_role(interaction.guild_id, role.id)
        await interaction.followup.send(
            tr(
                interaction,
                "Members with %(role)s can now moderate streams and chat. Discord shows them "
                "`/mod` once you allow the role under Server Settings → Integrations → golive → "
                "`/mod`.",
                role=role.mention,
            ),
            ephemeral=True,
        )

    @app_commands.command(name="language")
    @app_commands.describe(language="The language of announcements and end-of-stream summaries")
    @app_commands.choices(
        language=[app_commands.Choice(name=i18n.NAMES[code], value=code) for code in i18n.SUPPORTED]
    )
    @app_commands.checks.has_permissions(manage_guild=True)
    async def language(self, interaction: Interaction, language: app_commands.Choice[str]) -> None:
        """Choose the language of what golive posts for everyone in this server."""
        assert interaction.guild_id is not None  # noqa: S101 - guild_only
        await self.services.guilds.set_language(interaction.guild_id, language.value)
        # Confirmed in the chosen language: what the admin reads is what the server will read.
        await interaction.response.send_message(
            t(
                language.value,
                "Announcements and end-of-stream summaries are now in %(language)s. Everyone "
                "still gets their own replies in the language of their Discord app.",
                language=language.name,
            ),
            ephemeral=True,
        )

    async def _cannot_ping(
        self, guild: discord.Guild, role: discord.Role, locale: str
    ) -> str | None:
        if role.mentionable:
            return None
        channel_id = await self.services.guilds.announce_channel(guild.id)
        channel = guild.get_channel(channel_id) if channel_id else None
        perms = channel.permissions_for(guild.me) if channel else guild.me.guild_permissions
        if perms.mention_everyone:
            return None
        return t(
            locale,
            "I can't ping %(role)s: make it mentionable (Server Settings → Roles → Allow anyone "
            "to @mention this role), or give me **Mention @everyone, @here and All Roles**.",
            role=role.mention,
        )


def _cannot_post_in(channel: discord.TextChannel, locale: str) -> str | None:
    """Why the bot can't post embeds in `channel`, in words an admin can act on; None if it can."""
    mine = channel.permissions_for(channel.guild.me)
    missing = [name for name in POST_NEEDS if not getattr(mine, name)]
    if not missing:
        return None
    return t(
        locale,
        "I can't post in %(channel)s yet: I need **%(needed)s** there. Give me those "
        "permissions and run this again. Nothing was changed.",
        channel=channel.mention,
        needed=permissions_text(locale, missing),
    )


def _unusable_role(role: discord.Role, locale: str) -> str | None:
    if role.is_default():
        return t(locale, "@everyone can't be used here: pick or create a role for it.")
    if role.managed:
        return t(
            locale,
            "%(role)s belongs to an integration; pick a role of your own.",
            role=role.mention,
        )
    return None


def _cannot_assign(guild: discord.Guild, role: discord.Role, locale: str) -> str | None:
    me = guild.me
    if not me.guild_permissions.manage_roles:
        return t(locale, "I need the **Manage Roles** permission to hand out a live role.")
    if role >= me.top_role:
        return t(
            locale,
            "I can't give %(role)s: it is above my own role. Drag my role above it in Server "
            "Settings → Roles.",
            role=role.mention,
        )
    return None


async def setup(bot: GoLiveBot) -> None:
    await bot.add_cog(Setup(bot.services))
