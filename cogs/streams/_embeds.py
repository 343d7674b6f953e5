"""How /stream obs, /stream record and /stream health answer: OBS settings, recording switches
and a stream's health, in the member's language."""

from __future__ import annotations

import discord

from bot.embeds import GOLIVE_PURPLE, LIVE_RED, OFFLINE_GREY
from core.kernel import i18n
from core.kernel.i18n import N_, Duration, t
from core.live import ObsSetup, RecordChange, StreamHealth, describe
from core.streams import Stream

_HOW_TO = {
    "rtmp": N_(
        "1. OBS → **Settings → Stream**, Service **Custom…**\n"
        "2. Paste the **Server** and the **Stream Key** below, then **OK**.\n"
        "3. **Start Streaming**: you go live by yourself, no studio needed."
    ),
    "whip": N_(
        "1. OBS 30 or newer → **Settings → Stream**, Service **WHIP**\n"
        "2. Paste the **Server** and the **Bearer Token** below, then **OK**.\n"
        "3. **Start Streaming**: you go live by yourself, no studio needed."
    ),
}


def _code(text: str) -> str:
    # A code block is what Discord offers a copy button for (and keeps the key from wrapping).
    return f"```\n{text}\n```"


def _problem(locale: str, problem: str) -> str:
    """A problem as recorded (English text); in the reader's language when it is a known one."""
    return i18n.gettext(locale, problem)


def obs_embed(setup: ObsSetup, grace_seconds: int, locale: str = i18n.DEFAULT) -> discord.Embed:
    """The member's OBS settings. Only ever sent ephemerally: it holds their stream key."""
    title = (
        N_("Your new OBS settings (%(protocol)s)")
        if setup.new_key
        else N_("Your OBS settings (%(protocol)s)")
    )
    embed = discord.Embed(
        title=t(locale, title, protocol=setup.protocol.upper()),
        description=t(locale, _HOW_TO[setup.protocol]),
        colour=GOLIVE_PURPLE,
    )
    # Named as OBS labels its fields in the member's language (OBS is translated too).
    embed.add_field(name=t(locale, "Server"), value=_code(setup.server_url), inline=False)
    key_name = N_("Bearer Token") if setup.protocol == "whip" else N_("Stream Key")
    embed.add_field(name=t(locale, key_name), value=_code(setup.stream_key), inline=False)
    embed.add_field(
        name=t(locale, "Good to know"),
        value=t(
            locale,
            "Stopping the stream in OBS ends it after %(grace)s (coming back sooner keeps the "
            "same stream). Keep the key secret: anyone with it can stream as you. "
            "`/stream obs action:reset` makes a new one and the old one stops working.",
            grace=Duration(grace_seconds),
        ),
        inline=False,
    )
    if setup.new_key:
        embed.add_field(
            name=t(locale, "New key"),
            value=t(
                locale, "If OBS had an older key, paste this one: the old key no longer works."
            ),
            inline=False,
        )
    if setup.publishing:
        embed.add_field(
            name=t(locale, "Status"), value=t(locale, "🟢 OBS is sending right now."), inline=False
        )
    if setup.problem:
        embed.add_field(
            name=t(locale, "⚠️ Last time OBS connected"),
            value=t(
                locale,
                "golive couldn't take you live: %(problem)s",
                problem=_problem(locale, setup.problem),
            ),
            inline=False,
        )
    return embed


def record_message(change: RecordChange, locale: str = i18n.DEFAULT) -> str:
    if not change.enabled:
        text = t(locale, "Recording is **off**: your next streams won't be recorded.")
        if change.stopped_now:
            text += " " + t(
                locale,
                "The recording of your live stream was stopped; what was recorded is kept.",
            )
        return text
    text = t(locale, "Recording is **on**: your streams are recorded and listed in `/vods`.")
    if change.recording_now:
        text += " " + t(locale, "Your live stream is being recorded now.")
    if change.problem:
        text += "\n" + t(
            locale,
            "⚠️ Your live stream can't be recorded: %(problem)s",
            problem=_problem(locale, change.problem),
        )
    return text


_HEALTH_TITLE = {
    "good": N_("🟢 Healthy"),
    "sending": N_("🟢 Sending video"),
    "poor": N_("🟠 The streamer's connection is poor"),
    "no_video": N_("🟠 No video"),
    "not_sending": N_("⚪ Live, but nothing is being sent"),
    "offline": N_("⚪ Not live"),
}
_SOURCE = {"obs": N_("OBS (ingress)"), "browser": N_("Browser studio")}


def health_embed(stream: Stream, health: StreamHealth, locale: str = i18n.DEFAULT) -> discord.Embed:
    """The streamer's video as LiveKit reports it, for moderators and the curious."""
    embed = discord.Embed(
        title=f"{t(locale, _HEALTH_TITLE[health.status])} · {stream.owner_name}",
        colour=LIVE_RED if health.poor else (GOLIVE_PURPLE if stream.active else OFFLINE_GREY),
    )
    if health.source:
        embed.add_field(name=t(locale, "From"), value=t(locale, _SOURCE[health.source]))
    numbers = describe(health, locale)
    if numbers:
        embed.add_field(name=t(locale, "Video"), value=numbers, inline=True)
    if health.reasons:
        embed.add_field(
            name=t(locale, "Why"),
            value="\n".join(f"• {reason.said_in(locale)}" for reason in health.reasons),
            inline=False,
        )
    if health.source == "browser":
        embed.set_footer(
            text=t(
                locale,
                "For browser streams LiveKit reports the resolution and the bitrate the browser "
                "aims for; each viewer's page shows LiveKit's live verdict on the connection.",
            )
        )
    elif health.source == "obs":
        embed.set_footer(text=t(locale, "Measured by LiveKit's ingress on what OBS sends."))
    return embed
