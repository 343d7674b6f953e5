"""Two real golive processes on one database (a SQLite file; PostgreSQL on its pass), as an
operator runs a web replica beside the bot.

Tips arrive 100 at a time, split between `golive run` (here without a Discord token: its web
sidecar) and a `golive web` replica, and some are sent to both at once with the same request id
(a retry that went to the other replica). Every answer is a 201 (landed), a 200 (the same request
again) or a 409 (the wallet can't cover it); never a 500. Afterwards the books balance exactly:
each tip is in the database once, and every wallet holds what it was given minus what it gave.

What used to answer 500 here: reads outside a transaction ran on the writing connection, in two
steps (execute, then fetch), so another request's ``BEGIN IMMEDIATE`` could run on it while that
SELECT was still open. That SELECT holds a read snapshot; once the other process had committed, the
snapshot was stale and SQLite refused to turn it into a write at once (SQLITE_BUSY_SNAPSHOT,
"database is locked"), without waiting for busy_timeout, because waiting could not help. Reads now
run to their end in one step on a read-only connection of their own (core/store/db.py), so a
write always starts from a fresh snapshot and waits for the other process's lock as it should.
The processes here wait up to 10 s for a lock, so nothing is truly unavailable: even a 503 would
mean that failure is back.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from core.accounts.auth import Identity
from core.kernel.clock import ManualClock
from core.services import Services
from tests.conftest import ALICE
from tests.core.money.test_ledger import fund, page
from tests.fakes.livekit import FakeLiveKit
from tests.golive.process import GoliveProcess, golive_environment
from web.keys import SESSION_COOKIE

ROUNDS = 8
TIPS_PER_ROUND = 100
RETRIED_PER_ROUND = 10  # of those, sent to both processes with one request id
TIP = 10
DONORS = [
    Identity(user_id=2000 + n, username=f"donor{n}", display_name=f"Donor {n}") for n in range(5)
]
# Each donor asks for 160 tips of 10 over the 8 rounds but holds enough for 110, so about a
# third are refused as the wallets run dry, while the others still land.
FUNDS = 110 * TIP


@pytest.fixture
def clock() -> ManualClock:
    # The child processes run on the system clock: sessions made here must be valid there.
    return ManualClock(datetime.now(UTC))


async def sessions_of_donors(services: Services) -> list[str]:
    """Each donor funded and signed in; their session tokens, in order."""
    tokens: list[str] = []
    for donor in DONORS:
        await fund(services, donor, FUNDS)
        link = await services.auth.create_login_link(donor, "/live")
        session_token, _ = await services.auth.redeem_login_link(link.token)
        tokens.append(session_token)
    return tokens


async def test_tips_split_between_two_processes_never_500_and_the_books_balance(
    services: Services, livekit: FakeLiveKit, tmp_path: Path
) -> None:
    stream = await page(services, ALICE)
    sessions = await sessions_of_donors(services)
    environment = golive_environment(tmp_path, livekit, GOLIVE_DATABASE_BUSY_SECONDS="10")
    assert environment["GOLIVE_DATABASE"] == str(services.settings.database.path)
    processes = [
        await GoliveProcess.start(["run"], environment, tmp_path),
        await GoliveProcess.start(["web"], environment, tmp_path),
    ]
    statuses: Counter[int] = Counter()
    created: Counter[str] = Counter()  # 201 answers per request id
    landed: Counter[int] = Counter()  # credits each donor gave, by the 201 answers
    try:
        urls = [await process.listening() for process in processes]
        async with aiohttp.ClientSession() as http:

            async def tip(n: int, url: str) -> None:
                donor = n % len(DONORS)
                request_id = f"burst-tip-{n:06d}"
                async with http.post(
                    f"{url}/api/live/{stream.slug}/tip",
                    json={"amount": TIP, "message": "", "requestId": request_id},
                    headers={"Cookie": f"{SESSION_COOKIE}={sessions[donor]}"},
                ) as response:
                    body = await response.json()
                    statuses[response.status] += 1
                    assert response.status in (200, 201, 409), (response.status, body)
                    if response.status == 201:
                        created[request_id] += 1
                        landed[donor] += TIP

            for round_ in range(ROUNDS):
                numbers = range(round_ * TIPS_PER_ROUND, (round_ + 1) * TIPS_PER_ROUND)
                sends = [tip(n, urls[n % 2]) for n in numbers]
                sends += [tip(n, urls[(n + 1) % 2]) for n in numbers[:RETRIED_PER_ROUND]]
                await asyncio.gather(*sends)
    finally:
        for process in processes:
            await process.stop()
    logs = "\n".join(process.log for process in processes)
    assert "Traceback" not in logs and " 500 " not in logs, logs
    assert sum(statuses.values()) == ROUNDS * (TIPS_PER_ROUND + RETRIED_PER_ROUND)
    assert statuses[201] > 0 and statuses[409] > 0, statuses
    assert set(created.values()) == {1}  # a retried request landed once, wherever it went

    assert await services.ledger.check_books() == []
    row = await services.db.fetch_one("SELECT COUNT(*) AS n, SUM(amount) AS total FROM tips")
    assert row is not None
    assert (row["n"], row["total"]) == (statuses[201], sum(landed.values()))
    for n, donor in enumerate(DONORS):
        assert await services.ledger.balance(donor.user_id) == FUNDS - landed[n]
    assert await services.ledger.balance(ALICE.user_id) == sum(landed.values())
