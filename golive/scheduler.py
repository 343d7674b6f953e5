"""Every periodic job of golive, and the one loop that runs them.

| job               | every                     | runs in (one process of those, by lease) | does |
|-------------------|---------------------------|------------------------------------------|------|
| reconcile         | `live.reconcile_interval` | `run`, `bot`, `web`                      | viewer counts and live states from LiveKit, auto-end past the grace, forget old webhook ids |
| renew-passes      | 30 min                    | `run`, `bot`, `web` (pass mode)          | renews streaming passes that ran out from the member's balance (keyed per period: never twice) |
| media-wait        | 5 s                       | `run`, `bot`, `web` (media wait > 0)     | sessions with no video after the wait go on air anyway (claimed once) |
| expire-recordings | 1 h                       | `run`, `bot`, `web` (retention > 0)      | deletes recordings (row, and file under `recording.local_dir`) older than the retention |
| forget-limits     | 10 min                    | `run`, `bot`, `web`                      | deletes shared rate-limit rows back to their full burst |
| prune-outbox      | 1 h                       | `run`, `bot`, `web`                      | forgets outbox events and effect claims older than a day (core/store/outbox.py) |
| viewer-counts     | `live.reconcile_interval` | `run`, `bot`: one per shard scope        | edits live announcements of this process's guilds with the viewer count |
| catch-up          | `live.reconcile_interval` | `run`, `bot`: one per shard scope        | retries announcements, follower DMs and live roles that failed |
| remind-passes     | 30 min                    | `run`, `bot`                             | DMs members a day before their pass renews (claimed once) |
| livekit-watch     | `live.reconcile_interval` | every serving process (no lease)         | while LiveKit is down, asks it again and says once when it is back |

A job with a lease (all but livekit-watch, which is about this process's own view of LiveKit)
runs in one process of the cluster at a time: every process that has the job takes its turns,
and at each turn asks for the job's lease (core/cluster/leases.py, a row in scheduler_leases);
only the holder runs it. So with three processes up a job runs once per period, and when its
holder dies its lease runs out (after `LEASE_TURNS` periods, at most a minute: the holder renews
long jobs' leases on a heartbeat) and the next process whose turn comes takes it. Discord jobs name their shard scope in the lease, so they compete only among bot
processes of the same shards. Underneath, each job still claims its work in the database (keys,
claims, conditional updates), so even two holders (a clock jump) would not repeat an effect.
A job that fails is logged and runs again at its next turn.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from core.cluster import HEARTBEAT, Leases, forget_spent
from core.kernel.errors import StorageUnavailable
from core.services import Services

if TYPE_CHECKING:
    from bot.app import GoLiveBot
    from golive.livekit_watch import LiveKitWatch

log = logging.getLogger(__name__)

PASS_ROUND = timedelta(minutes=30)
RETENTION_ROUND = timedelta(hours=1)
# How often the media-wait fallback looks: a stream goes on air between the wait and 5 s later.
MEDIA_WAIT_TICK = timedelta(seconds=5)
LIMITS_ROUND = timedelta(minutes=10)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[], Awaitable[Any]]
    # The lease that makes it run in one process of the cluster (scheduler_leases.job); None:
    # every process that has the job runs it.
    lease: str | None = ""

    @property
    def lease_name(self) -> str | None:
        return self.name if self.lease == "" else self.lease


def core_jobs(services: Services) -> list[Job]:
    tick = services.settings.live.reconcile_interval
    jobs = [Job("reconcile", tick, services.live.reconcile_once)]
    if services.passes.policy.mode == "pass":
        jobs.append(Job("renew-passes", PASS_ROUND, services.passes.renew_due))
    if services.recording.config.retention_days > 0:
        jobs.append(Job("expire-recordings", RETENTION_ROUND, services.recording.expire_old))
    if services.streams.media_wait > timedelta(0):
        jobs.append(Job("media-wait", MEDIA_WAIT_TICK, services.streams.start_overdue_media))
    jobs.append(
        Job("forget-limits", LIMITS_ROUND, lambda: forget_spent(services.db, services.clock))
    )
    jobs.append(Job("prune-outbox", RETENTION_ROUND, services.outbox.prune))
    return jobs


def watch_jobs(services: Services, watch: LiveKitWatch) -> list[Job]:
    # Each process watches its own view of LiveKit and holds back its own log lines: no lease.
    return [
        Job("livekit-watch", services.settings.live.reconcile_interval, watch.check, lease=None)
    ]


def discord_jobs(bot: GoLiveBot) -> list[Job]:
    """The bot's jobs. Their leases carry the shard scope: bot processes of other shards run
    their own (each for its guilds), replicas of the same shards compete."""
    tick = bot.services.settings.live.reconcile_interval
    scope = bot.services.settings.discord.shard_scope
    jobs = [
        Job("viewer-counts", tick, bot.live_alerts.show_viewer_counts),
        Job("catch-up", tick, bot.live_alerts.catch_up),
        Job("remind-passes", PASS_ROUND, bot.money_notices.remind_renewals),
    ]
    if scope:
        # Pass reminders are DMs, not a guild's: one bot process of the cluster sends them.
        jobs[:2] = [dataclasses.replace(job, lease=f"{job.name} {scope}") for job in jobs[:2]]
    return jobs


@asynccontextmanager
async def running(jobs: list[Job], leases: Leases | None = None) -> AsyncIterator[None]:
    """Run each job every `job.every` (first turn after one interval) until the block exits.

    With `leases`, a job with a lease runs at a turn only if this process holds it (taken or
    renewed at that turn, and renewed every HEARTBEAT in between); leaving the block gives the
    leases back. Without, every job runs here.
    """
    held: dict[str, timedelta] = {}  # the leases this process holds: lease name -> job period
    tasks = [asyncio.create_task(_every(job, leases, held), name=f"job {job.name}") for job in jobs]
    if leases is not None:
        tasks.append(asyncio.create_task(_heartbeat(leases, held), name="lease heartbeat"))
    log.debug("scheduler: %s", ", ".join(f"{job.name} every {job.every}" for job in jobs))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if leases is not None:
            await _give_back(leases)


async def run_once(jobs: list[Job]) -> None:
    """Each job once, in order (start-up repairs; tests)."""
    for job in jobs:
        await _run(job)


async def _every(job: Job, leases: Leases | None, held: dict[str, timedelta]) -> None:
    interval = job.every.total_seconds()
    lease = job.lease_name if leases is not None else None
    while True:
        await asyncio.sleep(interval)
        if leases is not None and lease is not None:
            was_held, holds = lease in held, await _hold(leases, lease, job)
            if holds:
                held[lease] = job.every
            else:
                held.pop(lease, None)
            if holds != was_held:
                log.info(
                    "job %s %s", job.name, "runs in this process now" if holds else "runs elsewhere"
                )
            if not holds:
                continue
        await _run(job)
        if leases is not None and lease is not None and lease in held:
            # Renewed after the run too: a long run must not let the lease run out under it.
            await _hold(leases, lease, job)


async def _heartbeat(leases: Leases, held: dict[str, timedelta]) -> None:
    """Keeps the leases held between the turns of long-period jobs (a lease lasts at most
    LONGEST_LEASE), so a holder that dies hands them over within about a minute."""
    while True:
        await asyncio.sleep(HEARTBEAT.total_seconds())
        if not held:
            continue
        try:
            lost = await leases.renew(dict(held))
        except StorageUnavailable:
            log.warning("the scheduler's leases could not be renewed now; they last a minute")
            continue
        for lease in lost:
            held.pop(lease, None)
            log.info("the lease of %s ran out; another process runs it now", lease)


async def _hold(leases: Leases, lease: str, job: Job) -> bool:
    try:
        return await leases.hold(lease, job.every)
    except StorageUnavailable:
        # Not known to hold it: skip the turn (if this process does hold it, its next turn renews).
        log.warning("job %s: the database is busy; this turn is skipped", job.name)
        return False


async def _give_back(leases: Leases) -> None:
    try:
        await leases.release_all()
    except StorageUnavailable:
        log.warning("the scheduler's leases could not be given back; they run out by themselves")


async def _run(job: Job) -> None:
    log.debug("job %s runs", job.name)
    try:
        await job.run()
    except StorageUnavailable:
        # Passes by itself (a held lock, a disk being freed): no traceback for every tick.
        log.warning(
            "job %s could not write to the database; it runs again in %s", job.name, job.every
        )
    except Exception:
        log.exception("job %s failed; it runs again in %s", job.name, job.every)
