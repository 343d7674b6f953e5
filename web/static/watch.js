// The watch page of a live stream: fetch a viewer token, join the LiveKit room, play the
// broadcaster, count viewers, let people pick a quality, and keep trying calmly when the
// connection drops. The buttons over the video are player.js's. Nothing here may throw past its
// own handler: errors become status text.
import {
  announce,
  byId,
  isBroadcaster,
  loadLivekit,
  pageData,
  quietlyDisconnect,
  remoteViewers,
  roomHandler,
  showStatus,
} from "./app.js";
import { Backoff, getJson, postJson, retrier } from "./net.js";
import { playerControls } from "./player.js";
import { gettext, ngettext } from "./text.js";

/** @typedef {import("livekit-client").Room} Room */

const QUALITY_KEY = "golive.quality";
const RETRYING = gettext("Can't reach the stream — retrying…");
const ENDED = gettext("The stream has ended.");
const ENDED_DETAIL = gettext("Thanks for watching! Reload to see if it's back.");

class TokenError extends Error {
  /**
   * @param {number} status
   * @param {string} serverMessage
   * @param {number | null} retryAfterMs
   */
  constructor(status, serverMessage, retryAfterMs) {
    super(serverMessage || `token request failed (${status})`);
    this.status = status;
    this.serverMessage = serverMessage;
    this.retryAfterMs = retryAfterMs;
  }
}

const data = pageData();
if (data && data.active) {
  // Before the player library loads (it is large): a choice made meanwhile is kept too, and
  // the count is the server's until the room gives its own.
  rememberQuality(byId("quality", HTMLSelectElement));
  showViewers(typeof data.viewers === "number" ? data.viewers : 0);
  const LK = await loadLivekit();
  if (LK) startWatching(data, LK);
  else sayThePlayerIsMissing();
}

/**
 * Restore the viewer's last quality choice, and remember each new one.
 * @param {HTMLSelectElement} select
 */
function rememberQuality(select) {
  try {
    const saved = window.localStorage.getItem(QUALITY_KEY);
    if (saved && [...select.options].some((option) => option.value === saved)) select.value = saved;
  } catch {
    // Storage may be blocked (private mode); the default is fine.
  }
  select.addEventListener("change", () => {
    try {
      window.localStorage.setItem(QUALITY_KEY, select.value);
    } catch {
      // Not remembered, still applied.
    }
  });
}

/** @param {number} viewers */
function showViewers(viewers) {
  byId("viewer-count-text").textContent = ngettext("%(n)s watching", "%(n)s watching", viewers);
  byId("viewer-count").hidden = false;
}

function sayThePlayerIsMissing() {
  showStatus(byId("status"), byId("status-text"), gettext("The video player could not load."), { tone: "error" });
  const detail = byId("status-detail");
  detail.textContent = gettext("Reload the page to try again.");
  detail.hidden = false;
  const action = byId("status-action");
  action.textContent = gettext("Reload");
  action.hidden = false;
}

/**
 * @param {any} data the page data
 * @param {typeof import("livekit-client")} LK
 */
function startWatching(data, LK) {
  const el = {
    player: byId("player"),
    video: byId("player-video", HTMLVideoElement),
    audio: byId("player-audio"),
    status: byId("status"),
    statusText: byId("status-text"),
    statusDetail: byId("status-detail"),
    statusAction: byId("status-action"),
    unmute: byId("unmute"),
    viewers: byId("viewer-count"),
    notice: byId("player-notice"),
    noticeText: byId("player-notice-text"),
    quality: byId("quality", HTMLSelectElement),
    badge: byId("live-badge"),
  };

  const state = {
    roomName: data.roomName,
    /** @type {Room | null} */
    room: null,
    connecting: false,
    finished: false, // the stream ended (or we were removed): stop trying
    leaving: false, // the page is going away: disconnects are expected
    // The streamer's video has flowed in this session (the server saw it: a stream is "live"
    // only once its video arrived; or this page did). Until then the stream is starting;
    // after, a missing video means it dropped.
    hadVideo: data.broadcasterVideo === true || data.state === "live",
  };
  const backoff = new Backoff();
  const retry = retrier(connect);
  /** @type {string[]} */
  const audiencePrefixes = Array.isArray(data.audiencePrefixes) ? data.audiencePrefixes.map(String) : [];
  const controls = playerControls(
    {
      player: el.player,
      video: el.video,
      audio: el.audio,
      play: byId("player-play", HTMLButtonElement),
      mute: byId("player-mute", HTMLButtonElement),
      volume: byId("player-volume", HTMLInputElement),
      pip: byId("player-pip", HTMLButtonElement),
      fullscreen: byId("player-fullscreen", HTMLButtonElement),
    },
    {
      blocked: () => Boolean(state.room && !state.room.canPlaybackAudio),
      unblock: async () => {
        if (state.room) await state.room.startAudio();
      },
    },
  );

  // ---------------------------------------------------------------- status line

  /**
   * @param {string} text
   * @param {{ busy?: boolean, tone?: string, detail?: string, action?: string | null, quiet?: boolean }} [options]
   */
  function setStatus(text, { busy = false, tone = "", detail = "", action = null, quiet = false } = {}) {
    showStatus(el.status, el.statusText, text, { busy, tone });
    el.statusDetail.textContent = detail;
    el.statusDetail.hidden = !detail;
    el.statusAction.hidden = !action;
    if (action) el.statusAction.textContent = action;
    el.player.classList.toggle("is-quiet", quiet);
  }

  /** @param {boolean} playing */
  function setPlaying(playing) {
    if (el.player.classList.contains("is-playing") === playing) return;
    el.player.classList.toggle("is-playing", playing);
    if (playing) showOnAir();
    controls.setPlaying(playing);
    updateUnmute(state.room);
  }

  // The badge said "Starting" (media first): the first frame playing here means the stream is on air.
  function showOnAir() {
    if (!el.badge.classList.contains("badge--starting")) return;
    el.badge.classList.replace("badge--starting", "badge--live");
    el.badge.textContent = gettext("Live");
  }

  // Small and out of the way: the video keeps playing while LiveKit reconnects.
  /** @param {string} text */
  function showNotice(text) {
    el.noticeText.textContent = text;
    el.notice.hidden = !text;
  }

  // ---------------------------------------------------------------- token + connection

  async function fetchViewerToken() {
    const result = await postJson(data.tokenUrl, { roomName: state.roomName, role: "viewer" });
    if (result.ok && result.body && typeof result.body.token === "string") return result.body;
    // status 0: golive not reached
    throw new TokenError(result.status, result.serverError, result.retryAfterMs);
  }

  /** After a 404: is the stream live again in a new room (it ended and restarted)? */
  async function currentRoomName() {
    if (!data.streamUrl) return null;
    const reply = await getJson(data.streamUrl);
    const stream = reply.ok ? reply.body : null;
    return stream && stream.active && typeof stream.roomName === "string" ? stream.roomName : null;
  }

  async function connect() {
    if (state.finished || state.leaving || state.connecting) return;
    retry.cancel();
    state.connecting = true;
    try {
      await connectOnce();
    } catch (error) {
      // connectOnce handles its own failures; this is the last line of defence.
      retryLater(error);
    } finally {
      state.connecting = false;
    }
  }

  async function connectOnce() {
    if (backoff.attempt === 0) setStatus(gettext("Connecting to the stream…"), { busy: true });
    else setStatus(RETRYING, { busy: true, detail: gettext("Trying again now…") });

    let credentials;
    try {
      credentials = await fetchViewerToken();
    } catch (error) {
      await handleTokenFailure(error);
      return;
    }

    const room = new LK.Room({ adaptiveStream: true, dynacast: true });
    state.room = room;
    wireRoom(room);
    try {
      await room.connect(credentials.wsUrl || data.wsUrl, credentials.token);
    } catch (error) {
      if (state.room === room) {
        state.room = null;
        await quietlyDisconnect(room);
        retryLater(error);
      }
      return;
    }
    if (state.room !== room) return;
    backoff.reset();
    onConnected(room);
  }

  /** @param {unknown} error */
  async function handleTokenFailure(error) {
    const status = error instanceof TokenError ? error.status : 0;
    if (status === 404) {
      const roomName = await currentRoomName();
      if (roomName && roomName !== state.roomName) {
        state.roomName = roomName;
        state.hadVideo = false; // a new session starts afresh
        backoff.reset();
        retryLater(null, 0);
        return;
      }
      finish(ENDED, ENDED_DETAIL);
      return;
    }
    if (status === 401 || status === 403) {
      // Retrying won't change the answer (signed out, banned, …): say what the server said.
      const said = error instanceof TokenError ? error.serverMessage : "";
      finish(said || gettext("You can't watch this stream right now."), "", "error");
      return;
    }
    retryLater(error);
  }

  /**
   * @param {unknown} error
   * @param {number} [delayOverride]
   */
  function retryLater(error, delayOverride) {
    if (state.finished || state.leaving || retry.pending) return;
    const tokenError = error instanceof TokenError ? error : null;
    const delay = delayOverride ?? backoff.next(tokenError?.retryAfterMs);
    const serverMessage = tokenError?.serverMessage ?? "";
    setPlaying(false);
    setStatus(RETRYING, {
      busy: true,
      detail: serverMessage || gettext("Next try in %(s)s s.", { s: Math.max(1, Math.round(delay / 1000)) }),
    });
    retry.schedule(delay);
  }

  function leaveRoom() {
    retry.cancel();
    const room = state.room;
    state.room = null;
    if (room) quietlyDisconnect(room);
  }

  /**
   * @param {string} text
   * @param {string} [detail]
   * @param {string} [tone]
   */
  function finish(text, detail = "", tone = "") {
    state.finished = true;
    leaveRoom();
    detachAll();
    setPlaying(false);
    updateUnmute(null);
    showNotice("");
    el.viewers.hidden = true; // nobody is watching an ended stream
    setStatus(text, { tone, detail, action: gettext("Reload") });
  }

  // ---------------------------------------------------------------- room events

  /** @param {Room} room */
  function wireRoom(room) {
    const E = LK.RoomEvent;
    const mine = roomHandler(() => state.room === room, "watch");

    room
      .on(E.TrackSubscribed, mine(onTrackSubscribed))
      .on(E.TrackUnsubscribed, mine(onTrackUnsubscribed))
      .on(E.ParticipantConnected, mine(() => onParticipantsChanged(room)))
      .on(E.ParticipantDisconnected, mine(() => onParticipantsChanged(room)))
      .on(E.TrackPublished, mine(() => showPlaybackState(room)))
      .on(E.TrackUnpublished, mine(() => showPlaybackState(room)))
      .on(E.AudioPlaybackStatusChanged, mine(() => updateUnmute(room)))
      .on(E.Reconnecting, mine(() => showNotice(gettext("Reconnecting…"))))
      .on(E.SignalReconnecting, mine(() => showNotice(gettext("Reconnecting…"))))
      .on(E.Reconnected, mine(() => onReconnected(room)))
      .on(E.DataReceived, mine(onData))
      .on(E.ConnectionQualityChanged, mine(onQuality))
      .on(E.Disconnected, mine((reason) => onDisconnected(room, reason)));
  }

  // Packets the server sends into the room (tips, on topic "tips") go to the page's other
  // scripts as a DOM event, so each feature keeps its own file and this one stays about playback.
  /**
   * @param {Uint8Array} payload
   * @param {unknown} _participant
   * @param {unknown} _kind
   * @param {string} [topic]
   */
  function onData(payload, _participant, _kind, topic) {
    announce("data", { topic, text: new TextDecoder().decode(payload) });
  }

  // LiveKit's own verdict on each participant's connection (the SFU measures loss and jitter):
  // the streamer's goes to health.js, which shows a notice when it is poor.
  /**
   * @param {unknown} quality
   * @param {{ identity: string } | undefined} participant
   */
  function onQuality(quality, participant) {
    if (!participant || !isBroadcaster(participant)) return;
    announce("broadcaster-quality", { quality: String(quality) });
  }

  /** @param {Room} room */
  function onConnected(room) {
    announceConnection(true);
    // stage.js publishes through this room when its member goes on stage.
    announce("room", { room });
    onParticipantsChanged(room);
    updateUnmute(room);
    // Tracks that were subscribed while connect() was still resolving.
    for (const participant of room.remoteParticipants.values()) {
      for (const publication of participant.trackPublications.values()) {
        if (publication.track && publication.isSubscribed) {
          onTrackSubscribed(publication.track, publication, participant);
        }
      }
    }
    showPlaybackState(room);
  }

  /**
   * @param {import("livekit-client").RemoteTrack} track
   * @param {import("livekit-client").RemoteTrackPublication} publication
   * @param {{ identity: string }} [participant]
   */
  function onTrackSubscribed(track, publication, participant) {
    if (track.kind === LK.Track.Kind.Video && participant && !isBroadcaster(participant)) {
      // A guest on stage: their tile (stage.js) shows them; the player stays the streamer's.
      announce("guest-track", { identity: participant.identity, track });
      return;
    }
    if (track.kind === LK.Track.Kind.Video) {
      track.attach(el.video);
      applyQuality(publication);
      state.hadVideo = true;
      setPlaying(true);
      controls.resume();
    } else if (track.kind === LK.Track.Kind.Audio) {
      const audio = track.attach();
      if (audio instanceof HTMLAudioElement) controls.adopt(audio);
      el.audio.appendChild(audio);
    }
    if (state.room) {
      updateUnmute(state.room);
      showPlaybackState(state.room);
    }
  }

  /**
   * @param {import("livekit-client").RemoteTrack} track
   * @param {unknown} _publication
   * @param {{ identity: string }} [participant]
   */
  function onTrackUnsubscribed(track, _publication, participant) {
    if (track.kind === LK.Track.Kind.Video && participant && !isBroadcaster(participant)) {
      announce("guest-track", { identity: participant.identity, track: null });
    }
    for (const element of track.detach()) {
      if (element !== el.video) element.remove();
    }
    if (state.room) showPlaybackState(state.room);
  }

  // Other scripts of the page (chat.js) poll the server while the room is not connected.
  /** @param {boolean} connected */
  function announceConnection(connected) {
    announce("connection", { connected });
  }

  /**
   * @param {Room} room
   * @param {import("livekit-client").DisconnectReason | undefined} reason
   */
  function onDisconnected(room, reason) {
    announceConnection(false);
    announce("room", { room: null });
    state.room = null;
    showNotice("");
    detachAll();
    const R = LK.DisconnectReason;
    if (state.leaving || reason === R.CLIENT_INITIATED) return;
    // The server deletes the room when the stream ends, just before it records the end, so a
    // token request right now could still succeed: trust the reason instead of asking.
    if (reason === R.ROOM_DELETED) {
      finish(ENDED, ENDED_DETAIL);
    } else if (reason === R.PARTICIPANT_REMOVED) {
      finish(gettext("You were removed from this stream."), "", "error");
    } else if (reason === R.DUPLICATE_IDENTITY) {
      finish(gettext("This stream is open in another tab or window."), gettext("Reload here to watch in this one."));
    } else {
      retryLater(null);
    }
  }

  function detachAll() {
    for (const element of el.audio.querySelectorAll("audio")) element.remove();
    el.video.srcObject = null;
  }

  // ---------------------------------------------------------------- what the viewer sees

  /** @param {Room} room */
  function broadcasterVideo(room) {
    for (const participant of room.remoteParticipants.values()) {
      if (!isBroadcaster(participant)) continue;
      for (const publication of participant.videoTrackPublications.values()) {
        if (publication.isSubscribed && publication.track) return publication;
      }
    }
    return null;
  }

  /** @param {Room} room a video track the streamer published, whether or not it plays yet */
  function broadcasterPublishedVideo(room) {
    return [...room.remoteParticipants.values()].some(
      (participant) => isBroadcaster(participant) && participant.videoTrackPublications.size > 0,
    );
  }

  /** @param {Room} room */
  function showPlaybackState(room) {
    if (room.state !== LK.ConnectionState.Connected) return;
    const hostHere = [...room.remoteParticipants.values()].some(isBroadcaster);
    if (broadcasterVideo(room)) {
      setPlaying(true);
      setStatus("", { quiet: true });
    } else if (broadcasterPublishedVideo(room)) {
      setPlaying(false);
      setStatus(gettext("Waiting for the video…"), { busy: true });
    } else if (!state.hadVideo) {
      // In the room before the streamer's video: calm, not an error; it starts by itself.
      setPlaying(false);
      setStatus(gettext("The stream is starting…"), {
        busy: true,
        detail: gettext("The video appears here as soon as the streamer sends it."),
      });
    } else {
      setPlaying(false);
      setStatus(hostHere ? gettext("Waiting for the video…") : gettext("Waiting for the streamer to come back…"), {
        busy: true,
        detail: hostHere ? "" : gettext("Their connection may have dropped. Stay here: it picks up by itself."),
      });
    }
  }

  /** @param {Room} room */
  function onReconnected(room) {
    showNotice("");
    onParticipantsChanged(room); // who came and went meanwhile
  }

  /**
   * Everyone watching from the room: viewers and guests, not the streamer (studio or OBS) nor
   * LiveKit's own egress and agents; what the server counts too.
   * @param {Room} room
   */
  function roomViewers(room) {
    if (audiencePrefixes.length === 0) return remoteViewers(room);
    let viewers = 0;
    for (const participant of room.remoteParticipants.values()) {
      const identity = participant.identity;
      if (!isBroadcaster(participant) && audiencePrefixes.some((prefix) => identity.startsWith(prefix))) viewers += 1;
    }
    return viewers;
  }

  /** @param {Room} room */
  function onParticipantsChanged(room) {
    showViewers(1 + roomViewers(room)); // you are watching too
    showPlaybackState(room);
  }

  // Only over a playing video: before it there is nothing to hear yet.
  /** @param {Room | null} room */
  function updateUnmute(room) {
    el.unmute.hidden = !room || room.canPlaybackAudio || !el.player.classList.contains("is-playing");
    controls.render();
  }

  el.unmute.addEventListener("click", async () => {
    if (!state.room) return;
    await controls.unmute();
    updateUnmute(state.room);
  });

  // ---------------------------------------------------------------- quality

  const QUALITY = {
    // With adaptiveStream the client asks only for what the player can show; HIGH as the
    // ceiling hands that choice back to it (livekit-client 2.23: the smaller of the two wins).
    auto: () => LK.VideoQuality.HIGH,
    low: () => LK.VideoQuality.LOW,
    medium: () => LK.VideoQuality.MEDIUM,
    high: () => LK.VideoQuality.HIGH,
  };

  /** @returns {keyof typeof QUALITY} */
  function chosenQuality() {
    const value = el.quality.value;
    return value === "low" || value === "medium" || value === "high" ? value : "auto";
  }

  /** @param {import("livekit-client").RemoteTrackPublication} publication */
  function applyQuality(publication) {
    if (!publication || publication.kind !== LK.Track.Kind.Video || !publication.isSubscribed) return;
    try {
      publication.setVideoQuality(QUALITY[chosenQuality()]());
    } catch (error) {
      console.warn("golive: could not change video quality", error);
    }
  }

  function applyQualityToAll() {
    const room = state.room;
    if (!room) return;
    for (const participant of room.remoteParticipants.values()) {
      for (const publication of participant.videoTrackPublications.values()) applyQuality(publication);
    }
  }

  el.quality.addEventListener("change", applyQualityToAll);

  // ---------------------------------------------------------------- page lifecycle

  window.addEventListener("pagehide", () => {
    state.leaving = true;
    leaveRoom();
  });

  window.addEventListener("pageshow", (event) => {
    // Back from the bfcache: the old room was closed on pagehide, so join again.
    if (event.persisted && !state.finished) {
      state.leaving = false;
      backoff.reset();
      connect();
    }
  });

  connect();
}
