"""Two real processes on one database: this test's process runs the bot (SimCord), and a
`golive web` replica (or a process that dies) is a real subprocess. Events recorded by the other
process reach Discord through the outbox, exactly once."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from core.accounts.auth import Identity
from core.config.settings import Settings
from core.kernel.clock import ManualClock
from core.livekit import host_identity
from core.services import Services
from core.store.outbox import LEASE
from tests.bot.helpers import (
    create_page,
    dms,
    fund,
    on_air,
    posts,
    setup_announcements,
)
from tests.bot.test_chat_bridge import webhook_posts
from tests.conftest import ROOT, World
from tests.fakes.livekit import FakeLiveKit
from tests.golive.process import GoliveProcess, golive_environment
from web.keys import SESSION_COOKIE

CRASH_SCRIPT = Path(__file__).with_name("crash_before_delivery.py")
RENEWAL_CRASH_SCRIPT = Path(__file__).with_name("crash_after_renewal.py")


@pytest.fixture
def clock() -> ManualClock:
    # The other process's clock is the system's: claims it takes must read the same times here.
    return ManualClock(datetime.now(UTC))


async def signed_in_cookie(services: Services, identity: Identity) -> str:
    link = await services.auth.create_login_link(identity, "/live")
    token, _ = await services.auth.redeem_login_link(link.token)
    return f"{SESSION_COOKIE}={token}"


async def test_a_chat_message_posted_on_a_replica_reaches_the_discord_thread_once(
    world: World, services: Services, livekit: FakeLiveKit, tmp_path: Path
) -> None:
    await setup_announcements(world)
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream golive")
    await on_air(world)
    [thread] = world.announcements.threads
    stream = await services.streams.get_by_owner(world.alice.id)
    cookie = await signed_in_cookie(services, Identity(4242, "viewer", "Web Viewer"))

    replica = await GoliveProcess.start(
        ["web"], golive_environment(tmp_path, livekit), cwd=tmp_path
    )
    try:
        url = await replica.listening()
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{url}/api/live/{stream.slug}/chat",
                json={"text": "hello from the replica"},
                headers={"Cookie": cookie},
            ) as answer,
        ):
            assert answer.status == 201, await answer.text()
            message_id = (await answer.json())["message"]["id"]
        # Committed on the replica: the bot's process delivers it (its poll finds it; here
        # its outbox is asked at once), and again finds nothing more to do.
        for _ in range(2):
            await services.outbox.drain()
            await world.env.settle()
    finally:
        assert await replica.stop() == 0, replica.log
    copies = [r for r in webhook_posts(world) if r.json["content"] == "hello from the replica"]
    assert len(copies) == 1
    assert int(copies[0].params["thread_id"]) == thread.id
    assert copies[0].json["username"] == "Web Viewer"
    stored = await services.chat.get(message_id)
    assert stored.discord_message_id is not None


async def test_a_stream_going_on_air_through_a_replica_is_announced_once(
    world: World, services: Services, livekit: FakeLiveKit, tmp_path: Path
) -> None:
    """LiveKit's webhooks reach only the replica: it puts the session on air, and the bot's
    process announces it (the replica has no bot)."""
    await setup_announcements(world)
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream golive")
    await world.env.settle()
    room = (await services.streams.get_by_owner(world.alice.id)).room_name
    assert room is not None
    studio = host_identity(world.alice.id)

    replica = await GoliveProcess.start(
        ["web"], golive_environment(tmp_path, livekit), cwd=tmp_path
    )
    try:
        hook = f"{await replica.listening()}/livekit/webhook"
        livekit.add_participant(room, studio)
        joined = livekit.event("participant_joined", room, studio)
        assert await livekit.post_webhook(hook, joined) == 200
        track = livekit.publish_track(room, studio, kind="video", source="camera")
        published = livekit.event("track_published", room, studio, track=track)
        assert await livekit.post_webhook(hook, published) == 200
        assert (await services.streams.get_by_owner(world.alice.id)).on_air
        for _ in range(2):
            await services.outbox.drain()
            await world.env.settle()
    finally:
        assert await replica.stop() == 0, replica.log
    assert len([m for m in posts(world.announcements) if m.embeds]) == 1


async def test_a_go_live_committed_by_a_process_that_died_is_announced_after_restart(
    world: World, services: Services, tmp_path: Path, clock: ManualClock
) -> None:
    """The process that put Alice on air had claimed the announcement and was killed before it
    posted; once its claim runs out, the bot's process announces, once."""
    await setup_announcements(world)
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream golive")
    await world.env.settle()
    stream = await services.streams.get_by_owner(world.alice.id)
    session = await services.streams.current_session(stream.id)
    assert session is not None

    died = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CRASH_SCRIPT),
        str(services.settings.database.target),
        str(session.id),
        env={"PYTHONPATH": str(ROOT)},
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        _, stderr = await died.communicate()
    assert died.returncode == 9, stderr.decode()
    assert (await services.streams.get_by_owner(world.alice.id)).on_air

    await services.outbox.drain()
    await world.env.settle()
    assert posts(world.announcements) == []  # the dead process's claim still holds

    # The claim runs out a lease after the dead process took it (by its own clock).
    lease_end = await services.db.fetch_one(
        "SELECT available_at FROM outbox_deliveries WHERE consumer = 'Announcer.on_stream_event'"
    )
    assert lease_end is not None
    claimed_until = datetime.fromisoformat(lease_end["available_at"])
    assert claimed_until - clock.now() <= LEASE + timedelta(minutes=1)
    clock.advance((claimed_until - clock.now()).total_seconds() + 1)
    for _ in range(2):
        await services.outbox.drain()
        await world.env.settle()
    [announcement] = posts(world.announcements)
    assert announcement.embeds
    row = await services.db.fetch_one(
        "SELECT attempts, done_at, error FROM outbox_deliveries d JOIN outbox_events e"
        " ON e.id = d.event_id WHERE e.type = 'StreamMediaStarted'"
        " AND d.consumer = 'Announcer.on_stream_event'"
    )
    assert row is not None
    assert (row["attempts"], row["error"]) == (2, None)
    assert row["done_at"] is not None


class TestPassRenewal:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        fees = dataclasses.replace(settings.fees, mode="pass", pass_price=300, pass_days=30)
        return dataclasses.replace(settings, fees=fees)

    async def test_a_renewal_committed_by_a_process_that_died_is_told_once_after_restart(
        self, world: World, services: Services, clock: ManualClock
    ) -> None:
        """The scheduler's process renewed Alice's pass and was killed right after the commit,
        before it published or delivered anything: the DM was written with the charge, so the
        bot's process tells her, once, and a restarted scheduler charges nothing more."""
        await fund(services, world.alice, 700)
        bought = await services.passes.buy(world.alice.id, "p1")
        clock.advance(31 * 86400)
        fees = services.settings.fees

        died = await asyncio.create_subprocess_exec(
            sys.executable,
            str(RENEWAL_CRASH_SCRIPT),
            str(services.settings.database.target),
            clock.now().isoformat(),
            str(fees.pass_price),
            str(fees.pass_days),
            env={"PYTHONPATH": str(ROOT)},
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(60):
            _, stderr = await died.communicate()
        assert died.returncode == 9, stderr.decode()
        renewed = await services.passes.status(world.alice.id)
        assert renewed is not None and renewed.paid_until > bought.paid_until
        assert await services.ledger.balance(world.alice.id) == 100  # charged, and committed

        # Nothing was published here: the outbox finds it (its loop polls; asked at once here).
        await services.outbox.drain()
        await world.env.settle()
        [dm] = dms(world.alice)
        assert "was renewed until" in dm.content

        assert await services.passes.renew_due() == []  # the restarted scheduler's round
        await services.outbox.drain()
        await world.env.settle()
        assert len(dms(world.alice)) == 1
        assert await services.ledger.balance(world.alice.id) == 100
