"""What the streams capability hands out: stream pages, sessions, and the events about them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar


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


@dataclass(frozen=True)
class StreamSession:
    id: int
    stream_id: int
    room_name: str
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: int | None
    end_reason: str | None


@dataclass(frozen=True)
class StreamEvent:
    """Something that happened to a stream (published after it is committed)."""

    stream: Stream
    session: StreamSession
    kind: ClassVar[str]


@dataclass(frozen=True)
class StreamWentLive(StreamEvent):
    kind: ClassVar[str] = "live"


@dataclass(frozen=True)
class StreamEnded(StreamEvent):
    kind: ClassVar[str] = "ended"
