"""/vods as members use it: recorded streams with their length and link, failures for the owner."""

from __future__ import annotations

from core.services import Services
from tests.bot.helpers import (
    FILE_CONFIG,
    create_page,
    finish_recording,
)
from tests.conftest import World
from tests.fakes.livekit import FakeLiveKit


async def test_recorded_streams_are_listed_in_vods(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    services.recording.config = FILE_CONFIG
    await create_page(world, world.alice)
    on = await world.alice.slash(world.general, "stream record", enabled=True)
    assert on.ephemeral and "Recording is **on**" in on.response.content
    await world.alice.slash(world.general, "stream golive")
    assert len(livekit.egresses) == 1
    await world.alice.slash(world.general, "stream end")
    await finish_recording(services, livekit, seconds=72 * 60)

    listed = await world.bob.slash(world.general, "vods", member=world.alice)
    assert not listed.ephemeral
    embed = listed.response.embeds[0]
    assert embed.title == "Past streams of Alice"
    assert "**1h 12m**" in embed.description
    assert "[Watch](https://media.golive.test/recordings/alice/live-alice-" in embed.description

    off = await world.alice.slash(world.general, "stream record", enabled=False)
    assert "Recording is **off**" in off.response.content
    await world.alice.slash(world.general, "stream golive")
    assert len(livekit.egresses) == 1  # the second stream was not recorded


async def test_vods_of_a_member_without_a_page(world: World) -> None:
    result = await world.alice.slash(world.general, "vods", member=world.bob)
    assert "bob has no stream page yet" in result.response.content
