"""Stream pages and their lifecycle; owns `streams` and `stream_sessions`.

The public module: other packages import from here, never from the modules inside."""

from core.streams.records import (
    Stream,
    StreamEnded,
    StreamEvent,
    StreamMediaStarted,
    StreamSession,
    StreamState,
    StreamWentLive,
)
from core.streams.service import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    StreamDraft,
    StreamService,
    stream_from_row,
)

__all__ = [
    "DESCRIPTION_MAX",
    "TITLE_MAX",
    "Stream",
    "StreamDraft",
    "StreamEnded",
    "StreamEvent",
    "StreamMediaStarted",
    "StreamService",
    "StreamSession",
    "StreamState",
    "StreamWentLive",
    "stream_from_row",
]
