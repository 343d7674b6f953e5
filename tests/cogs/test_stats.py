"""/stats member and /stats top as members use them."""

from __future__ import annotations

from core.kernel.clock import ManualClock
from core.services import Services
from tests.bot.helpers import (
    create_page,
    joins,
    room_of,
)
from tests.conftest import World
from tests.fakes.livekit import FakeLiveKit


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
