"""What the streams capability hands out: stream pages, sessions, and the events about them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal

# What viewers are told: no session; a session whose first video hasn't arrived; on air.
StreamState = Literal["offline", "starting", "live"]


@dataclass(frozen=True)
class Stream:
    id: int
    owner_id: int
    slug: str
    owner_name: str
    title: str
    description: str
    location_name: str | None
    latitude: float | None
    longitude: float | None
    active: bool
    room_name: str | None
    live_since: datetime | None
    last_live_at: datetime | None
    # Its first video arrived (or the media wait ran out): viewers, the grid and Discord see
    # it live. `active` alone means the room and the session are open.
    on_air: bool

    @property
    def state(self) -> StreamState:
        if not self.active:
            return "offline"
        return "live" if self.on_air else "starting"


@dataclass(frozen=True)
class StreamSession:
    id: int
    stream_id: int
    room_name: str
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: int | None
    end_reason: str | None
    media_started_at: datetime | None  # None: still starting (no video yet)


@dataclass(frozen=True)
class StreamEvent:
    """Something that happened to a stream (published after it is committed)."""

    stream: Stream
    session: StreamSession
    kind: ClassVar[str]


@dataclass(frozen=True)
class StreamWentLive(StreamEvent):
    """The room and the session are open (the studio or OBS may not be sending yet)."""

    kind: ClassVar[str] = "live"


@dataclass(frozen=True)
class StreamMediaStarted(StreamEvent):
    """The session went on air: its first video arrived, or the media wait ran out.

    Published once per session (a conditional UPDATE decides who publishes): announcements,
    follower DMs, live roles and thumbnails start here, not at StreamWentLive.
    """

    kind: ClassVar[str] = "on_air"


@dataclass(frozen=True)
class StreamEnded(StreamEvent):
    kind: ClassVar[str] = "ended"
