"""The bot as an operator configures it."""

from __future__ import annotations

import discord

from bot.app import golive_intents


def test_the_bot_asks_for_the_message_content_intent() -> None:
    assert golive_intents().message_content
    assert isinstance(golive_intents(), discord.Intents)
