"""Embeds and colours shared by several cogs and the announcer, so a stream looks the same
wherever it is shown."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from core.kernel.i18n import DEFAULT, credits_in, duration_in, ngettext, t
from core.live import Audience
from core.stage import GuestTime
from core.streams import Stream, StreamSession

LIVE_RED = discord.Colour.from_rgb(235, 64, 52)
OFFLINE_GREY = discord.Colour.from_rgb(88, 101, 120)
GOLIVE_PURPLE = discord.Colour.from_rgb(145, 70, 255)

# golive's messages never ping anyone unless a message names whom (the announcement's ping role).
NO_MENTIONS = discord.AllowedMentions.none()


def stream_card(stream: Stream, watch_url: str, locale: str = DEFAULT) -> discord.Embed:
    """A stream page as `/stream info` shows it, in the reader's language."""
    embed = discord.Embed(
        title=stream.title,
        description=stream.description or None,
        url=watch_url,
        colour=LIVE_RED if stream.active else OFFLINE_GREY,
    )
    embed.set_author(name=stream.owner_name)
    if stream.state == "starting":
        # The room is open but no video has arrived yet (media first): not announced either.
        status = t(locale, "⏳ Starting (waiting for the video)")
    else:
        status = t(locale, "🔴 Live now") if stream.active else t(locale, "Offline")
    # Discord renders these timestamps in each reader's own language and time zone.
    if stream.active and stream.live_since:
        when = discord.utils.format_dt(stream.live_since, "R")
        status += " · " + t(locale, "since %(when)s", when=when)
    elif stream.last_live_at:
        when = discord.utils.format_dt(stream.last_live_at, "R")
        status += " · " + t(locale, "last live %(when)s", when=when)
    embed.add_field(name=t(locale, "Status"), value=status, inline=True)
    if stream.location_name:
        embed.add_field(name=t(locale, "Location"), value=stream.location_name, inline=True)
    embed.set_footer(text=f"golive · {stream.slug}")
    return embed


def live_announcement(
    stream: Stream,
    session: StreamSession,
    watch_url: str,
    viewers: int | None = None,
    locale: str = DEFAULT,
) -> discord.Embed:
    embed = discord.Embed(
        title=stream.title,
        description=stream.description[:300] or None,
        url=watch_url,
        colour=LIVE_RED,
        timestamp=session.started_at,
    )
    embed.set_author(name=t(locale, "🔴 %(name)s is live", name=stream.owner_name))
    if stream.location_name:
        embed.add_field(name=t(locale, "Location"), value=stream.location_name)
    if viewers is not None:
        embed.add_field(name=t(locale, "Watching now"), value=f"👀 {viewers}")
    embed.set_footer(text=t(locale, "Started"))
    return embed


def ended_announcement(
    stream: Stream,
    session: StreamSession,
    watch_url: str,
    audience: Audience | None = None,
    chart_file: str | None = None,
    tips: tuple[int, int] = (0, 0),
    guests: Sequence[GuestTime] = (),
    locale: str = DEFAULT,
) -> discord.Embed:
    duration = duration_in(locale, session.duration_seconds or 0)
    embed = discord.Embed(
        title=stream.title,
        description=t(
            locale,
            "%(name)s was live for **%(duration)s**.",
            name=stream.owner_name,
            duration=duration,
        ),
        url=watch_url,
        colour=OFFLINE_GREY,
        timestamp=session.ended_at,
    )
    embed.set_author(name=t(locale, "%(name)s was live", name=stream.owner_name))
    if audience is not None:
        embed.add_field(name=t(locale, "Peak viewers"), value=str(audience.peak_viewers))
        embed.add_field(name=t(locale, "Viewers"), value=str(audience.unique_viewers))
    tip_count, credits = tips
    if tip_count:
        tips_text = ngettext(locale, "from %(count)s tip", "from %(count)s tips", tip_count)
        value = f"💜 {credits_in(locale, credits)} " + tips_text % {"count": tip_count}
        embed.add_field(name=t(locale, "Tips"), value=value)
    if guests:
        embed.add_field(
            name=t(locale, "On stage"),
            value=", ".join(
                f"{guest.display_name} ({duration_in(locale, guest.seconds)})" for guest in guests
            )[:1024],
            inline=False,
        )
    if chart_file is not None:
        embed.set_image(url=f"attachment://{chart_file}")
    embed.set_footer(text=t(locale, "Ended"))
    return embed
