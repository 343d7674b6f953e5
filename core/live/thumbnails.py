"""Thumbnails of live streams: a LiveKit egress with an image output for each on-air session.

When a session goes on air (`StreamMediaStarted`: its first video arrived) golive asks LiveKit
for a room-composite egress whose only output is a JPEG every `thumbnails.interval`, written over
itself (`IMAGE_SUFFIX_NONE_OVERWRITE`): LiveKit's egress writes `<directory>/<room>.jpeg`. The
egress service and golive share that folder (one volume, mounted at the same absolute path in
both), and golive serves the newest snapshot at `/live/<slug>/thumbnail.jpg`. When the stream
ends the egress is stopped and the file removed.

Thumbnails are a nicety: LiveKit refusing is logged and kept on the row (LiveKit not answering
is tried again by the outbox), and the stream goes on; the pages show their gradient instead. A
room-composite egress (a browser on the egress server) follows whatever the room shows, camera or
screen, without knowing track ids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from livekit import api
from livekit.protocol.webhook import WebhookEvent

from core.config import ThumbnailSettings
from core.kernel.clock import Clock
from core.kernel.errors import LiveKitUnavailable
from core.kernel.timefmt import to_db
from core.live.webhooks import AfterCommit
from core.livekit import LiveKitGateway
from core.store import Database, SyncTransaction
from core.streams import Stream, StreamEvent, StreamSession

log = logging.getLogger(__name__)

# 16:9, the cards' shape; small enough for a grid of 48 and for link previews.
SNAPSHOT_WIDTH = 640
SNAPSHOT_HEIGHT = 360
# What LiveKit's egress appends to the prefix for a JPEG it overwrites in place.
SNAPSHOT_SUFFIX = ".jpeg"

_STATUS = {
    api.EgressStatus.EGRESS_STARTING: "starting",
    api.EgressStatus.EGRESS_ACTIVE: "active",
    api.EgressStatus.EGRESS_ENDING: "ending",
    api.EgressStatus.EGRESS_COMPLETE: "complete",
    api.EgressStatus.EGRESS_FAILED: "failed",
    api.EgressStatus.EGRESS_ABORTED: "aborted",
    api.EgressStatus.EGRESS_LIMIT_REACHED: "complete",
}
_FINAL = ("complete", "failed", "aborted")


@dataclass(frozen=True)
class Snapshot:
    """The newest thumbnail of a stream on air."""

    path: Path
    version: int  # changes with every new snapshot (the file's mtime in ns): for cache busting


def is_snapshot_egress(info: api.EgressInfo) -> bool:
    """An egress that writes images only: a thumbnail egress, never a recording."""
    if info.file_results or info.segment_results or info.stream_results:
        return False
    request = info.room_composite
    if request.file_outputs or request.segment_outputs or request.stream_outputs:
        return False
    if request.WhichOneof("output") is not None:
        return False
    return bool(request.image_outputs or info.image_results)


class ThumbnailService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        livekit: LiveKitGateway,
        config: ThumbnailSettings,
    ) -> None:
        self._db = db
        self._clock = clock
        self._livekit = livekit
        self.config = config

    # -- reading -------------------------------------------------------------------------------

    def snapshot(self, stream: Stream) -> Snapshot | None:
        """The stream's newest thumbnail, or None (not on air, thumbnails off, none written yet).

        A stat of one file: cheap enough for every card of the grid.
        """
        path = self._file_of(stream.room_name) if stream.on_air else None
        if path is None:
            return None
        try:
            found = path.stat()
        except OSError:
            return None
        # An empty file is one the egress is still writing (or failed to).
        return Snapshot(path, found.st_mtime_ns) if found.st_size > 0 else None

    def _file_of(self, room_name: str | None) -> Path | None:
        directory = self.config.directory
        if directory is None or not room_name or "/" in room_name or room_name.startswith("."):
            return None
        return directory / f"{room_name}{SNAPSHOT_SUFFIX}"

    # -- starting and stopping (event table: StreamMediaStarted, StreamEnded) --------------------

    async def follow_stream(self, event: StreamEvent) -> None:
        """Durable (the outbox delivers it at least once): the session's row claims its egress,
        so a redelivery starts none more; LiveKit not answering raises, so the outbox tries
        again."""
        if event.kind == "on_air":
            await self._start(event.stream, event.session)
        elif event.kind == "ended":
            await self._stop(event.session)

    async def _start(self, stream: Stream, session: StreamSession) -> None:
        directory = self.config.directory
        if directory is None or not await self._claim(stream.id, session.id):
            return
        output = api.ImageOutput(
            capture_interval=int(self.config.interval.total_seconds()),
            width=SNAPSHOT_WIDTH,
            height=SNAPSHOT_HEIGHT,
            filename_prefix=str(directory / session.room_name),
            filename_suffix=api.ImageFileSuffix.IMAGE_SUFFIX_NONE_OVERWRITE,
            disable_manifest=True,
        )
        try:
            info = await self._livekit.start_room_snapshots(session.room_name, output)
        except LiveKitUnavailable as error:
            log.warning("no thumbnails for stream %s: %s", stream.slug, error.message)
            if not error.refused:
                # LiveKit did not answer: give the claim back for the outbox's next attempt.
                await self._release(session.id)
                raise
            await self._settle(session.id, None, "failed", error.message)
            return
        await self._settle(session.id, info.egress_id, _STATUS.get(info.status, "starting"), None)
        log.info("thumbnails of stream %s (egress %s)", stream.slug, info.egress_id)

    async def _claim(self, stream_id: int, session_id: int) -> bool:
        """True when this delivery should start the session's egress: the session is on and
        its row is new, or one a run left before LiveKit answered (its process died: a
        redelivery comes only after the outbox's lease)."""
        now = to_db(self._clock.now())
        async with self._db.transaction() as tx:
            if not await tx.fetch_one(
                "SELECT 1 FROM stream_sessions WHERE id = ? AND ended_at IS NULL", (session_id,)
            ):
                return False  # ended before this delivery: nothing to show
            if await tx.execute(
                "INSERT INTO thumbnails (session_id, stream_id, status, requested_at)"
                " VALUES (?, ?, 'starting', ?) ON CONFLICT (session_id) DO NOTHING",
                (session_id, stream_id, now),
            ):
                return True
            left = await tx.fetch_one(
                "SELECT 1 FROM thumbnails WHERE session_id = ? AND egress_id IS NULL"
                " AND status = 'starting'",
                (session_id,),
            )
            return left is not None

    async def _release(self, session_id: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "DELETE FROM thumbnails WHERE session_id = ? AND egress_id IS NULL"
                " AND status = 'starting'",
                (session_id,),
            )

    async def _settle(
        self, session_id: int, egress_id: str | None, status: str, error: str | None
    ) -> None:
        async with self._db.transaction() as tx:
            # An egress webhook may have settled the row already: a final status stays.
            await tx.execute(
                "UPDATE thumbnails SET egress_id = COALESCE(egress_id, ?), status = ?, error = ?"
                " WHERE session_id = ? AND status NOT IN ('complete', 'failed', 'aborted')",
                (egress_id, status, error, session_id),
            )

    async def _stop(self, session: StreamSession) -> None:
        row = await self._db.fetch_one(
            "SELECT egress_id FROM thumbnails WHERE session_id = ? AND egress_id IS NOT NULL"
            " AND status IN ('starting', 'active')",
            (session.id,),
        )
        if row is not None:
            try:
                await self._livekit.stop_egress(row["egress_id"])
            except LiveKitUnavailable as error:
                # The room closing ends the egress anyway; its webhook settles the row. Not
                # answered: the outbox tries again (the file goes then).
                log.warning("could not stop the thumbnail egress %s", row["egress_id"])
                if not error.refused:
                    raise
            else:
                async with self._db.transaction() as tx:
                    await tx.execute(
                        "UPDATE thumbnails SET status = 'ending' WHERE session_id = ?"
                        " AND status IN ('starting', 'active')",
                        (session.id,),
                    )
        self._remove_file(session.room_name)

    def _remove_file(self, room_name: str) -> None:
        path = self._file_of(room_name)
        if path is None:
            return
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            log.warning("could not remove the thumbnail %s: %s", path, error)

    # -- webhooks (on the database thread, inside the event's transaction) ----------------------

    def apply_egress(
        self, tx: SyncTransaction, event: WebhookEvent, now: datetime
    ) -> AfterCommit | None:
        info = event.egress_info
        if not info.egress_id:
            return None
        row = tx.fetch_one(
            "SELECT status, updated_ns FROM thumbnails WHERE egress_id = ?", (info.egress_id,)
        )
        updated = info.updated_at or event.created_at * 1_000_000_000
        if row is None or row["status"] in _FINAL or updated < row["updated_ns"]:
            return None  # not ours, settled already, or older news
        status = _STATUS.get(info.status, "starting")
        tx.execute(
            "UPDATE thumbnails SET status = ?, error = ?, updated_ns = ? WHERE egress_id = ?",
            (status, info.error or None, updated, info.egress_id),
        )
        if status not in _FINAL:
            return None
        if status != "complete":
            log.warning("thumbnail egress %s %s: %s", info.egress_id, status, info.error)
        room_name = info.room_name

        async def remove_last_snapshot() -> None:
            # A snapshot written after our stop would otherwise stay behind.
            if await self._room_is_over(room_name):
                self._remove_file(room_name)

        return remove_last_snapshot

    async def _room_is_over(self, room_name: str) -> bool:
        row = await self._db.fetch_one(
            "SELECT 1 FROM stream_sessions WHERE room_name = ? AND ended_at IS NULL", (room_name,)
        )
        return row is None
