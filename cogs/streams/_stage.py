"""How the stage looks in Discord (/stream invite, /stream stage): the invitation DM, the list of
who is on, and the member suggestions of /stream invite."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.embeds import GOLIVE_PURPLE
from core.kernel import i18n
from core.kernel.errors import InvalidInput
from core.kernel.i18n import duration_in, t, tn
from core.stage import StageState
from core.streams import Stream

if TYPE_CHECKING:
    from bot.app import GoLiveBot

Interaction = discord.Interaction["GoLiveBot"]

_MEMBER_ID = re.compile(r"^(?:<@!?)?(\d{1,20})>?$")
SUGGESTIONS = 25


def member_id(text: str) -> int:
    """The id behind a suggestion (or a pasted mention); suggestions are only suggestions."""
    match = _MEMBER_ID.match(text.strip())
    if match is None:
        raise InvalidInput("Pick a member from the list (or paste a mention).")
    return int(match.group(1))


async def member_choices(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Raised hands first (✋), then members of this guild whose name starts with what was typed."""
    bot: GoLiveBot = interaction.client
    services = bot.services
    typed = current.strip().lower()
    choices: list[app_commands.Choice[str]] = []
    stream = await services.streams.find_by_owner(interaction.user.id)
    if stream is not None and stream.active:
        for hand in (await services.stage.state(stream)).hands:
            if hand.display_name.lower().startswith(typed):
                choices.append(
                    app_commands.Choice(name=f"✋ {hand.display_name}", value=str(hand.user_id))
                )
    seen = {choice.value for choice in choices}
    if interaction.guild is not None:
        for member in interaction.guild.members:
            if len(choices) >= SUGGESTIONS:
                break
            names = (member.display_name.lower(), member.name.lower())
            if member.bot or str(member.id) in seen or not any(n.startswith(typed) for n in names):
                continue
            choices.append(
                app_commands.Choice(name=member.display_name[:100], value=str(member.id))
            )
    return choices[:SUGGESTIONS]


def invitation_dm(
    stream: Stream, inviter: str, minutes: int, locale: str = i18n.DEFAULT
) -> discord.Embed:
    return discord.Embed(
        title=t(locale, "🎙️ %(inviter)s invites you on stage", inviter=inviter),
        description=tn(
            locale,
            "Join **%(title)s** as a guest, on camera and microphone beside %(name)s. The link "
            "signs you in, works once, and the invitation stands for %(n)s minute. You pick your "
            "camera and microphone (and see yourself) before going on.",
            "Join **%(title)s** as a guest, on camera and microphone beside %(name)s. The link "
            "signs you in, works once, and the invitation stands for %(n)s minutes. You pick your "
            "camera and microphone (and see yourself) before going on.",
            minutes,
            title=stream.title,
            name=stream.owner_name,
        ),
        colour=GOLIVE_PURPLE,
    )


def stage_embed(
    stream: Stream, state: StageState, now_seconds: dict[int, int], locale: str = i18n.DEFAULT
) -> discord.Embed:
    embed = discord.Embed(
        title=t(locale, "On stage with %(name)s", name=stream.owner_name), colour=GOLIVE_PURPLE
    )
    if not state.live:
        embed.description = t(
            locale, "%(name)s isn't live, so nobody is on stage.", name=stream.owner_name
        )
        return embed
    if state.guests:
        embed.description = "\n".join(
            f"🎙️ **{guest.display_name}** · "
            + duration_in(locale, now_seconds.get(guest.user_id, 0))
            for guest in state.guests
        )
    else:
        embed.description = t(locale, "Nobody is on stage yet: just the streamer.")
    embed.add_field(
        name=t(locale, "Guests"),
        value=t(
            locale, "%(guests)s of %(seats)s", guests=len(state.guests), seats=state.max_guests
        ),
    )
    if state.invitations:
        embed.add_field(
            name=t(locale, "Invited"), value=", ".join(i.display_name for i in state.invitations)
        )
    embed.add_field(name=t(locale, "Hands raised"), value=str(len(state.hands)))
    return embed
