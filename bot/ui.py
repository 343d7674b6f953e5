"""The bases every view, modal and persistent button of golive is built on.

They carry the error path: whatever a component's callback raises is answered the way a slash
command's error is (bot/tree.py), so no component wires that reply by hand. discord.py routes a
view's or a modal's errors to its `on_error`, but only logs a dynamic item's; GoLiveDynamicItem
therefore runs `clicked` inside its own `callback` and sends what escapes to the same place.
"""

from __future__ import annotations

from typing import Any, TypeVar

import discord

from bot.tree import reply_with_error

ItemT = TypeVar("ItemT", bound=discord.ui.Item[Any])


class GoLiveView(discord.ui.View):
    """A view whose callbacks' errors reach the member as an ephemeral explanation."""

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await reply_with_error(interaction, error)


class GoLiveModal(discord.ui.Modal):
    """A form whose `on_submit` errors reach the member as an ephemeral explanation."""

    # A modal's on_error has no `item`: discord.py's Modal narrows View's signature the same way.
    async def on_error(self, interaction: discord.Interaction[Any], error: Exception) -> None:  # type: ignore[override]
        await reply_with_error(interaction, error)


# The base's own template matches nothing: only its subclasses are registered, with theirs.
class GoLiveDynamicItem(discord.ui.DynamicItem[ItemT], template=r"(?!)"):
    """A button (or select) that keeps working after a restart: its state lives in its custom_id.

    Subclasses give their `template` and implement `clicked`, not `callback`.
    """

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            await self.clicked(interaction)
        except Exception as error:
            await reply_with_error(interaction, error)

    async def clicked(self, interaction: discord.Interaction[Any]) -> None:
        raise NotImplementedError


def link_view(label: str, url: str, emoji: str | None = None) -> discord.ui.View:
    """One link button: opens `url` in the browser, nothing for the bot to answer."""
    view = GoLiveView()
    view.add_item(discord.ui.Button(label=label, url=url, emoji=emoji))
    return view
