"""The command tree and the bot's one error path: domain errors become ephemeral explanations."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.i18n import error_text, locale_of, permissions_text
from core.kernel.errors import GoLiveError
from core.kernel.i18n import DEFAULT, t

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = "Something went wrong on our side. Please try again in a moment."


def explain(error: BaseException, locale: str = DEFAULT) -> str | None:
    """Words for an error a member caused or can act on (in their language); None for a bug."""
    if isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        error = error.__cause__ or error
    if isinstance(error, GoLiveError):
        return error_text(locale, error)
    if isinstance(error, app_commands.MissingPermissions):
        needed = permissions_text(locale, error.missing_permissions)
        return t(locale, "You need the **%(needed)s** permission to use this.", needed=needed)
    if isinstance(error, app_commands.BotMissingPermissions):
        needed = permissions_text(locale, error.missing_permissions)
        return t(locale, "I need the **%(needed)s** permission here to do that.", needed=needed)
    if isinstance(error, app_commands.NoPrivateMessage):
        return t(locale, "This command only works inside a server.")
    if isinstance(error, app_commands.CommandOnCooldown):
        seconds = f"{error.retry_after:.0f}"
        return t(locale, "Slow down a little: try again in %(seconds)ss.", seconds=seconds)
    if isinstance(error, app_commands.CheckFailure):
        return t(locale, "You can't use this command here.")
    return None


async def reply_with_error(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """Tell the member what went wrong, privately, whether or not the interaction was answered."""
    locale = locale_of(interaction)
    message = explain(error, locale)
    if message is None:
        log.error("unhandled error in %s", _where(interaction), exc_info=error)
        message = t(locale, SOMETHING_WENT_WRONG)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not tell the member about an error in %s", _where(interaction))


def _where(interaction: discord.Interaction[Any]) -> str:
    if interaction.command is not None:
        return f"/{interaction.command.qualified_name}"
    return f"component {interaction.data.get('custom_id') if interaction.data else '?'}"


class GoLiveTree(app_commands.CommandTree[Any]):
    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        await reply_with_error(interaction, error)
