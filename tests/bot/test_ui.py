"""The UI bases (bot/ui.py): whatever a view, a form or a persistent button raises reaches the member
as the same private explanation a slash command's error gets, and a bug is logged, not shown."""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
import pytest

from bot.tree import SOMETHING_WENT_WRONG
from bot.ui import GoLiveDynamicItem, GoLiveModal, GoLiveView
from core.kernel.errors import Conflict
from tests.conftest import World

TAKEN = "That name is taken."


class Failing(RuntimeError):
    """A bug in a component."""


class NameForm(GoLiveModal, title="Pick a name"):
    name: discord.ui.TextInput[NameForm] = discord.ui.TextInput(label="Name", custom_id="name")

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        raise Conflict(TAKEN)


class Panel(GoLiveView):
    @discord.ui.button(label="Taken", custom_id="test:taken")
    async def taken(self, interaction: discord.Interaction[Any], _: discord.ui.Button[Any]) -> None:
        raise Conflict(TAKEN)

    @discord.ui.button(label="Broken", custom_id="test:broken")
    async def broken(
        self, interaction: discord.Interaction[Any], _: discord.ui.Button[Any]
    ) -> None:
        raise Failing("a bug")

    @discord.ui.button(label="Form", custom_id="test:form")
    async def form(self, interaction: discord.Interaction[Any], _: discord.ui.Button[Any]) -> None:
        await interaction.response.send_modal(NameForm())


class Knock(
    GoLiveDynamicItem[discord.ui.Button[discord.ui.View]], template=r"test:knock:(?P<n>\d+)"
):
    def __init__(self, n: int) -> None:
        super().__init__(discord.ui.Button(label=f"Knock {n}", custom_id=f"test:knock:{n}"))
        self.n = n

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Knock:
        return cls(int(match["n"]))

    async def clicked(self, interaction: discord.Interaction[Any]) -> None:
        if self.n == 1:
            raise Conflict(TAKEN)
        raise Failing("a bug")


async def post(world: World, view: discord.ui.View) -> Any:
    channel = world.env.bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    await channel.send("Choose", view=view)
    return world.general.last_message


async def test_a_views_domain_error_is_explained_privately(world: World) -> None:
    message = await post(world, Panel(timeout=None))
    result = await world.alice.click(message, label="Taken")
    assert result.ephemeral and result.response.content == TAKEN
    assert [type(error) for error in world.env.errors] == [Conflict]


async def test_a_views_bug_is_logged_and_the_member_told_something_went_wrong(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    message = await post(world, Panel(timeout=None))
    with caplog.at_level(logging.ERROR, logger="bot.tree"):
        result = await world.alice.click(message, label="Broken")
    assert result.ephemeral and result.response.content == SOMETHING_WENT_WRONG
    assert any(isinstance(r.exc_info[1], Failing) for r in caplog.records if r.exc_info)
    assert [type(error) for error in world.env.errors] == [Failing]


async def test_a_forms_error_is_explained_privately(world: World) -> None:
    message = await post(world, Panel(timeout=None))
    shown = await world.alice.click(message, label="Form")
    done = await world.alice.submit_modal(shown, {"name": "alice"})
    assert done.ephemeral and done.response.content == TAKEN
    assert [type(error) for error in world.env.errors] == [Conflict]


async def test_a_persistent_buttons_errors_take_the_same_path(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.env.bot.add_dynamic_items(Knock)
    view = GoLiveView(timeout=None)
    view.add_item(Knock(1))
    view.add_item(Knock(2))
    message = await post(world, view)
    taken = await world.alice.click(message, label="Knock 1")
    assert taken.ephemeral and taken.response.content == TAKEN
    with caplog.at_level(logging.ERROR, logger="bot.tree"):
        broken = await world.alice.click(message, label="Knock 2")
    assert broken.ephemeral and broken.response.content == SOMETHING_WENT_WRONG
    assert any(isinstance(r.exc_info[1], Failing) for r in caplog.records if r.exc_info)
