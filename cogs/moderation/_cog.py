"""/mod: bans, timeouts, slow mode, ending streams, kicks and the audit log.

Discord shows /mod only to members with Moderate Members (its default member permissions), so
the picker of an ordinary member stays free of moderator tools. A role-based moderator (the role
from `/setup mod-role`) has no such permission: server admins grant that role /mod under Server
Settings → Integrations → golive. Every command still checks at run time who moderates, since the
Integrations page can grant /mod to anyone.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.embeds import GOLIVE_PURPLE
from bot.i18n import locale_of, tr
from bot.moderators import ModeratorRegistry
from cogs.moderation._mod_log import post_to_mod_log
from core.kernel.errors import Forbidden, InvalidInput
from core.kernel.i18n import N_, Duration, Phrase, tn
from core.moderation import REASON_MAX
from core.services import Services
from core.streams import Stream

if TYPE_CHECKING:
    from bot.app import GoLiveBot

Interaction = discord.Interaction["GoLiveBot"]

BAN_DURATIONS = [
    app_commands.Choice(name="1 hour", value=3600),
    app_commands.Choice(name="1 day", value=86400),
    app_commands.Choice(name="1 week", value=7 * 86400),
    app_commands.Choice(name="30 days", value=30 * 86400),
]
TIMEOUT_DURATIONS = [
    app_commands.Choice(name="1 minute", value=60),
    app_commands.Choice(name="5 minutes", value=300),
    app_commands.Choice(name="10 minutes", value=600),
    app_commands.Choice(name="1 hour", value=3600),
    app_commands.Choice(name="1 day", value=86400),
]
BANNED = {
    "chat": N_("%(member)s is banned from the chat %(how_long)s."),
    "streaming": N_("%(member)s is banned from streaming %(how_long)s."),
    "both": N_("%(member)s is banned from the chat and streaming %(how_long)s."),
}


@app_commands.guild_only()
@app_commands.default_permissions(moderate_members=True)
class Moderation(commands.GroupCog, group_name="mod"):
    """Moderator tools for golive's chat and streams."""

    def __init__(self, bot: GoLiveBot, services: Services, moderators: ModeratorRegistry) -> None:
        self.bot = bot
        self.services = services
        self.moderators = moderators
        super().__init__()

    @commands.Cog.listener()
    async def on_interaction(self, interaction: Interaction) -> None:
        # Keep the web's view of who moderates fresh: any command or button a member uses.
        if isinstance(interaction.user, discord.Member):
            await self.moderators.is_moderator(interaction.user)

    @app_commands.command(name="ban")
    @app_commands.describe(
        member="Who to ban",
        scope="From the chat, from streaming, or both (default: both)",
        duration="How long (default: until unbanned)",
        reason="Why (kept in the audit log)",
    )
    @app_commands.choices(duration=BAN_DURATIONS)
    async def ban(
        self,
        interaction: Interaction,
        member: discord.User,
        scope: Literal["chat", "streaming", "both"] = "both",
        duration: app_commands.Choice[int] | None = None,
        reason: app_commands.Range[str, 0, REASON_MAX] = "",
    ) -> None:
        """Ban a member from the chat, from streaming, or both. Hides their chat messages."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        moderator = await self._moderator_acting_on(interaction, member)
        sanction = await self.services.moderation.ban(
            moderator_id=moderator.id,
            user_id=member.id,
            scope=scope,
            duration=None if duration is None else timedelta(seconds=duration.value),
            reason=reason,
        )
        # The duration as its choice reads in each language ("1 Tag"), not as a number.
        how_long = (
            Phrase(N_("until unbanned"))
            if duration is None
            else Phrase(N_("for %(duration)s"), {"duration": Phrase(duration.name)})
        )
        said = Phrase(BANNED[scope], {"member": member.mention, "how_long": how_long})
        await self._done(interaction, moderator, said, sanction.reason)

    @app_commands.command(name="unban")
    @app_commands.describe(
        member="Whose ban to lift", scope="Which ban to lift (default: every ban and timeout)"
    )
    async def unban(
        self,
        interaction: Interaction,
        member: discord.User,
        scope: Literal["chat", "streaming", "both"] | None = None,
    ) -> None:
        """Lift a member's ban (and chat timeout)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        moderator = await self.moderators.require(interaction)
        await self.services.moderation.unban(
            moderator_id=moderator.id, user_id=member.id, scope=scope
        )
        said = Phrase(N_("%(member)s may chat and stream again."), {"member": member.mention})
        await self._done(interaction, moderator, said)

    @app_commands.command(name="timeout")
    @app_commands.describe(member="Who to silence", duration="For how long")
    @app_commands.choices(duration=TIMEOUT_DURATIONS)
    async def timeout(
        self, interaction: Interaction, member: discord.User, duration: app_commands.Choice[int]
    ) -> None:
        """Keep a member out of the chat for a while."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        moderator = await self._moderator_acting_on(interaction, member)
        await self.services.moderation.timeout(
            moderator_id=moderator.id,
            user_id=member.id,
            duration=timedelta(seconds=duration.value),
        )
        said = Phrase(
            N_("%(member)s can't chat for %(duration)s."),
            {"member": member.mention, "duration": Phrase(duration.name)},
        )
        await self._done(interaction, moderator, said)

    @app_commands.command(name="slowmode")
    @app_commands.describe(
        seconds="Seconds between two messages of a viewer (0 turns slow mode off)",
        member="Whose stream (not needed inside a stream's chat thread)",
    )
    async def slowmode(
        self,
        interaction: Interaction,
        seconds: app_commands.Range[int, 0, 21600],
        member: discord.User | None = None,
    ) -> None:
        """Set slow mode on a live stream's chat."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        moderator = await self.moderators.require(interaction)
        stream = await self._stream_in_question(interaction, member)
        await self.services.chat.set_slowmode(
            moderator_id=moderator.id, stream=stream, seconds=seconds
        )
        await self._slow_down_threads(stream, seconds)
        said = (
            Phrase(
                N_("Slow mode on %(name)s's chat: one message every %(every)s."),
                {"name": stream.owner_name, "every": Duration(seconds)},
            )
            if seconds
            else Phrase(N_("Slow mode is off on %(name)s's chat."), {"name": stream.owner_name})
        )
        await self._done(interaction, moderator, said)

    @app_commands.command(name="end")
    @app_commands.describe(member="The streamer whose live stream to end", reason="Why")
    async def end(
        self,
        interaction: Interaction,
        member: discord.User,
        reason: app_commands.Range[str, 0, REASON_MAX] = "",
    ) -> None:
        """Force-end a member's live stream."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        moderator = await self._moderator_acting_on(interaction, member)
        await self.services.moderation.end_stream(
            moderator_id=moderator.id, owner_id=member.id, reason=reason
        )
        said = Phrase(N_("%(member)s's stream was ended."), {"member": member.mention})
        await self._done(interaction, moderator, said, reason)

    @app_commands.command(name="kick")
    @app_commands.describe(member="The viewer to remove from live streams", reason="Why")
    async def kick(
        self,
        interaction: Interaction,
        member: discord.User,
        reason: app_commands.Range[str, 0, REASON_MAX] = "",
    ) -> None:
        """Remove a viewer from every live stream and keep them out for a while."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        moderator = await self._moderator_acting_on(interaction, member)
        removed = await self.services.moderation.kick(
            moderator_id=moderator.id, user_id=member.id, reason=reason
        )
        block = Duration(self.services.moderation.kick_block.total_seconds())
        said = Kicked(member.mention, removed, block)
        await self._done(interaction, moderator, said, reason)

    @app_commands.command(name="log")
    @app_commands.describe(member="Only actions about this member (default: all)")
    async def log(self, interaction: Interaction, member: discord.User | None = None) -> None:
        """Show the latest moderator actions."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.moderators.require(interaction)
        actions = await self.services.moderation.audit_log(
            target_id=None if member is None else member.id
        )
        embed = discord.Embed(
            title=tr(interaction, "Moderation log")
            + (f" — {member.display_name}" if member else ""),
            colour=GOLIVE_PURPLE,
        )
        lines = [
            f"{discord.utils.format_dt(action.created_at, 'R')} <@{action.moderator_id}> "
            f"**{action.action}**"
            + (f" <@{action.target_id}>" if action.target_id else "")
            + (f" — {discord.utils.escape_markdown(action.details[:80])}" if action.details else "")
            for action in actions
        ]
        embed.description = "\n".join(lines) or tr(interaction, "No moderator actions yet.")
        await interaction.followup.send(embed=embed, ephemeral=True)

    # -- helpers -------------------------------------------------------------------------------

    async def _moderator_acting_on(
        self, interaction: Interaction, target: discord.User | discord.Member
    ) -> discord.Member:
        moderator = await self.moderators.require(interaction)
        if target.bot:
            raise InvalidInput("Bots aren't moderated with /mod.")
        if target.id != moderator.id and await self._is_moderator(moderator.guild, target):
            raise Forbidden("You can't use this on another moderator.")
        return moderator

    async def _is_moderator(
        self, guild: discord.Guild, target: discord.User | discord.Member
    ) -> bool:
        """Judged from the member's permissions now; from the last record if they left."""
        member = target if isinstance(target, discord.Member) else guild.get_member(target.id)
        if member is None:
            try:
                member = await guild.fetch_member(target.id)
            except discord.HTTPException:
                return await self.services.moderation.is_moderator(target.id)
        return await self.moderators.is_moderator(member)

    async def _stream_in_question(
        self, interaction: Interaction, streamer: discord.User | None
    ) -> Stream:
        if streamer is not None:
            return await self.services.streams.get_by_owner(streamer.id)
        channel = interaction.channel
        if isinstance(channel, discord.Thread):
            record = await self.services.chat.thread(channel.id)
            if record is not None:
                return await self.services.streams.get_by_id(record.stream_id)
        raise InvalidInput("Name the streamer, or use this inside their stream's chat thread.")

    async def _slow_down_threads(self, stream: Stream, seconds: int) -> None:
        """Mirror slow mode on the stream's Discord threads, so members there see it too."""
        session = await self.services.streams.current_session(stream.id)
        if session is None:
            return
        for record in await self.services.chat.threads_for_session(session.id):
            thread = self.bot.get_channel(record.thread_id)
            if isinstance(thread, discord.Thread):
                with contextlib.suppress(discord.HTTPException):
                    await thread.edit(slowmode_delay=seconds)

    async def _done(
        self,
        interaction: Interaction,
        moderator: discord.Member,
        said: Phrase | Kicked,
        reason: str = "",
    ) -> None:
        """The moderator reads it in their language; the mod-log channel in the server's."""
        await interaction.followup.send(said.said_in(locale_of(interaction)), ephemeral=True)
        logged = said.said_in(await self.services.guilds.language(interaction.guild_id))
        line = f"{moderator.mention}: {logged}" + (f" {reason}" if reason else "")
        await post_to_mod_log(self.services.moderation, interaction.guild, line)


@dataclass(frozen=True)
class Kicked:
    """What /mod kick says, with the plural of the connections it closed."""

    member: str
    connections: int
    block: Duration

    def said_in(self, locale: str) -> str:
        return tn(
            locale,
            "%(member)s was removed from %(n)s viewer connection and can't watch for %(block)s.",
            "%(member)s was removed from %(n)s viewer connections and can't watch for %(block)s.",
            self.connections,
            member=self.member,
            block=self.block,
        )
