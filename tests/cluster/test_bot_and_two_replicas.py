"""The whole cluster at once: this test's process is the bot (SimCord, every Discord consumer)
and two real `golive web` replicas share its database (a SQLite file; on the PostgreSQL pass,
PostgreSQL). LiveKit's webhooks, chat posts and tips reach only the replicas, as behind a load
balancer; whatever they commit reaches Discord through the outbox, from the bot, exactly once.

- A go-live whose webhooks land on one replica and LiveKit's retries of them on the other is
  announced once, and a chat message posted on each replica reaches the thread once.
- Tips split across the replicas (some sent to both with one request id) never answer 500, the
  books balance exactly, and the streamer gets one DM per tip that landed.
- A replica killed (SIGKILL) in a burst loses no tip it acknowledged, the apps' retries on the
  other replica count once, and every landed tip's DM still arrives once: the killed replica
  had written each tip's event in the tip's own transaction, and the bot delivers it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.accounts.auth import Identity
from core.kernel.clock import ManualClock
from core.livekit import host_identity
from core.services import Services
from core.streams import Stream
from tests.bot.helpers import create_page, dms, posts, setup_announcements
from tests.bot.test_chat_bridge import webhook_posts
from tests.cluster.test_two_processes import DONORS, TIP, sessions_of_donors
from tests.conftest import World
from tests.fakes.livekit import FakeLiveKit
from tests.golive.process import GoliveProcess, golive_environment
from web.keys import SESSION_COOKIE

ROUNDS = 4
TIPS_PER_ROUND = 60
RETRIED_PER_ROUND = 6  # of those, sent to both replicas with one request id
BURST = 200
KILL_AFTER = 30  # tips acknowledged by the replica that is then killed


@pytest.fixture
def clock() -> ManualClock:
    # The replicas run on the system clock: sessions and claims made here must be valid there.
    return ManualClock(datetime.now(UTC))


@asynccontextmanager
async def two_replicas(tmp_path: Path, livekit: FakeLiveKit) -> AsyncIterator[list[GoliveProcess]]:
    """Two `golive web` replicas on the test's database, listening. Stopped (or found killed)
    afterwards, and neither may have logged a traceback or a 500."""
    environment = golive_environment(tmp_path, livekit, GOLIVE_DATABASE_BUSY_SECONDS="10")
    replicas = [await GoliveProcess.start(["web"], environment, tmp_path) for _ in range(2)]
    try:
        for replica in replicas:
            await replica.listening()
        yield replicas
    finally:
        for replica in replicas:
            if replica.process.returncode is None:
                assert await replica.stop() == 0, replica.log
            else:
                await replica.kill()  # reads the rest of its log
    logs = "\n".join(replica.log for replica in replicas)
    assert "Traceback" not in logs and " 500 " not in logs, logs


async def deliver_to_discord(world: World, services: Services) -> None:
    """The bot's outbox takes what the replicas committed (its poll would; here it is asked at
    once), twice: the second pass must find nothing more to do."""
    for _ in range(2):
        await services.outbox.drain()
        await world.env.settle()


async def streamer_with_page(world: World, services: Services) -> Stream:
    await setup_announcements(world)
    await create_page(world, world.alice)
    # The bot's consumers subscribe before the replicas record anything for them.
    await services.outbox.register_routes()
    return await services.streams.get_by_owner(world.alice.id)


def tip_alerts(world: World) -> Counter[str]:
    """The streamer's tip DMs, counted by their text (each names its donor and message)."""
    return Counter(
        str(message.embeds[0].to_dict()) for message in dms(world.alice) if message.embeds
    )


async def test_a_go_live_through_the_replicas_is_announced_once_and_their_chat_reaches_the_thread_once(
    world: World, services: Services, livekit: FakeLiveKit, tmp_path: Path
) -> None:
    stream = await streamer_with_page(world, services)
    await world.alice.slash(world.general, "stream golive")
    await world.env.settle()
    room = (await services.streams.get_by_owner(world.alice.id)).room_name
    assert room is not None
    studio = host_identity(world.alice.id)
    viewer = await services.auth.create_login_link(Identity(4242, "viewer", "Web Viewer"), "/")
    session_token, _ = await services.auth.redeem_login_link(viewer.token)

    async with two_replicas(tmp_path, livekit) as replicas, aiohttp.ClientSession() as http:
        urls = [replica.url for replica in replicas]
        livekit.add_participant(room, studio)
        track = livekit.publish_track(room, studio, kind="video", source="camera")
        joined = livekit.event("participant_joined", room, studio)
        published = livekit.event("track_published", room, studio, track=track)
        for event in (joined, published):
            # Delivered to one replica, and LiveKit's retry of the same webhook to the other.
            for url in urls:
                assert await livekit.post_webhook(f"{url}/livekit/webhook", event) == 200
        await deliver_to_discord(world, services)
        [thread] = world.announcements.threads

        for n, url in enumerate(urls):
            async with http.post(
                f"{url}/api/live/{stream.slug}/chat",
                json={"text": f"hello from replica {n}"},
                headers={"Cookie": f"{SESSION_COOKIE}={session_token}"},
            ) as answer:
                assert answer.status == 201, await answer.text()
        await deliver_to_discord(world, services)

    assert len([m for m in posts(world.announcements) if m.embeds]) == 1
    copies = Counter(r.json["content"] for r in webhook_posts(world))
    assert copies == {"hello from replica 0": 1, "hello from replica 1": 1}
    assert {int(r.params["thread_id"]) for r in webhook_posts(world)} == {thread.id}


async def test_tips_split_between_the_replicas_never_500_balance_and_alert_the_streamer_once_each(
    world: World, services: Services, livekit: FakeLiveKit, tmp_path: Path
) -> None:
    stream = await streamer_with_page(world, services)
    sessions = await sessions_of_donors(services)
    statuses: Counter[int] = Counter()
    created: Counter[str] = Counter()  # 201 answers per request id

    async with two_replicas(tmp_path, livekit) as replicas, aiohttp.ClientSession() as http:
        urls = [replica.url for replica in replicas]

        async def tip(n: int, url: str) -> None:
            request_id = f"cluster-tip-{n:05d}"
            status, _ = await send_tip(http, url, stream, sessions[n % len(DONORS)], n)
            statuses[status] += 1
            if status == 201:
                created[request_id] += 1

        for round_ in range(ROUNDS):
            numbers = range(round_ * TIPS_PER_ROUND, (round_ + 1) * TIPS_PER_ROUND)
            sends = [tip(n, urls[n % 2]) for n in numbers]
            sends += [tip(n, urls[(n + 1) % 2]) for n in numbers[:RETRIED_PER_ROUND]]
            await asyncio.gather(*sends)
        await deliver_to_discord(world, services)

    assert set(statuses) <= {200, 201, 409}, statuses
    assert sum(statuses.values()) == ROUNDS * (TIPS_PER_ROUND + RETRIED_PER_ROUND)
    assert set(created.values()) == {1}  # a request sent to both landed once
    assert await services.ledger.check_books() == []
    landed = await landed_tips(services)
    assert len(landed) == statuses[201] == len(created)
    assert await services.ledger.balance(world.alice.id) == TIP * len(landed)
    assert sum(tip_alerts(world).values()) == len(landed)
    assert set(tip_alerts(world).values()) == {1}


async def test_a_replica_killed_in_a_burst_loses_no_acknowledged_tip_and_each_alert_arrives_once(
    world: World, services: Services, livekit: FakeLiveKit, tmp_path: Path
) -> None:
    stream = await streamer_with_page(world, services)
    sessions = await sessions_of_donors(services)
    answered: dict[int, int] = {}  # tip number: status, for the requests that got an answer
    unanswered: list[int] = []
    doomed_acknowledged = asyncio.Event()
    doomed_201s = 0

    async with two_replicas(tmp_path, livekit) as replicas, aiohttp.ClientSession() as http:
        doomed, survivor = replicas
        targets = [doomed.url, survivor.url]

        async def first_try(n: int) -> None:
            nonlocal doomed_201s
            try:
                status, _ = await send_tip(
                    http, targets[n % 2], stream, sessions[n % len(DONORS)], n
                )
            except aiohttp.ClientError:  # the connection died with the replica
                unanswered.append(n)
                return
            answered[n] = status
            if n % 2 == 0 and status == 201:
                doomed_201s += 1
                if doomed_201s >= KILL_AFTER:
                    doomed_acknowledged.set()

        async def kill_when_acknowledged() -> None:
            await doomed_acknowledged.wait()
            await doomed.kill()

        await asyncio.gather(kill_when_acknowledged(), *(first_try(n) for n in range(BURST)))
        assert doomed.process.returncode == -9
        # The apps retry what got no answer, with the same request id, on a live replica.
        for n in unanswered:
            answered[n], _ = await send_tip(
                http, survivor.url, stream, sessions[n % len(DONORS)], n
            )
        await deliver_to_discord(world, services)

    assert set(answered.values()) <= {200, 201, 409}, answered
    assert len(answered) == BURST
    landed = await landed_tips(services)
    acknowledged = {f"cluster-tip-{n:05d}" for n, status in answered.items() if status < 300}
    assert set(landed) == acknowledged  # nothing acknowledged lost, nothing refused kept
    assert set(landed.values()) == {1}  # and nothing counted twice
    assert await services.ledger.check_books() == []
    # The DMs of tips the killed replica committed come from the bot too: one per tip.
    assert sum(tip_alerts(world).values()) == len(landed)
    assert set(tip_alerts(world).values()) == {1}


async def send_tip(
    http: aiohttp.ClientSession, url: str, stream: Stream, session: str, n: int
) -> tuple[int, Any]:
    """Tip number `n` (its request id, and a message naming it so each DM differs)."""
    async with http.post(
        f"{url}/api/live/{stream.slug}/tip",
        json={"amount": TIP, "message": f"tip {n}", "requestId": f"cluster-tip-{n:05d}"},
        headers={"Cookie": f"{SESSION_COOKIE}={session}"},
    ) as response:
        return response.status, await response.json()


async def landed_tips(services: Services) -> Counter[str]:
    """Tips in the books, counted by request id (the ledger's key is "web:<donor>:<id>")."""
    rows = await services.db.fetch_all(
        "SELECT t.idempotency_key FROM ledger_transactions t"
        " JOIN tips ON tips.transaction_id = t.id"
    )
    return Counter(row["idempotency_key"].rpartition(":")[2] for row in rows)
