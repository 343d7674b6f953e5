"""/follow, /unfollow, /following and /notifications as members use them."""

from __future__ import annotations

from core.kernel.errors import InvalidInput, NotFound
from tests.bot.helpers import (
    create_page,
    domain_errors,
)
from tests.conftest import World


async def test_follow_and_unfollow(world: World) -> None:
    await create_page(world, world.alice)
    followed = await world.bob.slash(world.general, "follow", member=world.alice)
    assert followed.ephemeral and "I'll DM you when they go live" in followed.response.content
    again = await world.bob.slash(world.general, "follow", member=world.alice)
    assert "already follow" in again.response.content
    listed = await world.bob.slash(world.general, "following")
    assert listed.response.embeds[0].title == "You follow 1 streamer"
    assert "Alice" in listed.response.embeds[0].description

    gone = await world.bob.slash(world.general, "unfollow", member=world.alice)
    assert "no longer follow" in gone.response.content
    empty = await world.bob.slash(world.general, "following")
    assert "don't follow anyone" in empty.response.content


async def test_following_someone_without_a_page_or_yourself_is_explained(world: World) -> None:
    await create_page(world, world.alice)
    nobody = await world.alice.slash(world.general, "follow", member=world.bob)
    assert "no stream page" in nobody.response.content
    me = await world.alice.slash(world.general, "follow", member=world.alice)
    assert "can't follow yourself" in me.response.content
    assert domain_errors(world) == [NotFound, InvalidInput]
