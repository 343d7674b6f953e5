"""How fast the ledger moves money, on each store: a real SQLite file (WAL, synchronous=NORMAL)
and a real PostgreSQL (a throwaway database on --postgres-url's server, dropped afterwards).

Measures Ledger.send_stream_donation (replay check, balance check, entries and the tip record):
one after another, and in bursts of --burst concurrent tips, where the tips that arrive while a
batch is being written are written together in the next transaction (group commit). Beside it,
in the same run and on the same database, the per-tip path it replaced: one BEGIN IMMEDIATE
transaction of about 13 awaited statements per tip (``per_tip_donation`` below, built from the
Ledger's own building blocks). Bursts come from one wallet, and from --donors wallets at once;
each is --rounds bursts, reported as the median tips/s of a burst, with the ratio of grouped to
per-tip. Checks the books afterwards.
Usage: .venv/bin/python bench/ledger.py [--tips 2000] [--burst 100] [--rounds 10] [--donors 50]
       [--store sqlite|postgresql|both] [--postgres-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.kernel.clock import SystemClock  # noqa: E402
from core.kernel.timefmt import to_db  # noqa: E402
from core.money import notes  # noqa: E402
from core.money.ledger import Ledger, Leg, PaymentResult, fingerprint  # noqa: E402
from core.store import Database  # noqa: E402
from core.streams.service import StreamDraft, StreamService  # noqa: E402

Tipper = Callable[[int, int, str], Awaitable[PaymentResult]]  # (donor, amount, key)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def per_tip_donation(
    ledger: Ledger, db: Database, donor_id: int, stream_id: int, amount: int, key: str
) -> PaymentResult:
    """A tip as it was written before group commit: its own transaction, statement by statement."""
    fp = fingerprint("tip", donor=donor_id, stream=stream_id, amount=amount, message="")
    async with db.transaction() as tx:
        existing = await ledger.find_replay(tx, key, fp)
        if existing is not None:
            return PaymentResult(ok=True, transaction_id=existing, replayed=True)
        stream = await tx.fetch_one(
            "SELECT s.id, s.owner_id, s.owner_name, o.id AS session_id FROM streams s"
            " LEFT JOIN stream_sessions o ON o.stream_id = s.id AND o.ended_at IS NULL"
            " WHERE s.id = ?",
            (stream_id,),
        )
        assert stream is not None
        donor = await ledger.member_account(tx, donor_id)
        await ledger.require_funds(tx, donor, amount)
        streamer = await ledger.member_account(tx, stream["owner_id"])
        transaction_id = await ledger.post(
            tx,
            kind="tip",
            key=key,
            fingerprint_=fp,
            actor_id=donor_id,
            legs=[
                Leg(donor, -amount, notes.written(notes.TIP_TO, name=stream["owner_name"])),
                Leg(streamer, amount, notes.written(notes.TIP_FROM, name="Bob")),
            ],
        )
        now = to_db(SystemClock().now())
        await tx.insert(
            "INSERT INTO tips (transaction_id, donor_id, donor_name, streamer_id, stream_id,"
            " session_id, amount, message, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (transaction_id, donor_id, "Bob", stream["owner_id"], stream_id, None, amount, "", now),
        )
        await tx.fetch_one("SELECT id FROM tips WHERE transaction_id = ?", (transaction_id,))
        wallet = await ledger.member_account(tx, donor_id)
        balance = await ledger.account_balance(tx, wallet)
    return PaymentResult(ok=True, transaction_id=transaction_id, balance=balance)


async def bursts(tipper: Tipper, donors: list[int], burst: int, rounds: int, tag: str) -> float:
    """`rounds` bursts of `burst` concurrent tips, donors in turn; the median tips/s of a burst."""
    rates: list[float] = []
    for round_ in range(rounds):

        async def one(n: int, round_: int = round_) -> None:
            result = await tipper(donors[n % len(donors)], 1, f"{tag}-{round_}-{n}")
            assert result.ok
            assert not result.replayed

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(burst)))
        rates.append(burst / (time.perf_counter() - started))
    return statistics.median(rates)


@asynccontextmanager
async def store(kind: str, postgres_url: str) -> AsyncIterator[Database]:
    """A fresh, migrated store of `kind`, thrown away afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            async with Database.open(Path(folder) / "bench.db") as db:
                yield db
        return
    name = f"golive_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            async with Database.open(postgres_url.rpartition("/")[0] + "/" + name) as db:
                yield db
        finally:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def main(
    tips: int, burst: int, rounds: int, donor_count: int, stores: list[str], postgres_url: str
) -> None:
    for kind in stores:
        print(f"== {kind}")
        async with store(kind, postgres_url) as db:
            await bench_store(db, tips, burst, rounds, donor_count)


async def bench_store(db: Database, tips: int, burst: int, rounds: int, donor_count: int) -> None:
    clock = SystemClock()
    ledger = Ledger(db, clock)
    streams = StreamService(db, livekit=None, clock=clock)  # type: ignore[arg-type]
    stream = await streams.create(
        owner_id=1, username="alice", display_name="Alice", draft=StreamDraft("Bench")
    )
    many = list(range(100, 100 + donor_count))
    for donor in [2, *many]:
        await ledger.grant(donor, 10**9, moderator_id=9, reason="bench", key=f"f{donor}")

    async def grouped(donor: int, amount: int, key: str) -> PaymentResult:
        return await ledger.send_stream_donation(donor, "Bob", stream.id, amount, "", key)

    async def per_tip(donor: int, amount: int, key: str) -> PaymentResult:
        return await per_tip_donation(ledger, db, donor, stream.id, amount, key)

    latencies: list[float] = []
    started = time.perf_counter()
    for n in range(tips):
        t0 = time.perf_counter()
        result = await grouped(2, 1, f"s{n}")
        latencies.append(time.perf_counter() - t0)
        assert result.ok
    report("one after another", tips / (time.perf_counter() - started), latencies)

    print(f"bursts of {burst} concurrent tips, median of {rounds} bursts:")
    for wallets, label in (([2], "one wallet"), (many, f"{donor_count} wallets")):
        # Alternating, so both paths see the same database size and machine load.
        before = await bursts(per_tip, wallets, burst, rounds, f"p{label}")
        after = await bursts(grouped, wallets, burst, rounds, f"g{label}")
        print(
            f"{'from ' + label:>20}: per-tip {before:8.0f} tips/s   grouped {after:8.0f}"
            f" tips/s   ratio {after / before:5.1f}x"
        )

    replay_started = time.perf_counter()
    for n in range(tips):
        await grouped(2, 1, f"s{n}")
    report("replays (same key)", tips / (time.perf_counter() - replay_started), [])
    problems = await ledger.check_books()
    print(f"books: {problems or 'balanced'}")


def report(mode: str, rate: float, latencies: list[float]) -> None:
    line = f"{mode:>20}: {rate:8.0f} tips/s"
    if latencies:
        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        line += f"   p50 {p50 * 1000:6.2f} ms   p99 {p99 * 1000:6.2f} ms"
        line += f"   (mean {statistics.fmean(latencies) * 1000:.2f} ms)"
    print(line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tips", type=int, default=2000)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--donors", type=int, default=50)
    parser.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a server to make the throwaway database on",
    )
    args = parser.parse_args()
    chosen = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    asyncio.run(main(args.tips, args.burst, args.rounds, args.donors, chosen, args.postgres_url))
