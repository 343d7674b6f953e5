"""What a streamer's studio does in LiveKit, as tests need it: join the room and send video.

Media first: a stream is on air (announced, listed) once its first video arrives; these drive the
LiveKit double and hand golive the webhooks LiveKit would send, as a browser studio causes them.
"""

from __future__ import annotations

from core.livekit import host_identity
from core.services import Services
from core.streams import Stream
from tests.fakes.livekit import FakeLiveKit


async def studio_joins(services: Services, livekit: FakeLiveKit, owner_id: int) -> str:
    """The owner's studio connects to the live room (no tracks yet). Returns the room."""
    stream = await services.streams.get_by_owner(owner_id)
    assert stream.room_name is not None, "the stream must be live (its room open)"
    room, identity = stream.room_name, host_identity(owner_id)
    if identity not in livekit.participants.get(room, {}):
        livekit.add_participant(room, identity)
        await services.webhooks.receive(livekit.event("participant_joined", room, identity))
    return room


async def send_video(services: Services, livekit: FakeLiveKit, owner_id: int) -> None:
    """The studio joins (if it hasn't) and publishes its camera; its effects run to the end."""
    room = await studio_joins(services, livekit, owner_id)
    identity = host_identity(owner_id)
    track = livekit.publish_track(room, identity, kind="video", source="camera")
    await services.webhooks.receive(livekit.event("track_published", room, identity, track=track))
    await services.events.drain()


async def go_live_with_video(services: Services, livekit: FakeLiveKit, owner_id: int) -> Stream:
    """Go live and send video at once: the stream is on air (listed, announced)."""
    await services.streams.go_live(owner_id)
    await send_video(services, livekit, owner_id)
    return await services.streams.get_by_owner(owner_id)
