"""How OBS settings, recording switches and past streams (VODs) look in Discord."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.embeds import GOLIVE_PURPLE, LIVE_RED, OFFLINE_GREY
from core.kernel.timefmt import human_duration
from core.live import ObsProblem, ObsSetup, RecordChange, Recording, StreamHealth, describe
from core.streams import Stream

if TYPE_CHECKING:
    from bot.app import GoLiveBot

log = logging.getLogger(__name__)

_HOW_TO = {
    "rtmp": (
        "1. OBS → **Settings → Stream**, Service **Custom…**\n"
        "2. Paste the **Server** and the **Stream Key** below, then **OK**.\n"
        "3. **Start Streaming**: you go live by yourself, no studio needed."
    ),
    "whip": (
        "1. OBS 30 or newer → **Settings → Stream**, Service **WHIP**\n"
        "2. Paste the **Server** and the **Bearer Token** below, then **OK**.\n"
        "3. **Start Streaming**: you go live by yourself, no studio needed."
    ),
}


def _code(text: str) -> str:
    # A code block is what Discord offers a copy button for (and keeps the key from wrapping).
    return f"```\n{text}\n```"


def obs_embed(setup: ObsSetup, grace_seconds: int) -> discord.Embed:
    """The member's OBS settings. Only ever sent ephemerally: it holds their stream key."""
    title = "Your new OBS settings" if setup.new_key else "Your OBS settings"
    embed = discord.Embed(
        title=f"{title} ({setup.protocol.upper()})",
        description=_HOW_TO[setup.protocol],
        colour=GOLIVE_PURPLE,
    )
    embed.add_field(name="Server", value=_code(setup.server_url), inline=False)
    key_name = "Bearer Token" if setup.protocol == "whip" else "Stream Key"
    embed.add_field(name=key_name, value=_code(setup.stream_key), inline=False)
    embed.add_field(
        name="Good to know",
        value=(
            f"Stopping the stream in OBS ends it after {human_duration(grace_seconds)} "
            "(coming back sooner keeps the same stream). Keep the key secret: anyone with it "
            "can stream as you. `/stream obs action:reset` makes a new one and the old one "
            "stops working."
        ),
        inline=False,
    )
    if setup.new_key:
        embed.add_field(
            name="New key",
            value="If OBS had an older key, paste this one: the old key no longer works.",
            inline=False,
        )
    if setup.publishing:
        embed.add_field(name="Status", value="🟢 OBS is sending right now.", inline=False)
    if setup.problem:
        embed.add_field(
            name="⚠️ Last time OBS connected",
            value=f"golive couldn't take you live: {setup.problem}",
            inline=False,
        )
    return embed


def record_message(change: RecordChange) -> str:
    if not change.enabled:
        text = "Recording is **off**: your next streams won't be recorded."
        if change.stopped_now:
            text += " The recording of your live stream was stopped; what was recorded is kept."
        return text
    text = "Recording is **on**: your streams are recorded and listed in `/vods`."
    if change.recording_now:
        text += " Your live stream is being recorded now."
    if change.problem:
        text += f"\n⚠️ Your live stream can't be recorded: {change.problem}"
    return text


def vods_embed(
    stream: Stream, vods: list[Recording], failures: list[Recording], watch_url: str
) -> discord.Embed:
    """Past streams with a recording; failures only when the owner asks (they pass them)."""
    embed = discord.Embed(
        title=f"Past streams of {stream.owner_name}",
        url=watch_url,
        colour=GOLIVE_PURPLE if vods else OFFLINE_GREY,
    )
    if not vods:
        embed.description = "No recorded streams yet."
    lines = []
    for vod in vods:
        when = discord.utils.format_dt(vod.started_at, "f")
        length = human_duration(vod.duration_seconds or 0)
        link = f"[Watch]({vod.link})" if vod.link else "no link (ask an admin where files go)"
        lines.append(f"{when} · **{length}** · {link}")
    if lines:
        embed.description = "\n".join(lines)
    for failure in failures:
        embed.add_field(
            name=f"⚠️ Not recorded: {failure.started_at:%d %b %Y, %H:%M} UTC",
            value=(failure.error or "The recording failed.")[:1024],
            inline=False,
        )
    embed.set_footer(text=f"golive · {stream.slug}")
    return embed


_HEALTH_TITLE = {
    "good": "🟢 Healthy",
    "sending": "🟢 Sending video",
    "poor": "🟠 The streamer's connection is poor",
    "no_video": "🟠 No video",
    "not_sending": "⚪ Live, but nothing is being sent",
    "offline": "⚪ Not live",
}
_SOURCE = {"obs": "OBS (ingress)", "browser": "Browser studio"}


def health_embed(stream: Stream, health: StreamHealth) -> discord.Embed:
    """The streamer's video as LiveKit reports it, for moderators and the curious."""
    embed = discord.Embed(
        title=f"{_HEALTH_TITLE[health.status]} · {stream.owner_name}",
        colour=LIVE_RED if health.poor else (GOLIVE_PURPLE if stream.active else OFFLINE_GREY),
    )
    if health.source:
        embed.add_field(name="From", value=_SOURCE[health.source], inline=True)
    numbers = describe(health)
    if numbers:
        embed.add_field(name="Video", value=numbers, inline=True)
    if health.reasons:
        embed.add_field(name="Why", value="\n".join(f"• {r}" for r in health.reasons), inline=False)
    if health.source == "browser":
        embed.set_footer(
            text="For browser streams LiveKit reports the resolution and the bitrate the browser "
            "aims for; each viewer's page shows LiveKit's live verdict on the connection."
        )
    elif health.source == "obs":
        embed.set_footer(text="Measured by LiveKit's ingress on what OBS sends.")
    return embed


class ObsProblemNotifier:
    """Tells a streamer by DM when OBS connected but golive couldn't take them live."""

    def __init__(self, bot: GoLiveBot) -> None:
        self.bot = bot

    async def on_problem(self, event: ObsProblem) -> None:
        owner_id, problem = event.owner_id, event.problem
        try:
            user = self.bot.get_user(owner_id) or await self.bot.fetch_user(owner_id)
            await user.send(
                "OBS connected, but I couldn't take your stream live: "
                f"{problem}\nStop streaming in OBS, fix this, then start again."
            )
        except discord.HTTPException:
            log.info("could not DM user %s about their OBS stream", owner_id)
