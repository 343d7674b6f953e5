"""Bot processes that run different shards each get the events their guilds need: consumers
that act per guild (announcements, roles, threads) are named after the shard scope, so every
group of shards has its own delivery; a DM, which belongs to no guild, is one delivery for all."""

from __future__ import annotations

import dataclasses

from core.kernel.events import EventBus, durable
from core.services import Services
from core.store import Outbox, record
from golive.bootstrap import wire
from tests.core.store.test_outbox import Ping


async def test_each_group_of_shards_gets_per_guild_events_and_a_dm_goes_to_one(
    services: Services,
) -> None:
    announced: list[str] = []
    dms: list[str] = []
    outboxes = []
    for scope in ("shards 0/2", "shards 1/2"):

        async def announce(event: object, scope: str = scope) -> None:
            announced.append(scope)

        async def dm(event: object, scope: str = scope) -> None:
            dms.append(scope)

        outbox = Outbox(services.db, services.clock)
        process = dataclasses.replace(services, outbox=outbox, events=EventBus())
        wire(process, "discord", [durable(Ping, announce), durable(Ping, dm, repeat=False)], scope)
        await outbox.register_routes()
        outboxes.append(outbox)

    async with services.db.transaction() as tx:
        await record(tx, Ping(1), at=services.clock.now())
    for outbox in outboxes:
        await outbox.drain()

    assert sorted(announced) == ["shards 0/2", "shards 1/2"]
    assert len(dms) == 1
