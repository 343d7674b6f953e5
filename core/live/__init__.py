"""What happens in live rooms: LiveKit webhooks, presence and auto-end, OBS ingress, recording, health.

The public module: other packages import from here, never from the modules inside."""

from core.live.health import StreamHealth, StreamHealthService, describe
from core.live.ingress import IngressService, ObsSetup
from core.live.presence import BROADCASTER_PREFIX, Audience, LiveEventService
from core.live.recording import RecordChange, Recording, RecordingConfig, RecordingService
from core.live.webhooks import WebhookInbox

__all__ = [
    "BROADCASTER_PREFIX",
    "Audience",
    "IngressService",
    "LiveEventService",
    "ObsSetup",
    "RecordChange",
    "Recording",
    "RecordingConfig",
    "RecordingService",
    "StreamHealth",
    "StreamHealthService",
    "WebhookInbox",
    "describe",
]
