"""The outbox: an event lands with its transaction, is claimed by one consumer process at a time,
is delivered again when a claim runs out, and never twice once done."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from core.chat import ChatMessage, ChatMessagePosted
from core.kernel.clock import ManualClock
from core.kernel.i18n import Phrase
from core.money import Renewal
from core.store import Consumer, Database, Outbox, Shards, claim_effect, record
from core.store.outbox import LEASE, decode, encode
from core.streams import Stream, StreamMediaStarted, StreamSession

T0 = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Ping:
    number: int


@dataclass(frozen=True)
class Pong:
    word: str


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with Database.open(tmp_path / "outbox.db") as opened:
        yield opened


def stream() -> Stream:
    return Stream(
        id=7,
        owner_id=1001,
        slug="alice",
        owner_name="Alice",
        title="Painting",
        description="",
        location_name=None,
        latitude=52.5,
        longitude=None,
        active=True,
        room_name="live-alice-1",
        live_since=T0,
        last_live_at=None,
        on_air=True,
    )


def test_events_go_to_json_and_back_as_they_were() -> None:
    session = StreamSession(7, 7, "live-alice-1", T0, None, None, None, T0)
    message = ChatMessage(3, 7, 9, "web", None, "guest", "guest", "hi", T0, False, None)
    for event in (
        StreamMediaStarted(stream(), session),
        ChatMessagePosted(message, stream(), origin_thread_id=55),
        Renewal(1001, False, T0, Phrase("Not enough credits (%(n)s)", {"n": 3})),
    ):
        text = json.dumps(encode(event))
        assert decode(type(event), json.loads(text)) == event


class Recorder:
    def __init__(self) -> None:
        self.seen: list[object] = []
        self.fail_next = 0

    async def take(self, event: object) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("Discord had a bad minute")
        self.seen.append(event)


async def routed(db: Database, clock: ManualClock, recorder: Recorder, **options: object) -> Outbox:
    outbox = Outbox(db, clock, **options)  # type: ignore[arg-type]
    outbox.wire("test", [Consumer("pings", Ping, recorder.take)])
    await outbox.add_routes([(Ping, "pings")])
    return outbox


async def test_an_event_is_recorded_with_its_transaction_or_not_at_all(db: Database) -> None:
    clock, recorder = ManualClock(T0), Recorder()
    outbox = await routed(db, clock, recorder)
    async with db.transaction() as tx:
        await record(tx, Ping(1), at=clock.now())
    with pytest.raises(RuntimeError):
        await failing_change(db, clock)
    # On the database's own thread too.
    await db.run_transaction(lambda tx: record(tx, Ping(3), at=clock.now()))
    assert db.signal("outbox").is_set()
    await outbox.drain()
    assert recorder.seen == [Ping(1), Ping(3)]


async def failing_change(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as tx:
        await record(tx, Ping(2), at=clock.now())
        raise RuntimeError("the change failed")


async def test_a_delivered_event_is_not_delivered_again(db: Database) -> None:
    clock, recorder = ManualClock(T0), Recorder()
    first = await routed(db, clock, recorder)
    second = await routed(db, clock, recorder)  # another process
    async with db.transaction() as tx:
        await record(tx, Ping(1), Ping(2), at=clock.now())
    await first.drain()
    clock.advance((LEASE * 3).total_seconds())
    await second.drain()
    await first.drain()
    assert recorder.seen == [Ping(1), Ping(2)]


async def test_a_claim_of_a_process_that_died_runs_out_and_another_delivers(
    db: Database,
) -> None:
    clock, recorder = ManualClock(T0), Recorder()
    dead = await routed(db, clock, Recorder())
    dead.wire("test", [Consumer("pings", Ping, _never_returns)])
    async with db.transaction() as tx:
        await record(tx, Ping(1), at=clock.now())
    await dead.deliver_pending()  # claimed (by this pass or the one wiring started)
    assert await claimed_by(db) == dead.owner  # and then its process "dies"
    alive = await routed(db, clock, recorder)
    await alive.drain()
    assert recorder.seen == []  # the claim still holds
    clock.advance(LEASE.total_seconds() + 1)
    await alive.drain()
    assert recorder.seen == [Ping(1)]
    await dead.aclose(grace=0)


async def claimed_by(db: Database) -> str | None:
    row = await db.fetch_one("SELECT claimed_by FROM outbox_deliveries")
    return None if row is None else row["claimed_by"]


async def _never_returns(event: object) -> None:
    await asyncio.Event().wait()


async def test_a_failed_delivery_is_tried_again_later(db: Database) -> None:
    clock, recorder = ManualClock(T0), Recorder()
    outbox = await routed(db, clock, recorder)
    recorder.fail_next = 1
    async with db.transaction() as tx:
        await record(tx, Ping(1), at=clock.now())
    await outbox.drain()
    assert recorder.seen == []
    clock.advance(5)
    await outbox.drain()
    assert recorder.seen == [Ping(1)]


async def test_a_consumer_that_must_not_repeat_is_not_run_again_after_a_cut_short_run(
    db: Database,
) -> None:
    clock, recorder = ManualClock(T0), Recorder()
    dead = Outbox(db, clock)
    dead.wire("test", [Consumer("dms", Ping, _never_returns, repeat=False)])
    await dead.add_routes([(Ping, "dms")])
    async with db.transaction() as tx:
        await record(tx, Ping(1), at=clock.now())
    await dead.deliver_pending()
    clock.advance((LEASE * 2).total_seconds())
    alive = Outbox(db, clock)
    alive.wire("test", [Consumer("dms", Ping, recorder.take, repeat=False)])
    await alive.drain()
    assert recorder.seen == []
    row = await db.fetch_one("SELECT done_at, error FROM outbox_deliveries")
    assert row is not None and row["done_at"] is not None and "not repeated" in row["error"]
    await dead.aclose(grace=0)


async def test_an_event_nobody_here_can_read_is_given_up_not_retried(db: Database) -> None:
    clock, recorder = ManualClock(T0), Recorder()
    outbox = await routed(db, clock, recorder)
    await outbox.add_routes([(Pong, "pings")])  # a route of another version
    async with db.transaction() as tx:
        await record(tx, Pong("hello"), Ping(1), at=clock.now())
        await tx.execute(
            "INSERT INTO outbox_events (type, payload, created_at) VALUES ('Ping', '{', ?)",
            (T0.isoformat(),),
        )
    await outbox.drain()
    await outbox.drain()
    assert recorder.seen == [Ping(1)]
    rows = await db.fetch_all("SELECT error FROM outbox_deliveries ORDER BY event_id")
    assert [row["error"] is None for row in rows] == [False, True, False]


async def test_events_before_any_route_wait_for_no_one_and_are_pruned(db: Database) -> None:
    clock = ManualClock(T0)
    outbox = Outbox(db, clock)
    async with db.transaction() as tx:
        await record(tx, Ping(1), at=clock.now())
    assert await db.fetch_all("SELECT * FROM outbox_deliveries") == []
    clock.advance(2 * 86400)
    assert await outbox.prune() == 1


async def test_an_effect_is_claimed_once(db: Database) -> None:
    assert await claim_effect(db, "chat-copy:1:2", at=T0)
    assert not await claim_effect(db, "chat-copy:1:2", at=T0)


async def test_the_running_outbox_delivers_what_another_process_recorded(
    db: Database, tmp_path: Path
) -> None:
    """Another connection to the file stands for another process: no signal reaches this one,
    its poll finds the event."""
    clock = ManualClock(T0)
    arrived = asyncio.Event()

    async def take(event: object) -> None:
        arrived.set()

    outbox = Outbox(db, clock)
    outbox.wire("test", [Consumer("pings", Ping, take)])
    await outbox.add_routes([(Ping, "pings")])
    running = asyncio.create_task(outbox.run())
    try:
        async with Database.open(tmp_path / "outbox.db") as other, other.transaction() as tx:
            await record(tx, Ping(1), at=clock.now())
        assert not db.signal("outbox").is_set()
        async with asyncio.timeout(10):
            await arrived.wait()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await outbox.aclose()


async def test_a_sharded_process_takes_only_events_of_its_guilds(db: Database) -> None:
    clock = ManualClock(T0)
    recorders = {0: Recorder(), 1: Recorder()}
    outboxes = []
    for shard, recorder in recorders.items():
        outbox = Outbox(db, clock, shards=Shards(2, frozenset({shard})))
        outbox.wire("test", [Consumer("pings", Ping, recorder.take)])
        outboxes.append(outbox)
    await outboxes[0].add_routes([(Ping, "pings")])
    on_shard_1 = (1 << 22) * 3  # (id >> 22) % 2 == 1
    async with db.transaction() as tx:
        await record(tx, Ping(1), at=clock.now(), guild_id=on_shard_1)
        await record(tx, Ping(2), at=clock.now(), guild_id=on_shard_1 + (1 << 22))
    for outbox in outboxes:
        await outbox.drain()
    assert (recorders[0].seen, recorders[1].seen) == ([Ping(2)], [Ping(1)])


async def test_a_burst_of_events_is_recorded_whatever_its_size(db: Database) -> None:
    clock, recorder = ManualClock(T0), Recorder()
    outbox = await routed(db, clock, recorder)
    burst = [Ping(n) for n in range(1200)]  # more than one statement's worth of parameters
    await db.run_transaction(lambda tx: record(tx, *burst, at=clock.now()))
    async with db.transaction() as tx:
        await record(tx, *burst, at=clock.now())
    await outbox.drain()
    assert recorder.seen == burst + burst
