"""LiveKit: the server API gateway (typed errors), access tokens, participant and room names.

The public module: other packages import from here, never from the modules inside."""

from core.livekit.gateway import (
    STAGE_SOURCES,
    IngressProtocol,
    LiveKitGateway,
    Role,
    TokenMinter,
    TrackSourceName,
    livekit_trouble,
)
from core.livekit.identities import (
    AUDIENCE_PREFIXES,
    BROADCASTER_PREFIX,
    guest_identity,
    host_identity,
    is_audience,
    is_broadcaster,
    is_viewer_of,
    obs_identity,
    person_key,
    room_name,
    viewer_identity,
)

__all__ = [
    "AUDIENCE_PREFIXES",
    "BROADCASTER_PREFIX",
    "STAGE_SOURCES",
    "IngressProtocol",
    "LiveKitGateway",
    "Role",
    "TokenMinter",
    "TrackSourceName",
    "guest_identity",
    "host_identity",
    "is_audience",
    "is_broadcaster",
    "is_viewer_of",
    "livekit_trouble",
    "obs_identity",
    "person_key",
    "room_name",
    "viewer_identity",
]
