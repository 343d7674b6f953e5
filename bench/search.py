"""Discovery at a million stream pages: name and place searches, indexed versus a full scan.

Fills a fresh SQLite database (schema from core/migrations, triggers and all) with --pages stream
pages, --live of them live, placed in real cities (golive's offline city list, weighted by
population, so Tokyo is crowded and Reykjavík is not). Then measures, one query at a time:

  * the service layer: SearchService.by_name (a 3-6 letter prefix of a live name; a one-typo
    spelling) and SearchService.near (a city, weighted by population), a page of 8;
  * the HTTP endpoint: POST /api/live/search through create_app() on 127.0.0.1 (client in the
    same process, keep-alive);
  * the baseline: the same questions answered by a full scan (NOT INDEXED), fewer times.

Prints p50/p99 per case, the scan/index ratio, the fill time and the database size.
Usage: .venv/bin/python bench/search.py [--pages 1000000] [--live 100000] [--queries 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from core.config.settings import load_settings  # noqa: E402
from core.discovery.places import City, PlaceDirectory  # noqa: E402
from core.discovery.search import SearchService  # noqa: E402
from core.store import Database  # noqa: E402
from golive.bootstrap import open_services  # noqa: E402
from web.app import create_app  # noqa: E402

SYLLABLES = [
    *("ka", "ri", "to", "mi", "su", "na", "le", "ro", "va", "ne", "li", "sa", "mo", "ta", "ki"),
    *("yu", "zo", "be", "da", "fi", "go", "hu", "ja", "lu", "ma", "no", "pe", "qu", "ra", "se"),
    *("ti", "vo", "wi", "xa", "ye", "zu", "an", "el", "in", "or", "um", "ash", "ber", "cor"),
    *("dan", "fen", "gal", "hal", "ix", "jor", "kel", "lor", "mer", "nor", "pix", "quin"),
    *("rex", "sol", "tor", "ulm", "vex", "wyn"),
]
LIVE_SINCE = "2026-01-01T12:00:00+00:00"
Timer = Callable[[], Awaitable[Any]]


def usernames(rng: random.Random, count: int) -> Iterator[tuple[str, str]]:
    """(slug, display name) pairs: pronounceable, unique slugs, sometimes with digits."""
    seen: set[str] = set()
    while len(seen) < count:
        parts = [rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))]
        slug = "".join(parts) + (str(rng.randint(1, 999)) if rng.random() < 0.4 else "")
        if slug in seen:
            continue
        seen.add(slug)
        display = " ".join(
            part.title() for part in ("".join(parts[:2]), "".join(parts[2:])) if part
        )
        yield slug, display


def fill(path: Path, pages: int, live: int, cities: list[City], seed: int) -> float:
    """Insert the pages through the real triggers; returns the database size in MiB."""
    rng = random.Random(seed)
    live_ids = set(rng.sample(range(1, pages + 1), live))
    placed = rng.choices(cities, weights=[city.population for city in cities], k=pages)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA synchronous=OFF")
    # Slugs arrive in random order: keep the indexes being built in memory (about 300 MB).
    connection.execute("PRAGMA cache_size=-400000")
    rows = (
        (
            number,
            number,
            slug,
            display,
            f"{display} streams",
            city.label,
            city.latitude,
            city.longitude,
            int(number in live_ids),
            int(number in live_ids),  # on air: their video arrived
            f"live-{slug}-1" if number in live_ids else None,
            LIVE_SINCE if number in live_ids else None,
        )
        for number, (slug, display), city in zip(
            range(1, pages + 1), usernames(rng, pages), placed, strict=True
        )
    )
    connection.execute("BEGIN")
    connection.executemany(
        "INSERT INTO streams (id, owner_id, slug, owner_name, title, location_name, latitude,"
        " longitude, active, on_air, room_name, live_since, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '2026-01-01', '2026-01-01')",
        rows,
    )
    connection.execute("COMMIT")
    connection.execute("ANALYZE")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_count = connection.execute("PRAGMA page_count").fetchone()[0]
    page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    connection.close()
    return float(page_count * page_size) / 2**20


def queries(
    path: Path, cities: list[City], count: int, seed: int
) -> tuple[list[str], list[str], list[City]]:
    rng = random.Random(seed + 1)
    connection = sqlite3.connect(path)
    live_slugs = [row[0] for row in connection.execute("SELECT slug FROM streams WHERE on_air = 1")]
    connection.close()
    prefixes = [slug[: rng.randint(3, 6)] for slug in rng.sample(live_slugs, count)]
    typos = []
    for slug in rng.sample([slug for slug in live_slugs if len(slug) >= 7], count):
        word = list(slug[:7])
        i = rng.randint(4, 5)  # a swap in the second half (see core/search.py)
        word[i], word[i + 1] = word[i + 1], word[i]
        typos.append("".join(word))
    places = rng.choices(cities, weights=[city.population for city in cities], k=count)
    return prefixes, typos, places


async def timed(calls: list[Timer], warmup: int = 20) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per call.

    CPU time (all threads of this process, so aiosqlite's too) is what a query costs; on a
    shared 2-core machine the wall clock also holds the time other processes had the CPU.
    """
    for call in calls[:warmup]:
        await call()
    wall, cpu = [], []
    for call in calls:
        start, start_cpu = time.perf_counter(), time.process_time()
        await call()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu


def _p50_p99(millis: list[float]) -> tuple[float, float]:
    ordered = sorted(millis)
    return statistics.median(ordered), ordered[round(0.99 * (len(ordered) - 1))]


def summary(name: str, spent: tuple[list[float], list[float]]) -> dict[str, float]:
    (p50, p99), (cpu50, cpu99) = _p50_p99(spent[0]), _p50_p99(spent[1])
    print(
        f"  {name:<38} n={len(spent[0]):>5}  p50 {p50:7.3f} ms  p99 {p99:7.3f} ms"
        f"   (CPU p50 {cpu50:7.3f}  p99 {cpu99:7.3f})"
    )
    return {"p50": p50, "p99": p99}


SCAN_DISTANCE = (
    "2 * 6371.0088 * asin(sqrt(min(1.0, pow(sin((radians(latitude) - ?1) / 2), 2)"
    " + ?2 * cos(radians(latitude)) * pow(sin((radians(longitude) - ?3) / 2), 2))))"
)


async def scan_by_name(db: Database, prefix: str) -> None:
    where = (
        "FROM streams NOT INDEXED WHERE on_air = 1"
        " AND (lower(slug) LIKE ?1 || '%' OR lower(owner_name) LIKE ?1 || '%')"
    )
    await db.fetch_one(f"SELECT count(*) {where}", (prefix,))
    await db.fetch_all(f"SELECT * {where} ORDER BY lower(slug), id LIMIT 8", (prefix,))


async def scan_near(db: Database, city: City) -> None:
    import math

    phi = math.radians(city.latitude)
    await db.fetch_all(
        f"SELECT *, {SCAN_DISTANCE} AS distance FROM streams NOT INDEXED"  # noqa: S608
        " WHERE on_air = 1 AND latitude IS NOT NULL ORDER BY distance, id LIMIT 8",
        (phi, math.cos(phi), math.radians(city.longitude)),
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1_000_000)
    parser.add_argument("--live", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--scans", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--database", type=Path, help="keep the filled database here and reuse it next time"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="golive-search-bench-"))
    path = args.database or work / "golive.db"
    cities = await PlaceDirectory().all_cities()
    if not path.exists():
        async with Database.open(path):
            pass  # the schema, exactly as the service migrates it
        started = time.perf_counter()
        size_mb = fill(path, args.pages, args.live, cities, args.seed)
        filled = time.perf_counter() - started
        print(
            f"{args.pages:,} stream pages ({args.live:,} live) over {len(cities):,} cities:"
            f" filled in {filled:.1f} s, database {size_mb:.0f} MiB"
        )
    else:
        print(f"reusing {path} ({path.stat().st_size / 2**20:.0f} MiB)")
    prefixes, typos, places = queries(path, cities, args.queries, args.seed)

    results: dict[str, dict[str, float]] = {}
    async with Database.open(path) as db:
        search = SearchService(db)
        print("service layer (SearchService, page of 8, live only):")
        results["name"] = summary(
            "by_name, 3-6 letter prefix",
            await timed([lambda q=q: search.by_name(q) for q in prefixes]),
        )
        summary(
            "by_name, one typo (close spelling)",
            await timed([lambda q=q: search.by_name(q) for q in typos]),
        )
        results["near"] = summary(
            "near a city (population-weighted)",
            await timed([lambda c=c: search.near(c.latitude, c.longitude) for c in places]),
        )
        summary(
            "near, page 5",
            await timed(
                [lambda c=c: search.near(c.latitude, c.longitude, page=5) for c in places[:500]]
            ),
        )
        summary(
            "near, includeOffline (1M pages)",
            await timed(
                [
                    lambda c=c: search.near(c.latitude, c.longitude, include_offline=True)
                    for c in places[:500]
                ]
            ),
        )
        print("full-scan baseline (same questions, NOT INDEXED):")
        scans = args.scans
        results["scan_name"] = summary(
            "name prefix, full scan",
            await timed([lambda q=q: scan_by_name(db, q) for q in prefixes[:scans]], warmup=1),
        )
        results["scan_near"] = summary(
            "nearest, full scan",
            await timed([lambda c=c: scan_near(db, c) for c in places[:scans]], warmup=1),
        )

    port = free_port()
    settings = load_settings(
        {
            "GOLIVE_CONFIG": str(ROOT / "config.toml"),
            "GOLIVE_DATABASE": str(path),
            "LIVEKIT_URL": "http://127.0.0.1:9",  # never called by a search
            "LIVEKIT_API_KEY": "benchkey",
            "LIVEKIT_API_SECRET": "bench-secret-that-is-long-enough-for-hs256-0123456789",
            "GOLIVE_SECRET": "bench-golive-secret-0123456789-abcdefghijklmnop",
            "GOLIVE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        },
        dotenv_path=None,
    )
    async with open_services(settings) as services:
        runner = web.AppRunner(create_app(services), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        url = f"http://127.0.0.1:{port}/api/live/search"
        try:
            async with aiohttp.ClientSession() as client:

                async def post(body: dict[str, Any]) -> None:
                    async with client.post(url, json=body) as response:
                        assert response.status == 200, await response.text()
                        await response.read()

                print("HTTP (POST /api/live/search, client in the same process):")
                results["http_name"] = summary(
                    "slug prefix",
                    await timed([lambda q=q: post({"slug": q}) for q in prefixes[:1000]]),
                )
                results["http_near"] = summary(
                    "latitude/longitude",
                    await timed(
                        [
                            lambda c=c: post({"latitude": c.latitude, "longitude": c.longitude})
                            for c in places[:1000]
                        ]
                    ),
                )
        finally:
            await runner.cleanup()

    print(f"load average while measuring: {os.getloadavg()[0]:.1f} (2 cores)")
    print("full scan / index, p50:")
    for kind in ("name", "near"):
        ratio = results[f"scan_{kind}"]["p50"] / results[kind]["p50"]
        print(f"  {kind:<5} {ratio:8.0f}x")
    shutil.rmtree(work)


if __name__ == "__main__":
    asyncio.run(main())
