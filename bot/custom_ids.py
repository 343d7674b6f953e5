"""The buttons bot/ posts but a cog answers, spelled once.

The announcement (bot/announcer.py) carries a Watch and a Tip button; the streams cog and the
tips cog answer their clicks with dynamic items built from the templates here. bot/ never
imports a cog, so the custom ids and the buttons' faces live here, shared by both sides.
"""

from __future__ import annotations

import discord

from core.kernel.i18n import DEFAULT, t

_WATCH = "golive:watch:"
_TIP = "golive:tip:"
WATCH_TEMPLATE = _WATCH + r"(?P<stream_id>\d+)"
TIP_TEMPLATE = _TIP + r"(?P<stream_id>\d+)"


def watch_id(stream_id: int) -> str:
    return f"{_WATCH}{stream_id}"


def tip_id(stream_id: int) -> str:
    return f"{_TIP}{stream_id}"


def watch_button(stream_id: int, locale: str = DEFAULT) -> discord.ui.Button[discord.ui.View]:
    """Under an announcement its label is in the server's language, like the announcement."""
    return discord.ui.Button(
        label=t(locale, "Watch"),
        emoji="▶️",
        style=discord.ButtonStyle.primary,
        custom_id=watch_id(stream_id),
    )


def tip_button(stream_id: int, locale: str = DEFAULT) -> discord.ui.Button[discord.ui.View]:
    return discord.ui.Button(
        label=t(locale, "Tip"),
        emoji="💸",
        style=discord.ButtonStyle.secondary,
        custom_id=tip_id(stream_id),
    )


class AnsweredElsewhere(discord.ui.Button[discord.ui.View]):
    """A shared button as bot/ posts it: the cog's dynamic item registered for its template takes
    every click, so the posted view listens to nothing and is not kept in memory."""

    def is_dispatchable(self) -> bool:
        return False


def posted(button: discord.ui.Button[discord.ui.View]) -> AnsweredElsewhere:
    """`button`'s face and custom id, to post on a message whose clicks a cog answers."""
    return AnsweredElsewhere(
        label=button.label, emoji=button.emoji, style=button.style, custom_id=button.custom_id
    )
