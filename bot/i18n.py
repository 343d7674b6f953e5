"""The bot in the member's language: replies in the interaction's locale, the command tree through
discord.py's Translator, posts seen by many in the guild's language (`/setup language`).

The strings themselves live in the catalogs of core/kernel/i18n.py; `tree_strings` and
`tree_names` list what the command tree shows, so `make messages` can extract it and a test can
check every catalog has it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import discord
from discord import app_commands

from core.kernel import i18n
from core.kernel.errors import GoLiveError
from core.kernel.i18n import N_


def locale_of(interaction: discord.Interaction[Any]) -> str:
    """The member's own language (Discord sends it with every interaction)."""
    return i18n.locale_or_default(str(interaction.locale))


def tr(interaction: discord.Interaction[Any], msgid: str, **params: Any) -> str:
    """`msgid` in the member's language, filled in."""
    return i18n.t(locale_of(interaction), msgid, **params)


# Permissions as Discord's server settings name them ("Manage Server", not manage_guild).
PERMISSION_NAMES = {
    "view_channel": N_("View Channel"),
    "send_messages": N_("Send Messages"),
    "embed_links": N_("Embed Links"),
    "manage_guild": N_("Manage Server"),
    "manage_roles": N_("Manage Roles"),
    "moderate_members": N_("Moderate Members"),
    "create_public_threads": N_("Create Public Threads"),
    "send_messages_in_threads": N_("Send Messages in Threads"),
    "manage_threads": N_("Manage Threads"),
}


def permissions_text(locale: str, permissions: Iterable[str]) -> str:
    """Permission names as Discord shows them ("Manage Server, Embed Links"), translated."""
    return ", ".join(
        i18n.t(locale, PERMISSION_NAMES[p])
        if p in PERMISSION_NAMES
        else p.replace("_", " ").title()
        for p in permissions
    )


def error_text(locale: str, error: GoLiveError) -> str:
    """A domain error in the member's language (its English text when not translated yet)."""
    return i18n.t(locale, error.msgid, **error.params)


class GoLiveTranslator(app_commands.Translator):
    """Names, descriptions and choice names of every command, from the catalogs.

    Command, group and option names are translated in their own gettext context
    (`i18n.NAME_CONTEXT`): they follow Discord's rules for names, and a reply that tells a German
    member to run `/stream bearbeiten` is translated with the name their picker shows.
    Discord sends the English names back with every interaction, so the code never sees these.
    """

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContext[Any, Any],
    ) -> str | None:
        shipped = i18n.normalize(locale.value)
        if shipped is None or shipped == i18n.DEFAULT:
            return None
        name = context.location in NAME_LOCATIONS
        translated = i18n.gettext(shipped, string.message, i18n.NAME_CONTEXT if name else None)
        return translated if translated != string.message else None


NAME_LOCATIONS = {
    app_commands.TranslationContextLocation.command_name,
    app_commands.TranslationContextLocation.group_name,
    app_commands.TranslationContextLocation.parameter_name,
}


def tree_strings(tree: app_commands.CommandTree[Any]) -> Iterator[str]:
    """Every description and choice name the command tree shows a member."""
    for command in tree.walk_commands():
        yield str(command.description)
        if isinstance(command, app_commands.Command):
            for parameter in command.parameters:
                yield str(parameter.description)
                for choice in parameter.choices:
                    yield str(choice.name)


def tree_names(tree: app_commands.CommandTree[Any]) -> Iterator[str]:
    """Every command, group and option name (translated in `i18n.NAME_CONTEXT`)."""
    for command in tree.walk_commands():
        yield command.name
        if isinstance(command, app_commands.Command):
            for parameter in command.parameters:
                yield parameter.display_name
