"""JSON shapes of the API we keep from the system golive replaces (camelCase, ISO times)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.streams import Stream


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def stream_json(stream: Stream, thumbnail_url: str | None = None) -> dict[str, Any]:
    return {
        "id": stream.id,
        "slug": stream.slug,
        "title": stream.title,
        "description": stream.description,
        "ownerName": stream.owner_name,
        "location": stream.location_name,
        "latitude": stream.latitude,
        "longitude": stream.longitude,
        # `active`: the room is open. `state` says what viewers see: "offline", "starting" (no
        # video yet: not listed, not announced) or "live" (on air).
        "active": stream.active,
        "state": stream.state,
        "roomName": stream.room_name,
        "liveSince": iso(stream.live_since),
        "lastLiveAt": iso(stream.last_live_at),
        # Public shape: never the OBS key (only POST /api/live/create tells it, to the owner).
        "streamKey": None,
        "thumbnailUrl": thumbnail_url,
    }
