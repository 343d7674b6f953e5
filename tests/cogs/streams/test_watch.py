"""The Watch button, on announcements: a personal one-time link, after a restart too."""

from __future__ import annotations

from typing import Any

from tests.bot.helpers import buttons, create_page, on_air, posts
from tests.conftest import World


async def test_watch_button_gives_the_clicker_a_personal_one_time_link(world: World) -> None:
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream golive")
    await on_air(world)
    announcement = posts(world.general)[-1]
    clicked = await world.bob.click(announcement, label="Watch")
    assert clicked.ephemeral and "Alice** is live now" in clicked.response.content
    [open_button] = buttons(clicked.response)
    assert open_button["url"].startswith("http://golive.test/login/")


async def test_watch_button_survives_a_bot_restart(world: World, make_bot: Any) -> None:
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream golive")
    await on_air(world)
    announcement = posts(world.general)[-1]
    await world.env.restart_bot(make_bot())
    clicked = await world.bob.click(announcement, label="Watch")
    assert "is live now" in clicked.response.content
