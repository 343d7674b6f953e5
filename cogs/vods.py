"""/vods: a streamer's recorded past streams (each opens its page on golive, the video with its
chat replayed beside it), and deleting one.

`/vods delete` suggests the member's recordings (a moderator may pick another member's) and asks
once, privately, with two buttons. The buttons keep working after a restart (the recording's id
is in their custom_id) and check again, when pressed, that the presser may delete it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.embeds import GOLIVE_PURPLE, OFFLINE_GREY
from bot.i18n import locale_of, tr
from bot.ui import GoLiveDynamicItem, GoLiveView
from core.kernel import i18n
from core.live import Recording
from core.services import Services
from core.streams import Stream

if TYPE_CHECKING:
    from bot.app import GoLiveBot

Interaction = discord.Interaction["GoLiveBot"]

CHOICES_SHOWN = 25  # Discord shows at most 25 suggestions


def vod_url(bot: GoLiveBot, stream: Stream, vod: Recording) -> str:
    return f"{bot.watch_url(stream.slug)}/vods/{vod.id}"


def vod_words(locale: str, vod: Recording) -> str:
    """A recording as a member picks it: when its stream was, and how long it is."""
    return i18n.t(
        locale,
        "%(when)s · %(length)s",
        when=i18n.datetime_in(locale, vod.started_at),
        length=i18n.duration_in(locale, vod.duration_seconds or 0),
    )


async def may_delete(interaction: Interaction, vod: Recording) -> bool:
    """The recording's streamer, or a moderator of this guild (as bot/moderators.py judges)."""
    if interaction.user.id == vod.owner_id:
        return True
    member = interaction.user
    return isinstance(member, discord.Member) and await interaction.client.moderators.is_moderator(
        member
    )


async def recording_choices(
    interaction: Interaction, current: str
) -> list[app_commands.Choice[int]]:
    """The recordings of the member named in `member:` (moderators), else the member's own."""
    services = interaction.client.services
    # Discord sends no user objects with an autocomplete: the chosen member is a bare id.
    chosen = getattr(interaction.namespace, "member", None)
    owner_id = chosen.id if isinstance(chosen, discord.abc.Snowflake) else None
    stream = await services.streams.find_by_owner(owner_id or interaction.user.id)
    if stream is None:
        return []
    locale = locale_of(interaction)
    typed = current.strip().casefold()
    choices = []
    for vod in await services.recording.list_vods(stream.id, limit=100):
        name = vod_words(locale, vod)
        if not typed or typed in name.casefold() or str(vod.id).startswith(typed):
            choices.append(app_commands.Choice(name=name[:100], value=vod.id))
    return choices[:CHOICES_SHOWN]


class Vods(commands.GroupCog, group_name="vods"):
    """Past streams that were recorded: watch them with their chat, or delete one."""

    def __init__(self, bot: GoLiveBot, services: Services) -> None:
        self.bot = bot
        self.services = services
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(DeleteVodButton, KeepVodButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(DeleteVodButton, KeepVodButton)

    @app_commands.command(name="list")
    @app_commands.describe(member="Whose past streams to list (yours if left empty)")
    async def list_vods(self, interaction: Interaction, member: discord.User | None = None) -> None:
        """Watch past streams: the recorded streams of a member, with their chat."""
        who = member or interaction.user
        mine = who.id == interaction.user.id
        # Your own list may show why a stream wasn't recorded: only you see it then.
        await interaction.response.defer(ephemeral=mine, thinking=True)
        stream = await self.services.streams.find_by_owner(who.id)
        if stream is None:
            await interaction.followup.send(
                tr(interaction, "You have no stream page yet. Create one with `/stream create`.")
                if mine
                else tr(interaction, "%(name)s has no stream page yet.", name=who.display_name),
                ephemeral=mine,
            )
            return
        recording = self.services.recording
        vods = await recording.list_vods(stream.id)
        failures = await recording.failures(stream.id) if mine else []
        embed = vods_embed(self.bot, locale_of(interaction), stream, vods, failures)
        await interaction.followup.send(embed=embed, ephemeral=mine)

    @app_commands.command(name="delete")
    @app_commands.describe(
        recording="Which recording to delete (start typing its date)",
        member="Whose recordings to pick from (moderators; yours if left empty)",
    )
    @app_commands.autocomplete(recording=recording_choices)
    async def delete(
        self,
        interaction: Interaction,
        recording: app_commands.Range[int, 1],
        member: discord.User | None = None,
    ) -> None:
        """Delete one of your recorded streams (moderators: anyone's)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        # Suggestions are only suggestions: the id is checked like any other.
        vod = await self.services.recording.get_vod(recording)
        if not await may_delete(interaction, vod):
            await interaction.followup.send(
                tr(interaction, "Only the streamer and moderators can delete a recording."),
                ephemeral=True,
            )
            return
        stream = await self.services.streams.get_by_id(vod.stream_id)
        locale = locale_of(interaction)
        await interaction.followup.send(
            tr(
                interaction,
                "Delete the recording of **%(name)s**'s stream of %(when)s? Nobody can watch it"
                " again, on golive or from here.",
                name=discord.utils.escape_markdown(stream.owner_name),
                when=vod_words(locale, vod),
            ),
            view=confirm_view(locale, vod.id),
            ephemeral=True,
        )


def confirm_view(locale: str, vod_id: int) -> discord.ui.View:
    view = GoLiveView(timeout=None)
    view.add_item(DeleteVodButton(vod_id, i18n.t(locale, "Delete")))
    view.add_item(KeepVodButton(vod_id, i18n.t(locale, "Keep it")))
    return view


class DeleteVodButton(
    GoLiveDynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"golive:vod-delete:(?P<vod_id>\d+)",
):
    def __init__(self, vod_id: int, label: str = "Delete") -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.danger,
                custom_id=f"golive:vod-delete:{vod_id}",
            )
        )
        self.vod_id = vod_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> DeleteVodButton:
        return cls(int(match["vod_id"]))

    async def clicked(self, interaction: Interaction) -> None:
        services = interaction.client.services
        vod = await services.recording.get_vod(self.vod_id)
        if not await may_delete(interaction, vod):
            await interaction.response.send_message(
                tr(interaction, "Only the streamer and moderators can delete a recording."),
                ephemeral=True,
            )
            return
        done = await services.recording.delete_vod(
            vod.id,
            by_user_id=interaction.user.id,
            as_moderator=interaction.user.id != vod.owner_id,
        )
        locale = locale_of(interaction)
        text = tr(interaction, "Deleted the recording of %(when)s.", when=vod_words(locale, vod))
        if not done.file_removed:
            text += " " + tr(
                interaction,
                "It is gone from golive; its file stays where recordings are stored until an"
                " admin clears it.",
            )
        await interaction.response.edit_message(content=text, view=None)


class KeepVodButton(
    GoLiveDynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"golive:vod-keep:(?P<vod_id>\d+)",
):
    def __init__(self, vod_id: int, label: str = "Keep it") -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=f"golive:vod-keep:{vod_id}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> KeepVodButton:
        return cls(int(match["vod_id"]))

    async def clicked(self, interaction: Interaction) -> None:
        await interaction.response.edit_message(
            content=tr(interaction, "Kept: nothing was deleted."), view=None
        )


def vods_embed(
    bot: GoLiveBot,
    locale: str,
    stream: Stream,
    vods: list[Recording],
    failures: list[Recording],
) -> discord.Embed:
    """Past streams with a recording; failures only when the owner asks (they pass them)."""
    embed = discord.Embed(
        title=i18n.t(locale, "Past streams of %(name)s", name=stream.owner_name),
        url=bot.watch_url(stream.slug),
        colour=GOLIVE_PURPLE if vods else OFFLINE_GREY,
    )
    lines = [
        i18n.t(
            locale,
            "%(when)s · **%(length)s** · [Watch with chat](%(url)s)",
            when=discord.utils.format_dt(vod.started_at, "f"),
            length=i18n.duration_in(locale, vod.duration_seconds or 0),
            url=vod_url(bot, stream, vod),
        )
        for vod in vods
    ]
    embed.description = "\n".join(lines) or i18n.t(locale, "No recorded streams yet.")
    for failure in failures:
        embed.add_field(
            name=i18n.t(
                locale,
                "⚠️ Not recorded: %(when)s",
                when=i18n.datetime_in(locale, failure.started_at),
            ),
            value=(failure.error or i18n.t(locale, "The recording failed."))[:1024],
            inline=False,
        )
    embed.set_footer(text=f"golive · {stream.slug}")
    return embed


async def setup(bot: GoLiveBot) -> None:
    await bot.add_cog(Vods(bot, bot.services))
