"""What happens in live rooms: LiveKit webhooks, presence and auto-end, OBS ingress, recording,
thumbnails, health.

The public module: other packages import from here, never from the modules inside."""

from core.live.health import StreamHealth, StreamHealthService, describe
from core.live.ingress import IngressService, ObsProblem, ObsSetup
from core.live.presence import Audience, LiveEventService
from core.live.recording import (
    DeletedVod,
    RecordChange,
    Recording,
    RecordingRefused,
    RecordingService,
)
from core.live.thumbnails import Snapshot, ThumbnailService, is_snapshot_egress
from core.live.webhooks import WebhookHandler, WebhookInbox

__all__ = [
    "Audience",
    "DeletedVod",
    "IngressService",
    "LiveEventService",
    "ObsProblem",
    "ObsSetup",
    "RecordChange",
    "Recording",
    "RecordingRefused",
    "RecordingService",
    "Snapshot",
    "StreamHealth",
    "StreamHealthService",
    "ThumbnailService",
    "WebhookHandler",
    "WebhookInbox",
    "describe",
    "is_snapshot_egress",
]
