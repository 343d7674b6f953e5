"""How the stage looks in Discord (/stream invite, /stream stage): the invitation DM, the list of
who is on, and the member suggestions of /stream invite."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.embeds import GOLIVE_PURPLE
from core.kernel.errors import InvalidInput
from core.kernel.timefmt import human_duration
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


def invitation_dm(stream: Stream, inviter: str, minutes: int) -> discord.Embed:
    return discord.Embed(
        title=f"🎙️ {inviter} invites you on stage",
        description=(
            f"Join **{stream.title}** as a guest, on camera and microphone beside {stream.owner_name}. "
            f"The link signs you in, works once, and the invitation stands for {minutes} minutes. "
            "You pick your camera and microphone (and see yourself) before going on."
        ),
        colour=GOLIVE_PURPLE,
    )


def stage_embed(stream: Stream, state: StageState, now_seconds: dict[int, int]) -> discord.Embed:
    embed = discord.Embed(title=f"On stage with {stream.owner_name}", colour=GOLIVE_PURPLE)
    if not state.live:
        embed.description = f"{stream.owner_name} isn't live, so nobody is on stage."
        return embed
    if state.guests:
        embed.description = "\n".join(
            f"🎙️ **{guest.display_name}** · {human_duration(now_seconds.get(guest.user_id, 0))}"
            for guest in state.guests
        )
    else:
        embed.description = "Nobody is on stage yet: just the streamer."
    embed.add_field(name="Guests", value=f"{len(state.guests)} of {state.max_guests}")
    if state.invitations:
        embed.add_field(name="Invited", value=", ".join(i.display_name for i in state.invitations))
    embed.add_field(name="Hands raised", value=str(len(state.hands)))
    return embed
