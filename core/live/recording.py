"""Recording streams with LiveKit egress, and the list of past streams (VODs) they make.

A stream is recorded when its streamer chose `/stream record on`, or when the operator records
every stream (`recording.record_all`). At go-live golive asks LiveKit for a room-composite
egress into one MP4 (a folder on the egress server, or an S3-compatible bucket); LiveKit's
egress webhooks (started / updated / ended) keep the `recordings` rows current, and an ended
one with a file is listed as a VOD. The room closing at the end of a stream ends its egress;
golive also stops it, so the file is finished without waiting for LiveKit to notice.

Failures are kept with LiveKit's reason and shown to the streamer (the go-live reply, /vods).

The owner or a moderator can delete a VOD (the page, `/vods delete`), and `recording.retention_days`
deletes old ones (the scheduler's expire-recordings job): the row goes, and so does the file where
golive can reach it (`recording.local_dir`); a moderator's deletion is in the audit log.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from livekit import api
from livekit.protocol.webhook import WebhookEvent

from core.config import RecordingSettings
from core.kernel.clock import Clock
from core.kernel.errors import Conflict, Forbidden, LiveKitUnavailable, NotFound
from core.kernel.events import EventBus
from core.kernel.i18n import N_
from core.kernel.timefmt import from_db, from_db_required, to_db
from core.live.thumbnails import is_snapshot_egress
from core.live.webhooks import AfterCommit
from core.livekit import LiveKitGateway
from core.moderation import record_action
from core.store import Database, Row, SyncTransaction, record
from core.streams import Stream, StreamEvent, StreamService, StreamSession

log = logging.getLogger(__name__)

NOT_CONFIGURED = N_(
    "Recording isn't set up on this server yet: an admin needs to choose where recordings go "
    "(`[recording] output` in config.toml) and run LiveKit's egress service; see “Recording” in "
    "golive's README."
)
EGRESS_REFUSED = (
    "The streaming server refused to start the recording ({code}). An admin needs LiveKit's "
    "egress service (livekit-egress, with Redis) running; see “Recording” in golive's README."
)

_STATUS = {
    api.EgressStatus.EGRESS_STARTING: "starting",
    api.EgressStatus.EGRESS_ACTIVE: "active",
    api.EgressStatus.EGRESS_ENDING: "ending",
    api.EgressStatus.EGRESS_COMPLETE: "complete",
    api.EgressStatus.EGRESS_FAILED: "failed",
    api.EgressStatus.EGRESS_ABORTED: "aborted",
    # Stopped at LiveKit's time limit: the file up to there is written.
    api.EgressStatus.EGRESS_LIMIT_REACHED: "complete",
}
_RUNNING = ("starting", "active")
_FINAL = ("complete", "failed", "aborted")

NO_SUCH_VOD = N_("That recording does not exist (it may have been deleted).")
NOT_YOURS = N_("Only the streamer and moderators can delete a recording.")
# How long after go-live a recording LiveKit did not answer for is tried again (through the
# outbox's backoff: attempts at 0, 2, 6, 14, 30, 62, 126 s), before the streamer is told: within
# the outbox's MAX_ATTEMPTS, whose last attempt (254 s) is past it and so tells them.
KEEP_TRYING = timedelta(minutes=3)
# How many old recordings one round of the retention job deletes (the next round goes on).
EXPIRE_BATCH = 200


@dataclass(frozen=True)
class Recording:
    id: int
    session_id: int
    stream_id: int
    status: str
    started_at: datetime  # when the stream session started
    duration_seconds: int | None
    link: str | None
    size_bytes: int | None
    error: str | None
    owner_id: int
    filename: str | None
    # When the file's first frame was recorded (LiveKit's egress says; else when golive asked).
    media_started_at: datetime

    def offset_ms(self, moment: datetime) -> int:
        """Where in the recording `moment` falls (0 for anything before it started)."""
        return max(0, int((moment - self.media_started_at).total_seconds() * 1000))


@dataclass(frozen=True)
class DeletedVod:
    """What deleting a recording did."""

    recording: Recording
    file_removed: bool  # False: golive can't reach the file (an S3 bucket, another machine)


@dataclass(frozen=True)
class RecordChange:
    """What `/stream record on|off` did."""

    enabled: bool
    recording_now: bool  # a recording of the live stream runs (started now or before)
    stopped_now: bool
    problem: str | None  # why the live stream could not be recorded now


@dataclass(frozen=True)
class RecordingRefused:
    """A session that should be recorded is not: LiveKit's egress refused or is missing."""

    owner_id: int
    problem: str


class RecordingService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        livekit: LiveKitGateway,
        streams: StreamService,
        config: RecordingSettings,
        events: EventBus | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._livekit = livekit
        self._streams = streams
        self.config = config
        # Told when a go-live's recording could not start (the bot tells the streamer).
        self._events = events or EventBus()

    # -- the streamer's choice -----------------------------------------------------------------

    async def wants_recording(self, stream_id: int) -> bool:
        if self.config.record_all:
            return True
        row = await self._db.fetch_one(
            "SELECT enabled FROM recording_settings WHERE stream_id = ?", (stream_id,)
        )
        return bool(row and row["enabled"])

    async def set_enabled(self, owner_id: int, enabled: bool) -> RecordChange:
        """Turn recording of the member's streams on or off; a live stream follows at once."""
        stream = await self._streams.get_by_owner(owner_id)
        if enabled and self.config.problem is not None:
            log.info("recording asked for but not configured: %s", self.config.problem)
            raise Conflict(NOT_CONFIGURED)
        if not enabled and self.config.record_all:
            raise Conflict(
                "This server records every stream (an admin's setting), so recording can't be "
                "turned off for yours."
            )
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO recording_settings (stream_id, enabled, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (stream_id) DO UPDATE SET enabled = excluded.enabled,"
                " updated_at = excluded.updated_at",
                (stream.id, int(enabled), to_db(self._clock.now())),
            )
        session = await self._streams.current_session(stream.id) if stream.active else None
        if session is None:
            return RecordChange(enabled, recording_now=False, stopped_now=False, problem=None)
        if not enabled:
            stopped = await self._stop_session(session.id)
            return RecordChange(False, recording_now=False, stopped_now=stopped, problem=None)
        if await self._running(session.id):
            return RecordChange(True, recording_now=True, stopped_now=False, problem=None)
        problem = await self._start(stream, session)
        return RecordChange(True, recording_now=problem is None, stopped_now=False, problem=problem)

    # -- reading -------------------------------------------------------------------------------

    async def list_vods(self, stream_id: int, limit: int = 10) -> list[Recording]:
        """Finished recordings with a file, newest first."""
        rows = await self._db.fetch_all(
            f"{_SELECT} WHERE r.stream_id = ? AND r.status = 'complete'"
            " ORDER BY s.started_at DESC, r.id DESC LIMIT ?",
            (stream_id, limit),
        )
        return [self._recording(row) for row in rows]

    async def get_vod(self, recording_id: int, stream_id: int | None = None) -> Recording:
        """A finished recording (of that stream, when given); NotFound otherwise."""
        row = await self._db.fetch_one(
            f"{_SELECT} WHERE r.id = ? AND r.status = 'complete'", (recording_id,)
        )
        if row is None or (stream_id is not None and row["stream_id"] != stream_id):
            raise NotFound(NO_SUCH_VOD)
        return self._recording(row)

    def local_file(self, vod: Recording) -> Path | None:
        """The file golive itself can serve and delete, when `recording.local_dir` reaches it."""
        return self.config.local_file(vod.filename)

    async def failures(self, stream_id: int, limit: int = 3) -> list[Recording]:
        """The latest recordings that failed, newest first (shown to the streamer only)."""
        rows = await self._db.fetch_all(
            f"{_SELECT} WHERE r.stream_id = ? AND r.status IN ('failed', 'aborted')"
            " ORDER BY r.requested_at DESC, r.id DESC LIMIT ?",
            (stream_id, limit),
        )
        return [self._recording(row) for row in rows]

    async def session_problem(self, session_id: int) -> str | None:
        """Why this session is not being recorded although it should be; None if fine."""
        row = await self._db.fetch_one(
            "SELECT status, error FROM recordings WHERE session_id = ? ORDER BY id DESC LIMIT 1",
            (session_id,),
        )
        if row is None or row["status"] not in ("failed", "aborted"):
            return None
        return str(row["error"] or "The recording failed.")

    # -- deleting ------------------------------------------------------------------------------

    async def delete_vod(
        self,
        recording_id: int,
        *,
        by_user_id: int,
        as_moderator: bool,
        stream_id: int | None = None,
    ) -> DeletedVod:
        """Delete a finished recording: its row, and its file where golive reaches it.

        The stream's owner may delete their own; a moderator (`as_moderator`, judged by the
        caller's front) anyone's, which goes into the audit log.
        """
        vod = await self.get_vod(recording_id, stream_id)
        if by_user_id != vod.owner_id and not as_moderator:
            raise Forbidden(NOT_YOURS)
        async with self._db.transaction() as tx:
            deleted = await tx.execute(
                "DELETE FROM recordings WHERE id = ? AND status = 'complete'", (vod.id,)
            )
            if not deleted:
                raise NotFound(NO_SUCH_VOD)  # someone else was quicker
            if by_user_id != vod.owner_id:
                await record_action(
                    tx,
                    self._clock.now(),
                    moderator_id=by_user_id,
                    action="delete_recording",
                    target_id=vod.owner_id,
                    stream_id=vod.stream_id,
                    details=f"recording #{vod.id} of {vod.started_at:%Y-%m-%d %H:%M} UTC",
                )
        removed = await self._remove_file(vod)
        log.info("recording %s deleted by %s (file removed: %s)", vod.id, by_user_id, removed)
        return DeletedVod(vod, removed)

    async def expire_old(self) -> int:
        """Delete recordings (rows and files) whose stream started more than
        `recording.retention_days` ago; 0 days keeps them for ever. Returns how many went."""
        if self.config.retention_days <= 0:
            return 0
        cutoff = self._clock.now() - timedelta(days=self.config.retention_days)
        rows = await self._db.fetch_all(
            f"{_SELECT} WHERE s.started_at < ? AND r.status IN ('complete', 'failed', 'aborted')"
            " ORDER BY r.id LIMIT ?",
            (to_db(cutoff), EXPIRE_BATCH),
        )
        expired = 0
        for row in rows:
            vod = self._recording(row)
            async with self._db.transaction() as tx:
                # Conditional: another process running the same job deletes each row once.
                if not await tx.execute("DELETE FROM recordings WHERE id = ?", (vod.id,)):
                    continue
            expired += 1
            if vod.status == "complete":
                await self._remove_file(vod)
        if expired:
            log.info(
                "deleted %s recordings older than %s days", expired, self.config.retention_days
            )
        return expired

    async def _remove_file(self, vod: Recording) -> bool:
        path = self.local_file(vod)
        if path is None:
            return False
        try:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        except OSError as error:
            # The row is gone already: the listing is right, the disk keeps an orphan to clear.
            log.warning("could not delete the file of recording %s: %s", vod.id, error)
            return False
        return True

    # -- starting and stopping -----------------------------------------------------------------

    async def follow_stream(self, event: StreamEvent) -> None:
        """Durable (the outbox delivers it at least once): a redelivery starts no second egress,
        and LiveKit not answering raises, so the outbox tries again."""
        if event.kind == "live":
            if await self.wants_recording(event.stream.id):
                problem = await self._start_for_session(event.stream, event.session)
                if problem is not None:
                    # Recorded with the failed recording's row; published after its commit.
                    await self._events.publish(RecordingRefused(event.stream.owner_id, problem))
        elif event.kind == "ended":
            await self._stop_session(event.session.id, retry=True)

    async def _start_for_session(self, stream: Stream, session: StreamSession) -> str | None:
        """The go-live recording, once per session: claimed by a 'starting' row first."""
        if not await self._claim_session(stream.id, session.id):
            return None  # recorded (or refused) already, or the session is over
        now = self._clock.now()
        if self.config.problem is not None:
            log.warning("stream %s not recorded: %s", stream.slug, self.config.problem)
            await self._settle_claim_failed(stream, session.id, NOT_CONFIGURED)
            return NOT_CONFIGURED
        try:
            info = await self._start_egress(stream, session)
        except LiveKitUnavailable as error:
            if not error.refused and now < session.started_at + KEEP_TRYING:
                # LiveKit did not answer: the outbox tries again (with backoff) before the
                # streamer is told; a refusal is final at once.
                await self._release_claim(session.id)
                raise
            problem = _problem_of(error)
            await self._settle_claim_failed(stream, session.id, problem)
            return problem
        await self._settle_claim(session.id, info.egress_id, _STATUS.get(info.status, "starting"))
        log.info("recording stream %s (egress %s)", stream.slug, info.egress_id)
        return None

    async def _claim_session(self, stream_id: int, session_id: int) -> bool:
        """True when this delivery should start the session's recording: no row says it was
        started or refused. A claim left by a run that died before LiveKit answered is taken
        over (an egress LiveKit did start then has its own row by now: its webhook adopts it)."""
        async with self._db.transaction() as tx:
            if not await tx.fetch_one(
                "SELECT 1 FROM stream_sessions WHERE id = ? AND ended_at IS NULL", (session_id,)
            ):
                await tx.execute(_DELETE_CLAIM, (session_id,))
                return False
            settled = await tx.fetch_one(
                "SELECT 1 FROM recordings WHERE session_id = ?"
                " AND (egress_id IS NOT NULL OR status <> 'starting')",
                (session_id,),
            )
            if settled is not None:
                await tx.execute(_DELETE_CLAIM, (session_id,))
                return False
            claim = await tx.fetch_one(
                "SELECT 1 FROM recordings WHERE session_id = ? AND egress_id IS NULL",
                (session_id,),
            )
            if claim is None:
                await tx.execute(
                    "INSERT INTO recordings (session_id, stream_id, egress_id, status,"
                    " requested_at) VALUES (?, ?, NULL, 'starting', ?)",
                    (session_id, stream_id, to_db(self._clock.now())),
                )
        return True

    async def _release_claim(self, session_id: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(_DELETE_CLAIM, (session_id,))

    async def _settle_claim(self, session_id: int, egress_id: str, status: str) -> None:
        async with self._db.transaction() as tx:
            adopted = await tx.fetch_one(
                "SELECT 1 FROM recordings WHERE egress_id = ?", (egress_id,)
            )
            if adopted is not None:
                # egress_started came first and made the egress's row: the claim goes.
                await tx.execute(_DELETE_CLAIM, (session_id,))
                return
            await tx.execute(
                "UPDATE recordings SET egress_id = ?, status = ?"
                " WHERE session_id = ? AND egress_id IS NULL AND status = 'starting'",
                (egress_id, status, session_id),
            )

    async def _settle_claim_failed(self, stream: Stream, session_id: int, problem: str) -> None:
        now = self._clock.now()
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE recordings SET status = 'failed', error = ?, ended_at = ?"
                " WHERE session_id = ? AND egress_id IS NULL AND status = 'starting'",
                (problem, to_db(now), session_id),
            )
            # The owner's DM, delivered by the bot, once: a redelivery finds this row.
            await record(tx, RecordingRefused(stream.owner_id, problem), at=now)

    async def _start(self, stream: Stream, session: StreamSession) -> str | None:
        """Start recording a live session now (`/stream record on`); returns why it could not
        (also kept as a failed row; the command's answer tells the streamer, no DM)."""
        now = to_db(self._clock.now())
        if self.config.problem is not None:
            log.warning("stream %s not recorded: %s", stream.slug, self.config.problem)
            await self._insert(stream.id, session.id, None, "failed", NOT_CONFIGURED, now)
            return NOT_CONFIGURED
        try:
            info = await self._start_egress(stream, session)
        except LiveKitUnavailable as error:
            problem = _problem_of(error)
            await self._insert(stream.id, session.id, None, "failed", problem, now)
            return problem
        status = _STATUS.get(info.status, "starting")
        await self._insert(stream.id, session.id, info.egress_id, status, None, now)
        log.info("recording stream %s (egress %s)", stream.slug, info.egress_id)
        return None

    async def _start_egress(self, stream: Stream, session: StreamSession) -> api.EgressInfo:
        """Ask LiveKit to record the session's room (LiveKitUnavailable when it can't)."""
        output = file_output(self.config, stream.slug, session.room_name)
        return await self._livekit.start_room_recording(session.room_name, output)

    async def _insert(
        self,
        stream_id: int,
        session_id: int,
        egress_id: str | None,
        status: str,
        error: str | None,
        now: str,
    ) -> None:
        async with self._db.transaction() as tx:
            # The egress_started webhook may have made the row already.
            await tx.execute(
                "INSERT INTO recordings (session_id, stream_id, egress_id, status, error,"
                " requested_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (egress_id) DO NOTHING",
                (
                    session_id,
                    stream_id,
                    egress_id,
                    status,
                    error,
                    now,
                    now if status in _FINAL else None,
                ),
            )

    async def _running(self, session_id: int) -> list[str]:
        rows = await self._db.fetch_all(
            "SELECT egress_id FROM recordings WHERE session_id = ? AND egress_id IS NOT NULL"
            " AND status IN ('starting', 'active')",
            (session_id,),
        )
        return [row["egress_id"] for row in rows]

    async def _stop_session(self, session_id: int, *, retry: bool = False) -> bool:
        """Stop the session's running egresses (again is harmless: a stopped one is 'ending'
        and not asked twice). `retry`: LiveKit not answering raises once the others are asked,
        so the outbox tries again."""
        stopped = False
        unanswered: LiveKitUnavailable | None = None
        for egress_id in await self._running(session_id):
            try:
                stopped = await self._livekit.stop_egress(egress_id) or stopped
            except LiveKitUnavailable as error:
                # Closing the room ends the egress anyway; its webhook settles the row.
                log.warning("could not stop egress %s", egress_id)
                if not error.refused:
                    unanswered = error
                continue
            async with self._db.transaction() as tx:
                await tx.execute(
                    "UPDATE recordings SET status = 'ending' WHERE egress_id = ?"
                    " AND status IN ('starting', 'active')",
                    (egress_id,),
                )
        if retry and unanswered is not None:
            raise unanswered
        return stopped

    # -- webhooks (on the database thread, inside the event's transaction) ----------------------

    def apply_egress(
        self, tx: SyncTransaction, event: WebhookEvent, now: datetime
    ) -> AfterCommit | None:
        info = event.egress_info
        if not info.egress_id:
            return None
        status = _STATUS.get(info.status, "starting")
        updated = info.updated_at or event.created_at * 1_000_000_000
        row = tx.fetch_one(
            "SELECT id, updated_ns, status FROM recordings WHERE egress_id = ?", (info.egress_id,)
        )
        if row is None and not _adopt(tx, info, status, now):
            return None  # not a recording of one of our sessions
        if row is not None and (updated < row["updated_ns"] or row["status"] in _FINAL):
            return None  # older news, or already settled
        file = info.file_results[0] if info.file_results else info.file
        duration = _seconds(file.duration) or _seconds(file.ended_at - file.started_at)
        media_start = _moment(file.started_at or info.started_at)
        tx.execute(
            "UPDATE recordings SET status = ?, filename = COALESCE(?, filename),"
            " location = COALESCE(?, location), size_bytes = COALESCE(?, size_bytes),"
            " duration_seconds = COALESCE(?, duration_seconds),"
            " media_started_at = COALESCE(?, media_started_at), error = ?,"
            " ended_at = ?, updated_ns = ? WHERE egress_id = ?",
            (
                status,
                file.filename or None,
                file.location or None,
                file.size or None,
                duration,
                media_start,
                info.error or None,
                to_db(now) if status in _FINAL else None,
                updated,
                info.egress_id,
            ),
        )
        if status == "complete":
            log.info("recording %s finished (%s s)", info.egress_id, duration)
        elif status in ("failed", "aborted"):
            log.warning("recording %s %s: %s", info.egress_id, status, info.error)
        return None

    def _recording(self, row: Row) -> Recording:
        started = from_db_required(row["started_at"])
        media_start = from_db(row["media_started_at"]) or from_db_required(row["requested_at"])
        return Recording(
            id=row["id"],
            session_id=row["session_id"],
            stream_id=row["stream_id"],
            status=row["status"],
            started_at=started,
            duration_seconds=row["duration_seconds"],
            link=self.config.link(row["filename"], row["location"]),
            size_bytes=row["size_bytes"],
            error=row["error"],
            owner_id=row["owner_id"],
            filename=row["filename"],
            media_started_at=media_start,
        )


def _problem_of(error: LiveKitUnavailable) -> str:
    """Why LiveKit did not start a recording, as the streamer is told."""
    return EGRESS_REFUSED.format(code=error.code) if error.refused else error.message


# A go-live's claim on its session's recording: no egress yet (see `_claim_session`).
_DELETE_CLAIM = (
    "DELETE FROM recordings WHERE session_id = ? AND egress_id IS NULL AND status = 'starting'"
)

# A recording with its session's start and its stream's owner.
_SELECT = (
    "SELECT r.*, s.started_at, st.owner_id FROM recordings r"
    " JOIN stream_sessions s ON s.id = r.session_id JOIN streams st ON st.id = r.stream_id"
)


def _adopt(tx: SyncTransaction, info: api.EgressInfo, status: str, now: datetime) -> bool:
    """A webhook about an egress golive has no row for yet: add it if it records our room."""
    session: Row | None = tx.fetch_one(
        "SELECT id, stream_id FROM stream_sessions WHERE room_name = ?", (info.room_name,)
    )
    if session is None or not info.room_name or is_snapshot_egress(info):
        return False  # not our room, or our thumbnails (core/live/thumbnails.py)
    tx.execute(
        "INSERT INTO recordings (session_id, stream_id, egress_id, status, requested_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (egress_id) DO NOTHING",
        (session["id"], session["stream_id"], info.egress_id, status, to_db(now)),
    )
    return True


def _seconds(nanoseconds: int) -> int | None:
    return nanoseconds // 1_000_000_000 if nanoseconds > 0 else None


def _moment(unix_nanoseconds: int) -> str | None:
    if unix_nanoseconds <= 0:
        return None
    return to_db(datetime.fromtimestamp(unix_nanoseconds / 1_000_000_000, UTC))


def file_output(config: RecordingSettings, slug: str, room_name: str) -> api.EncodedFileOutput:
    """The MP4 LiveKit's egress writes for one stream session, on its disk or into the bucket."""
    output = api.EncodedFileOutput(
        file_type=api.EncodedFileType.MP4, filepath=config.filepath(slug, room_name)
    )
    if config.output == "s3":
        output.s3.CopyFrom(
            api.S3Upload(
                bucket=config.s3_bucket or "",
                region=config.s3_region or "",
                endpoint=config.s3_endpoint or "",
                access_key=config.s3_access_key or "",
                secret=config.s3_secret or "",
                force_path_style=config.s3_force_path_style,
            )
        )
    return output
