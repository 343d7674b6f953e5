"""Stream health: what LiveKit reports about the streamer's video, in plain numbers.

What LiveKit really tells a server, and therefore all this says:

* From OBS (an ingress): LiveKit's ingress measures the incoming stream and reports its
  resolution, frame rate and average bitrate (`IngressState.video`), and whether the input is
  flowing (`ENDPOINT_PUBLISHING`), stalled (`ENDPOINT_BUFFERING`) or broken (`ENDPOINT_ERROR`).
* From the browser studio: the published track's resolution, and the bitrate of its best
  simulcast layer as the browser announced it (a target, not a measurement). The server API
  reports no live quality for it; viewers' pages get LiveKit's connection-quality verdict for
  the streamer from the SFU itself (see web/static/health.js).

"Poor" is said only on evidence: the ingress reports its input stalled or failed, or a frame rate
under ``MIN_FPS``, or the streamer is connected without any video.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from livekit import api
from livekit.protocol import models as lk_models

from core.kernel.clock import Clock
from core.kernel.errors import LiveKitUnavailable
from core.kernel.i18n import DEFAULT, N_, Phrase, decimal_in, t
from core.live.ingress import IngressService
from core.livekit import LiveKitGateway, host_identity
from core.streams import Stream

log = logging.getLogger(__name__)

MIN_FPS = 20.0
NO_VIDEO = Phrase(N_("no video is being sent"))
# Many viewers poll the same page: ask LiveKit about a room at most this often.
CACHE_FOR = timedelta(seconds=10)
LIVEKIT_SLOW = N_("The streaming server is not answering right now. Please try again in a minute.")

# good: OBS input measured fine. sending: browser video (the server learns no quality for it).
HealthStatus = Literal["good", "sending", "poor", "no_video", "not_sending", "offline"]
Source = Literal["obs", "browser"]


@dataclass(frozen=True)
class StreamHealth:
    status: HealthStatus
    source: Source | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None  # OBS only: the ingress measures it
    bitrate: int | None = None  # bits per second
    bitrate_measured: bool = False  # True: LiveKit measured it (OBS); False: a browser's target
    # Why it is poor, said later in each reader's language (a German page, an English moderator).
    reasons: tuple[Phrase, ...] = field(default_factory=tuple)
    checked_at: datetime | None = None

    @property
    def poor(self) -> bool:
        return self.status in ("poor", "no_video")


class StreamHealthService:
    def __init__(self, livekit: LiveKitGateway, ingress: IngressService, clock: Clock) -> None:
        self._livekit = livekit
        self._ingress = ingress
        self._clock = clock
        self._cache: dict[str, StreamHealth] = {}

    async def health(self, stream: Stream) -> StreamHealth:
        """The stream's health now (at most CACHE_FOR old). Raises LiveKitUnavailable."""
        if not stream.active or stream.room_name is None:
            return StreamHealth("offline")
        now = self._clock.now()
        cached = self._cache.get(stream.room_name)
        if cached is not None and cached.checked_at and now - cached.checked_at < CACHE_FOR:
            return cached
        try:
            # One bound for the whole answer, not one per LiveKit call it makes.
            async with asyncio.timeout(self._livekit.timeout):
                health = await self._measure(stream, stream.room_name, now)
        except TimeoutError:
            raise LiveKitUnavailable(LIVEKIT_SLOW) from None
        self._cache = {
            room: known
            for room, known in self._cache.items()
            if known.checked_at and now - known.checked_at < CACHE_FOR
        }
        self._cache[stream.room_name] = health
        return health

    async def _measure(self, stream: Stream, room: str, now: datetime) -> StreamHealth:
        participants = await self._livekit.list_participants(room)
        host = host_identity(stream.owner_id)
        obs = [p for p in participants if p.kind == lk_models.ParticipantInfo.Kind.INGRESS]
        studio = [p for p in participants if p.identity == host]
        if obs:
            info = await self._ingress.live_info(stream.id)
            return _from_ingress(obs[0], info, now)
        if studio:
            return _from_browser(studio[0], now)
        return StreamHealth("not_sending", checked_at=now)


def _video_track(participant: api.ParticipantInfo) -> api.TrackInfo | None:
    return next(
        (t for t in participant.tracks if t.type == lk_models.TrackType.VIDEO and not t.muted),
        None,
    )


def _from_ingress(
    participant: api.ParticipantInfo, info: api.IngressInfo | None, now: datetime
) -> StreamHealth:
    track = _video_track(participant)
    if info is None:
        # The ingress is gone from LiveKit's list: judge by the track alone.
        return _from_track("obs", track, now)
    state = info.state
    video = state.video
    reasons: list[Phrase] = []
    Status = api.IngressState.Status
    if state.status == Status.ENDPOINT_BUFFERING:
        reasons.append(Phrase(N_("LiveKit is waiting for OBS's video to arrive (buffering)")))
    elif state.status == Status.ENDPOINT_ERROR:
        # LiveKit's own words about the error stay as LiveKit wrote them.
        error = state.error or "unknown"
        reasons.append(
            Phrase(N_("LiveKit reports an error with the OBS input: %(error)s"), {"error": error})
        )
    if video.framerate and video.framerate < MIN_FPS:
        reasons.append(
            Phrase(
                N_("OBS's video arrives at %(fps)s frames per second"),
                {"fps": round(video.framerate)},
            )
        )
    if track is None and not reasons:
        return StreamHealth("no_video", "obs", reasons=(NO_VIDEO,), checked_at=now)
    return StreamHealth(
        "poor" if reasons else "good",
        "obs",
        width=video.width or (track.width if track else None) or None,
        height=video.height or (track.height if track else None) or None,
        fps=video.framerate or None,
        bitrate=video.average_bitrate or None,
        bitrate_measured=bool(video.average_bitrate),
        reasons=tuple(reasons),
        checked_at=now,
    )


def _from_browser(participant: api.ParticipantInfo, now: datetime) -> StreamHealth:
    return _from_track("browser", _video_track(participant), now)


def _from_track(source: Source, track: api.TrackInfo | None, now: datetime) -> StreamHealth:
    if track is None:
        return StreamHealth("no_video", source, reasons=(NO_VIDEO,), checked_at=now)
    top = max(track.layers, key=lambda layer: layer.bitrate, default=None)
    return StreamHealth(
        "sending",
        source,
        width=track.width or (top.width if top else None) or None,
        height=track.height or (top.height if top else None) or None,
        bitrate=(top.bitrate if top else None) or None,
        bitrate_measured=False,
        checked_at=now,
    )


def describe(health: StreamHealth, locale: str = DEFAULT) -> str:
    """One line of numbers: '1920x1080 · 30 fps · 4.5 Mbps' ('4,5 Mbps' in German)."""
    parts: list[str] = []
    if health.width and health.height:
        parts.append(f"{health.width}x{health.height}")
    if health.fps:
        parts.append(f"{decimal_in(locale, health.fps, '#,##0')} fps")
    if health.bitrate:
        rate = f"{decimal_in(locale, health.bitrate / 1_000_000, '#,##0.0')} Mbps"
        parts.append(rate if health.bitrate_measured else t(locale, "up to %(rate)s", rate=rate))
    return " · ".join(parts)
