"""A `golive web` replica killed (SIGKILL) in the middle of a burst of tips loses nothing it
acknowledged, and counts nothing twice when the members' apps retry on the other replica.

Two real replicas on one database (a SQLite file; on the PostgreSQL pass, PostgreSQL). Tips go
to both; once the first replica has acknowledged some, it is killed with requests in flight. Every
tip it answered 201 for is in the books; every request that got no answer is sent again, with its
request id, to the surviving replica, which answers 201 (it had not landed) or 200 (it had: the
first result, not a second tip). Afterwards each request id is one tip at most, and every wallet
holds exactly what it was given minus the tips it made.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from core.kernel.clock import ManualClock
from core.services import Services
from tests.cluster.test_two_processes import DONORS, TIP, sessions_of_donors
from tests.conftest import ALICE
from tests.core.money.test_ledger import page
from tests.fakes.livekit import FakeLiveKit
from tests.golive.process import GoliveProcess, golive_environment
from web.keys import SESSION_COOKIE

TIPS = 300
KILL_AFTER = 40  # acknowledged by the first replica


@pytest.fixture
def clock() -> ManualClock:
    # The child processes run on the system clock: sessions made here must be valid there.
    return ManualClock(datetime.now(UTC))


async def test_a_replica_killed_in_a_burst_loses_no_acknowledged_tip_and_retries_count_once(
    services: Services, livekit: FakeLiveKit, tmp_path: Path
) -> None:
    stream = await page(services, ALICE)
    sessions = await sessions_of_donors(services)
    environment = golive_environment(tmp_path, livekit, GOLIVE_DATABASE_BUSY_SECONDS="10")
    doomed = await GoliveProcess.start(["web"], environment, tmp_path)
    survivor = await GoliveProcess.start(["web"], environment, tmp_path)
    answered: dict[str, int] = {}  # request id: status, for the requests that got an answer
    unanswered: list[int] = []
    acknowledged_by_doomed = asyncio.Event()
    doomed_201s = 0
    try:
        urls = [await doomed.listening(), await survivor.listening()]
        async with aiohttp.ClientSession() as http:

            async def tip(n: int, url: str) -> int | None:
                async with http.post(
                    f"{url}/api/live/{stream.slug}/tip",
                    json={"amount": TIP, "message": "", "requestId": f"kill-tip-{n:05d}"},
                    headers={"Cookie": f"{SESSION_COOKIE}={sessions[n % len(DONORS)]}"},
                ) as response:
                    await response.read()
                    return response.status

            async def first_try(n: int) -> None:
                nonlocal doomed_201s
                url = urls[n % 2]
                try:
                    status = await tip(n, url)
                except aiohttp.ClientError:  # the connection died with the replica
                    unanswered.append(n)
                    return
                assert status is not None
                answered[f"kill-tip-{n:05d}"] = status
                if url == urls[0] and status == 201:
                    doomed_201s += 1
                    if doomed_201s >= KILL_AFTER:
                        acknowledged_by_doomed.set()

            async def kill_when_acknowledged() -> None:
                await acknowledged_by_doomed.wait()
                await doomed.kill()

            await asyncio.gather(kill_when_acknowledged(), *(first_try(n) for n in range(TIPS)))
            assert doomed.process.returncode == -9
            # The apps retry what got no answer, with the same request id, on the survivor.
            for n in unanswered:
                status = await tip(n, urls[1])
                assert status in (200, 201, 409), status
                answered[f"kill-tip-{n:05d}"] = status
    finally:
        await doomed.kill()
        await survivor.stop()
    assert "Traceback" not in survivor.log, survivor.log
    assert set(answered.values()) <= {200, 201, 409}, answered
    assert len(answered) == TIPS

    landed = {  # keyed by the request id (the ledger's key is "web:<donor>:<request id>")
        row["idempotency_key"].rpartition(":")[2]: row["n"]
        for row in await services.db.fetch_all(
            "SELECT t.idempotency_key, COUNT(*) AS n FROM ledger_transactions t"
            " JOIN tips ON tips.transaction_id = t.id GROUP BY t.idempotency_key"
        )
    }
    acknowledged = {key for key, status in answered.items() if status in (200, 201)}
    assert set(landed) == acknowledged  # nothing acknowledged lost, nothing refused kept
    assert set(landed.values()) == {1}  # and nothing counted twice
    assert await services.ledger.check_books() == []
    assert await services.ledger.balance(ALICE.user_id) == TIP * len(landed)
