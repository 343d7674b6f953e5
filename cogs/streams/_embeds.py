"""How /stream obs, /stream record and /stream health answer: OBS settings, recording switches
and a stream's health."""

from __future__ import annotations

import discord

from bot.embeds import GOLIVE_PURPLE, LIVE_RED, OFFLINE_GREY
from core.kernel.timefmt import human_duration
from core.live import ObsSetup, RecordChange, StreamHealth, describe
from core.streams import Stream

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
