"""Every periodic job of golive, and the one loop that runs them.

| job                 | every                  | runs in                         | does                                                                     |
|---------------------|------------------------|---------------------------------|--------------------------------------------------------------------------|
| reconcile           | `live.reconcile_interval` | every process (`run`, `web`) | viewer counts and live states from LiveKit, auto-end past the grace, forget old webhook ids |
| renew-passes        | 30 min                 | every process (`run`, `web`)    | renews streaming passes that ran out from the member's balance (keyed per period: never twice) |
| media-wait          | 5 s                    | every process, when `streams.media_wait_seconds` > 0 | sessions with no video after the wait go on air anyway (claimed once) |
| viewer-counts       | `live.reconcile_interval` | the bot's process (`run`)    | edits live announcements with the viewer count                           |
| catch-up            | `live.reconcile_interval` | the bot's process (`run`)    | retries announcements, follower DMs and live roles that failed           |
| remind-passes       | 30 min                 | the bot's process (`run`)       | DMs members a day before their pass renews (claimed once)                |
| livekit-watch       | `live.reconcile_interval` | every serving process        | while LiveKit is down, asks it again and says once when it is back       |
| expire-recordings   | 1 h (with `recording.retention_days` > 0) | every process (`run`, `web`) | deletes recordings (row, and file under `recording.local_dir`) older than the retention |
| prune-outbox        | 1 h                    | every process (`run`, `web`)    | forgets outbox events and effect claims older than a day (core/store/outbox.py) |

Jobs are safe to run in several processes at once: each claims its work in the database (keys,
claims, conditional updates). A job that fails is logged and runs again at its next turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

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


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[], Awaitable[Any]]


def core_jobs(services: Services) -> list[Job]:
    tick = services.settings.live.reconcile_interval
    jobs = [Job("reconcile", tick, services.live.reconcile_once)]
    if services.passes.policy.mode == "pass":
        jobs.append(Job("renew-passes", PASS_ROUND, services.passes.renew_due))
    if services.recording.config.retention_days > 0:
        jobs.append(Job("expire-recordings", RETENTION_ROUND, services.recording.expire_old))
    if services.streams.media_wait > timedelta(0):
        jobs.append(Job("media-wait", MEDIA_WAIT_TICK, services.streams.start_overdue_media))
    jobs.append(Job("prune-outbox", RETENTION_ROUND, services.outbox.prune))
    return jobs


def watch_jobs(services: Services, watch: LiveKitWatch) -> list[Job]:
    return [Job("livekit-watch", services.settings.live.reconcile_interval, watch.check)]


def discord_jobs(bot: GoLiveBot) -> list[Job]:
    tick = bot.services.settings.live.reconcile_interval
    return [
        Job("viewer-counts", tick, bot.live_alerts.show_viewer_counts),
        Job("catch-up", tick, bot.live_alerts.catch_up),
        Job("remind-passes", PASS_ROUND, bot.money_notices.remind_renewals),
    ]


@asynccontextmanager
async def running(jobs: list[Job]) -> AsyncIterator[None]:
    """Run each job every `job.every` (first run after one interval) until the block exits."""
    tasks = [asyncio.create_task(_every(job), name=f"job {job.name}") for job in jobs]
    log.debug("scheduler: %s", ", ".join(f"{job.name} every {job.every}" for job in jobs))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_once(jobs: list[Job]) -> None:
    """Each job once, in order (start-up repairs; tests)."""
    for job in jobs:
        await _run(job)


async def _every(job: Job) -> None:
    interval = job.every.total_seconds()
    while True:
        await asyncio.sleep(interval)
        await _run(job)


async def _run(job: Job) -> None:
    try:
        await job.run()
    except StorageUnavailable:
        # Passes by itself (a held lock, a disk being freed): no traceback for every tick.
        log.warning(
            "job %s could not write to the database; it runs again in %s", job.name, job.every
        )
    except Exception:
        log.exception("job %s failed; it runs again in %s", job.name, job.every)
