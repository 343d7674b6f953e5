"""/follow, /unfollow, /following and /stats as members use them."""

from __future__ import annotations

from core.kernel.clock import ManualClock
from core.kernel.errors import InvalidInput, NotFound
from core.services import Services
from tests.bot.test_live_alerts import joins, room_of
from tests.cogs.test_streams import create_page, domain_errors
from tests.conftest import World
from tests.fakes.livekit import FakeLiveKit


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


async def test_stats_of_a_member_and_the_top_list(
    world: World, services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    await create_page(world, world.alice)
    await world.bob.slash(world.general, "follow", member=world.alice)
    await world.alice.slash(world.general, "stream golive")
    room = await room_of(services, world)
    for viewer in ("guest-1", "guest-2", "viewer-9-a"):
        await joins(services, livekit, room, viewer)
    clock.advance(2 * 3600)
    await world.alice.slash(world.general, "stream end")

    mine = await world.alice.slash(world.general, "stats member")
    fields = {f.name: f.value for f in mine.response.embeds[0].fields}
    assert fields == {
        "Streams": "1",
        "Time live": "2h",
        "Average viewers": "3.0",
        "Peak viewers": "3",
        "Followers": "1",
    }
    top = await world.bob.slash(world.general, "stats top")
    assert top.response.embeds[0].description.startswith("**1.** Alice · 2h live · peak 3")

    bobs = await world.alice.slash(world.general, "stats member", member=world.bob)
    assert bobs.response.content == "bob has no stream page yet."
