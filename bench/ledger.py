"""How fast the ledger moves money on a real SQLite file (WAL, synchronous=NORMAL).

Measures Ledger.send_stream_donation (balance check + entries + tip record, one BEGIN IMMEDIATE
transaction each): one after another, and as bursts of --burst concurrent tips from one wallet
(they serialise on the write lock). Prints tips/s and p50/p99 latency per mode, and checks the
books afterwards. Usage: .venv/bin/python bench/ledger.py [--tips 2000] [--burst 100]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.kernel.clock import SystemClock  # noqa: E402
from core.money.ledger import Ledger  # noqa: E402
from core.store import Database  # noqa: E402
from core.streams.service import StreamDraft, StreamService  # noqa: E402


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def main(tips: int, burst: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with Database.open(Path(folder) / "bench.db") as db:
            clock = SystemClock()
            ledger = Ledger(db, clock)
            streams = StreamService(db, livekit=None, clock=clock)  # type: ignore[arg-type]
            stream = await streams.create(
                owner_id=1, username="alice", display_name="Alice", draft=StreamDraft("Bench")
            )
            await ledger.grant(2, tips * 4, moderator_id=9, reason="bench", key="fund")

            latencies: list[float] = []
            started = time.perf_counter()
            for n in range(tips):
                t0 = time.perf_counter()
                result = await ledger.send_stream_donation(2, "Bob", stream.id, 1, "", f"s{n}")
                latencies.append(time.perf_counter() - t0)
                assert result.ok
            serial = time.perf_counter() - started
            report("serial", tips, serial, latencies)

            latencies = []

            async def one(n: int) -> None:
                t0 = time.perf_counter()
                result = await ledger.send_stream_donation(2, "Bob", stream.id, 1, "", f"c{n}")
                latencies.append(time.perf_counter() - t0)
                assert result.ok

            started = time.perf_counter()
            for round_start in range(0, tips, burst):
                await asyncio.gather(*(one(n) for n in range(round_start, round_start + burst)))
            concurrent = time.perf_counter() - started
            report(f"bursts of {burst}", tips, concurrent, latencies)

            replay_started = time.perf_counter()
            for n in range(tips):
                await ledger.send_stream_donation(2, "Bob", stream.id, 1, "", f"s{n}")
            report("replays (same key)", tips, time.perf_counter() - replay_started, [])
            problems = await ledger.check_books()
            print(f"books: {problems or 'balanced'}")


def report(mode: str, count: int, seconds: float, latencies: list[float]) -> None:
    line = f"{mode:>20}: {count / seconds:8.0f} tips/s"
    if latencies:
        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        line += f"   p50 {p50 * 1000:6.2f} ms   p99 {p99 * 1000:6.2f} ms"
        line += f"   (mean {statistics.fmean(latencies) * 1000:.2f} ms)"
    print(line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tips", type=int, default=2000)
    parser.add_argument("--burst", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.tips, args.burst))
