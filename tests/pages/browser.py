"""What the page tests share: the browser's settings, a tab that records what the page did, and
helpers that act as a member would (sign in through a link, create a stream page).

There is no LiveKit media server here (the LiveKit double speaks only the Twirp API), so a live
page cannot really connect; STUB_LIVEKIT_CLIENT stands in for livekit-client where a test needs to
act out what a media server would do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import Page, Route

from core.accounts.auth import Identity
from core.kernel.clock import ManualClock
from core.services import Services
from core.streams import Stream, StreamDraft
from tests.conftest import ALICE
from tests.fakes.livekit import FakeLiveKit

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 667}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WAIT_MS = 15_000  # generous: a busy CI machine is slow to start a browser and fail a WebSocket

RETRYING = "Can't reach the stream — retrying"
MEDIA_UNREACHABLE = "Live on golive, but the media server can't be reached"


@dataclass
class Tab:
    """A page plus what it did: uncaught errors and every URL it asked for."""

    page: Page
    base: str
    errors: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    async def goto(self, path: str) -> None:
        await self.page.goto(self.base + path)

    def status(self) -> object:
        return self.page.get_by_test_id("status")


OpenTab = Callable[..., Awaitable[Tab]]


async def create_stream(services: Services, who: Identity = ALICE, **draft: object) -> Stream:
    fields: dict[str, object] = {
        "title": "Sunset over the river",
        "description": "Slow TV from the balcony. Say hi in the chat!",
        "location_name": "Lisbon",
    }
    fields.update(draft)
    return await services.streams.create(
        owner_id=who.user_id,
        username=who.username,
        display_name=who.display_name,
        draft=StreamDraft(**fields),  # type: ignore[arg-type]
    )


async def add_past_session(
    services: Services, clock: ManualClock, who: Identity, seconds: int
) -> None:
    await services.streams.go_live(who.user_id)
    clock.advance(seconds)
    await services.streams.end(who.user_id)
    clock.advance(86_400)


async def sign_in_via_link(services: Services, tab: Tab, who: Identity, next_path: str) -> None:
    """Open a one-time link the way a member does: login.js posts it and we land on next_path."""
    link = await services.auth.create_login_link(who, next_path)
    async with tab.page.expect_response(
        lambda r: r.request.method == "POST" and "/login/" in r.url
    ):
        await tab.goto(f"/login/{link.token}")
    await tab.page.wait_for_url(re.compile(re.escape(next_path) + "$"))


def foreign_urls(tab: Tab, livekit: FakeLiveKit) -> list[str]:
    """Everything the page fetched that is neither this site nor the configured media server."""
    lk = urlsplit(livekit.url).netloc
    allowed = {("http", urlsplit(tab.base).netloc), ("http", lk), ("ws", lk)}
    return [
        url
        for url in tab.urls + tab.websockets
        if not url.startswith(("data:", "blob:"))
        and (urlsplit(url).scheme, urlsplit(url).netloc) not in allowed
    ]


# The vendored livekit-client, whatever its fingerprint.
LIVEKIT_CLIENT_URL = re.compile(r"/static/vendor/livekit-client\.esm\.[0-9a-f]+\.mjs$")


async def use_stub_livekit(tab: Tab) -> None:
    """Serve a scripted stand-in for livekit-client, to act out what a media server would do."""

    async def fulfil(route: Route) -> None:
        await route.fulfill(body=STUB_LIVEKIT_CLIENT, content_type="text/javascript")

    await tab.page.route(LIVEKIT_CLIENT_URL, fulfil)


async def lk(tab: Tab, script: str) -> object:
    """Run `script` with the stub's controls in scope as `lk`."""
    return await tab.page.evaluate(f"async () => {{ const lk = window.__lk; return {script}; }}")


async def no_horizontal_scroll(page: Page) -> bool:
    return bool(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


async def screenshot(page: Page, name: str) -> None:
    if os.environ.get("GOLIVE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / name))


# A scripted stand-in (an ES module, as the real one) for the parts of livekit-client 2.23 that
# watch.js and studio.js use. Tests steer it through window.__lk; the video is Chromium's fake
# camera.
STUB_LIVEKIT_CLIENT = """
const LivekitClient = (() => {
  const QUALITY = { LOW: 0, MEDIUM: 1, HIGH: 2 };
  const QUALITY_NAME = ["LOW", "MEDIUM", "HIGH"];
  const fake = {
    rooms: [], published: [], unpublished: [], screenShares: [], qualities: [], audioStarted: 0,
    localTracksStopped: 0, localTracks: [], screenCaptures: [], mutes: [], deviceSwitches: [],
  };
  fake.room = () => fake.rooms[fake.rooms.length - 1];
  window.__lk = fake;

  class Emitter {
    constructor() { this.handlers = new Map(); }
    on(event, fn) {
      if (!this.handlers.has(event)) this.handlers.set(event, []);
      this.handlers.get(event).push(fn);
      return this;
    }
    emit(event, ...args) { for (const fn of this.handlers.get(event) || []) fn(...args); }
    removeAllListeners() { this.handlers.clear(); return this; }
  }
  class RemoteTrack {
    constructor(kind, stream) { this.kind = kind; this.stream = stream; this.elements = []; }
    attach(element) {
      element = element || document.createElement(this.kind);
      element.srcObject = this.stream;
      this.elements.push(element);
      return element;
    }
    detach() { const gone = this.elements; this.elements = []; return gone; }
  }
  class RemotePublication {
    constructor(kind, track) { this.kind = kind; this.track = track; this.isSubscribed = true; }
    setVideoQuality(quality) { fake.qualities.push(QUALITY_NAME[quality]); }
  }
  class Participant {
    constructor(identity) {
      this.identity = identity;
      this.trackPublications = new Map();
      this.videoTrackPublications = new Map();
    }
  }
  class LocalTrack extends Emitter {
    constructor(mediaStreamTrack, source) {
      super();
      this.mediaStreamTrack = mediaStreamTrack;
      this.kind = mediaStreamTrack.kind;
      this.source = source || (this.kind === "video" ? "camera" : "microphone");
      this.isMuted = false;
      this.elements = [];
      fake.localTracks.push(this);
    }
    attach(element) {
      element.srcObject = new MediaStream([this.mediaStreamTrack]);
      this.elements.push(element);
      return element;
    }
    detach(element) {
      const gone = element ? [element] : this.elements;
      this.elements = this.elements.filter((e) => !gone.includes(e));
      for (const e of gone) e.srcObject = null;
      return gone;
    }
    stop() { fake.localTracksStopped += 1; this.mediaStreamTrack.stop(); }
    async mute() {
      this.isMuted = true;
      this.mediaStreamTrack.enabled = false;
      fake.mutes.push({ source: this.source, muted: true });
      this.emit("muted", this);
      return this;
    }
    async unmute() {
      this.isMuted = false;
      this.mediaStreamTrack.enabled = true;
      fake.mutes.push({ source: this.source, muted: false });
      this.emit("unmuted", this);
      return this;
    }
    // As livekit-client: restart the capture on another device, keeping the attached elements.
    async setDeviceId(deviceId) {
      const stream = await navigator.mediaDevices.getUserMedia({ [this.kind]: { deviceId } });
      this.mediaStreamTrack.stop();
      this.mediaStreamTrack = stream.getTracks()[0];
      for (const e of this.elements) e.srcObject = new MediaStream([this.mediaStreamTrack]);
      fake.deviceSwitches.push({ kind: this.kind, deviceId });
      return true;
    }
  }
  // What getUserMedia gets for one kind: true, or the device the page asked for.
  const constraint = (value) =>
    value && typeof value === "object" && value.deviceId ? { deviceId: value.deviceId } : Boolean(value);
  class Room extends Emitter {
    constructor(options) {
      super();
      this.options = options;
      this.remoteParticipants = new Map();
      this.state = "disconnected";
      this.canPlaybackAudio = false;
      this.localParticipant = {
        identity: "",
        isScreenShareEnabled: false,
        publishTrack: async (track, opts) => {
          fake.published.push({
            kind: track.kind, source: track.source, simulcast: Boolean(opts && opts.simulcast),
          });
        },
        unpublishTrack: async (track) => {
          fake.unpublished.push({ kind: track.kind, source: track.source });
        },
        setScreenShareEnabled: async (enabled) => {
          this.localParticipant.isScreenShareEnabled = enabled;
          fake.screenShares.push(enabled);
        },
      };
      fake.rooms.push(this);
    }
    async connect(url, token) {
      this.url = url;
      this.token = token;
      // The identity is the token's subject, as LiveKit assigns it.
      const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      this.localParticipant.identity = claims.sub;
      this.state = "connected";
    }
    async disconnect() { this.state = "disconnected"; }
    async startAudio() {
      fake.audioStarted += 1;
      this.canPlaybackAudio = true;
      this.emit("audioPlaybackChanged", true);
    }
  }

  fake.join = (identity) => {
    const participant = new Participant(identity);
    fake.room().remoteParticipants.set(identity, participant);
    fake.room().emit("participantConnected", participant);
  };
  fake.leave = (identity) => {
    const participant = fake.room().remoteParticipants.get(identity);
    fake.room().remoteParticipants.delete(identity);
    fake.room().emit("participantDisconnected", participant);
  };
  fake.publishCamera = async (identity) => {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true });
    const track = new RemoteTrack("video", stream);
    const publication = new RemotePublication("video", track);
    const participant = fake.room().remoteParticipants.get(identity);
    participant.trackPublications.set("TR_video", publication);
    participant.videoTrackPublications.set("TR_video", publication);
    fake.room().emit("trackPublished", publication, participant);
    fake.room().emit("trackSubscribed", track, publication, participant);
  };
  fake.unpublishCamera = (identity) => {
    const participant = fake.room().remoteParticipants.get(identity);
    const publication = participant.videoTrackPublications.get("TR_video");
    participant.trackPublications.delete("TR_video");
    participant.videoTrackPublications.delete("TR_video");
    fake.room().emit("trackUnsubscribed", publication.track, publication, participant);
    fake.room().emit("trackUnpublished", publication, participant);
  };
  // The fake microphone's beep, as the room's audio track (watch.js attaches an <audio>).
  fake.publishMicrophone = async (identity) => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const track = new RemoteTrack("audio", stream);
    const publication = new RemotePublication("audio", track);
    const participant = fake.room().remoteParticipants.get(identity);
    participant.trackPublications.set("TR_audio", publication);
    fake.room().emit("trackPublished", publication, participant);
    fake.room().emit("trackSubscribed", track, publication, participant);
  };
  fake.speak = (identities) => {
    fake.room().emit("activeSpeakersChanged", identities.map((identity) => ({ identity })));
  };
  // The capture of `source` ends by itself (a camera unplugged, "Stop sharing" pressed).
  fake.endTrack = (source) => {
    const track = fake.localTracks.filter((t) => t.source === source && t.mediaStreamTrack.readyState === "live").pop();
    track.mediaStreamTrack.stop();
    track.emit("ended", track);
  };
  fake.emit = (event, ...args) => {
    const room = fake.room();
    if (event === "disconnected") room.state = "disconnected";
    room.emit(event, ...args);
  };

  return {
    Room,
    RoomEvent: {
      TrackSubscribed: "trackSubscribed", TrackUnsubscribed: "trackUnsubscribed",
      ParticipantConnected: "participantConnected", ParticipantDisconnected: "participantDisconnected",
      AudioPlaybackStatusChanged: "audioPlaybackChanged", Reconnecting: "reconnecting",
      SignalReconnecting: "signalReconnecting", Reconnected: "reconnected", Disconnected: "disconnected",
      DataReceived: "dataReceived", ConnectionQualityChanged: "connectionQualityChanged",
      ActiveSpeakersChanged: "activeSpeakersChanged", TrackPublished: "trackPublished",
      TrackUnpublished: "trackUnpublished",
    },
    Track: {
      Kind: { Video: "video", Audio: "audio" },
      Source: {
        Camera: "camera", Microphone: "microphone", ScreenShare: "screen_share",
        ScreenShareAudio: "screen_share_audio",
      },
    },
    ConnectionQuality: { Excellent: "excellent", Good: "good", Poor: "poor", Lost: "lost", Unknown: "unknown" },
    TrackEvent: { Ended: "ended" },
    VideoQuality: QUALITY,
    ConnectionState: { Connected: "connected", Disconnected: "disconnected" },
    DisconnectReason: {
      CLIENT_INITIATED: 1, DUPLICATE_IDENTITY: 2, PARTICIPANT_REMOVED: 4, ROOM_DELETED: 5, SIGNAL_CLOSE: 9,
    },
    VideoPresets: { h720: { resolution: { width: 1280, height: 720 } } },
    createLocalTracks: async (options) => {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: constraint(options.audio), video: constraint(options.video),
      });
      return stream.getTracks().map((track) => new LocalTrack(track));
    },
    // getDisplayMedia: Chromium's fake UI picks a fake screen (and tab audio when asked).
    createLocalScreenTracks: async (options) => {
      fake.screenCaptures.push(options);
      const stream = await navigator.mediaDevices.getDisplayMedia({
        video: true, audio: Boolean(options && options.audio),
      });
      return stream.getTracks().map(
        (track) => new LocalTrack(track, track.kind === "video" ? "screen_share" : "screen_share_audio"),
      );
    },
  };
})();
export const {
  Room, RoomEvent, Track, TrackEvent, VideoQuality, ConnectionState, DisconnectReason, VideoPresets,
  createLocalTracks,
} = LivekitClient;
export const { ConnectionQuality, createLocalScreenTracks } = LivekitClient;
"""
