// The watch page of a live stream: fetch a viewer token, join the LiveKit room, play the
// broadcaster, count viewers, let people pick a quality, and keep trying calmly when the
// connection drops. Nothing here may throw past its own handler: errors become status text.
"use strict";

(() => {
  const LK = window.LivekitClient;
  const data = readPageData();
  if (!data || !data.active) return;

  const el = {
    player: document.getElementById("player"),
    video: document.getElementById("player-video"),
    audio: document.getElementById("player-audio"),
    status: document.getElementById("status"),
    statusText: document.getElementById("status-text"),
    statusDetail: document.getElementById("status-detail"),
    statusAction: document.getElementById("status-action"),
    unmute: document.getElementById("unmute"),
    viewers: document.getElementById("viewer-count-text"),
    quality: document.getElementById("quality"),
  };

  const HOST_PREFIX = "host-";
  const RETRY_FIRST_MS = 1000;
  const RETRY_MAX_MS = 30000;
  const QUALITY_KEY = "golive.quality";

  const state = {
    roomName: data.roomName,
    room: null,
    connecting: false,
    attempt: 0,
    retryTimer: null,
    finished: false, // the stream ended (or we were removed): stop trying
    leaving: false, // the page is going away: disconnects are expected
  };

  // ---------------------------------------------------------------- status line

  function setStatus(text, { busy = false, tone = "", detail = "", action = null, quiet = false } = {}) {
    el.statusText.textContent = text;
    el.status.classList.toggle("is-busy", busy);
    el.status.classList.toggle("is-error", tone === "error");
    el.status.classList.toggle("is-warn", tone === "warn");
    el.statusDetail.textContent = detail;
    el.statusDetail.hidden = !detail;
    el.statusAction.hidden = !action;
    if (action) el.statusAction.textContent = action;
    el.player.classList.toggle("is-quiet", quiet);
  }

  function setPlaying(playing) {
    el.player.classList.toggle("is-playing", playing);
  }

  // ---------------------------------------------------------------- token + connection

  async function fetchViewerToken() {
    let response;
    try {
      response = await fetch(data.tokenUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ roomName: state.roomName, role: "viewer" }),
      });
    } catch {
      throw new TokenError(0, "");
    }
    const body = await response.json().catch(() => null);
    if (response.ok && body && typeof body.token === "string") return body;
    throw new TokenError(response.status, body && typeof body.error === "string" ? body.error : "");
  }

  class TokenError extends Error {
    constructor(status, serverMessage) {
      super(serverMessage || `token request failed (${status})`);
      this.status = status;
      this.serverMessage = serverMessage;
    }
  }

  /** After a 404: is the stream live again in a new room (it ended and restarted)? */
  async function currentRoomName() {
    if (!data.streamUrl) return null;
    try {
      const response = await fetch(data.streamUrl, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) return null;
      const stream = await response.json();
      return stream && stream.active && typeof stream.roomName === "string" ? stream.roomName : null;
    } catch {
      return null;
    }
  }

  async function connect() {
    if (state.finished || state.leaving || state.connecting) return;
    clearRetry();
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
    if (!LK) {
      setStatus("The video player could not load.", {
        tone: "error",
        detail: "Reload the page to try again.",
        action: "Reload",
      });
      state.finished = true;
      return;
    }
    if (state.attempt === 0) setStatus("Connecting to the stream…", { busy: true });

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
    state.attempt = 0;
    onConnected(room);
  }

  async function handleTokenFailure(error) {
    const status = error instanceof TokenError ? error.status : 0;
    if (status === 404) {
      const roomName = await currentRoomName();
      if (roomName && roomName !== state.roomName) {
        state.roomName = roomName;
        state.attempt = 0;
        retryLater(null, 0);
        return;
      }
      finish("The stream has ended.", "Thanks for watching! Reload to see if it's back.");
      return;
    }
    if (status === 401 || status === 403) {
      // Retrying won't change the answer (signed out, banned, …): say what the server said.
      finish(error.serverMessage || "You can't watch this stream right now.", "", "error");
      return;
    }
    retryLater(error);
  }

  function retryLater(error, delayOverride) {
    if (state.finished || state.leaving || state.retryTimer !== null) return;
    const base = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** state.attempt);
    // A little jitter so a crowd of viewers does not retry in lock-step after an outage.
    const delay = delayOverride ?? Math.round(base * (1 + Math.random() * 0.2));
    state.attempt += 1;
    el.status.dataset.attempt = String(state.attempt);
    const serverMessage = error instanceof TokenError ? error.serverMessage : "";
    setPlaying(false);
    setStatus("Can't reach the stream — retrying…", {
      busy: true,
      detail: serverMessage || `Next try in ${Math.max(1, Math.round(delay / 1000))} s.`,
    });
    state.retryTimer = window.setTimeout(() => {
      state.retryTimer = null;
      connect();
    }, delay);
  }

  function clearRetry() {
    if (state.retryTimer !== null) {
      window.clearTimeout(state.retryTimer);
      state.retryTimer = null;
    }
  }

  function finish(text, detail = "", tone = "") {
    state.finished = true;
    clearRetry();
    const room = state.room;
    state.room = null;
    if (room) quietlyDisconnect(room);
    detachAll();
    setPlaying(false);
    updateUnmute(null);
    el.viewers.textContent = "– watching";
    setStatus(text, { tone, detail, action: "Reload" });
  }

  async function quietlyDisconnect(room) {
    try {
      room.removeAllListeners();
      await room.disconnect();
    } catch {
      // Already gone; nothing to clean up.
    }
  }

  // ---------------------------------------------------------------- room events

  function wireRoom(room) {
    const E = LK.RoomEvent;
    const mine = (handler) => (...args) => {
      if (state.room !== room) return;
      try {
        handler(...args);
      } catch (error) {
        console.warn("golive: watch handler failed", error);
      }
    };

    room
      .on(E.TrackSubscribed, mine(onTrackSubscribed))
      .on(E.TrackUnsubscribed, mine(onTrackUnsubscribed))
      .on(E.ParticipantConnected, mine(() => onParticipantsChanged(room)))
      .on(E.ParticipantDisconnected, mine(() => onParticipantsChanged(room)))
      .on(E.AudioPlaybackStatusChanged, mine(() => updateUnmute(room)))
      .on(E.Reconnecting, mine(() => setStatus("Reconnecting…", { busy: true })))
      .on(E.SignalReconnecting, mine(() => setStatus("Reconnecting…", { busy: true })))
      .on(E.Reconnected, mine(() => showPlaybackState(room)))
      .on(E.DataReceived, mine(onData))
      .on(E.ConnectionQualityChanged, mine(onQuality))
      .on(E.Disconnected, mine((reason) => onDisconnected(room, reason)));
  }

  // Packets the server sends into the room (tips, on topic "tips") go to the page's other
  // scripts as a DOM event, so each feature keeps its own file and this one stays about playback.
  function onData(payload, participant, kind, topic) {
    const text = new TextDecoder().decode(payload);
    document.dispatchEvent(new CustomEvent("golive:data", { detail: { topic, text } }));
  }

  // LiveKit's own verdict on each participant's connection (the SFU measures loss and jitter):
  // the streamer's goes to health.js, which shows a notice when it is poor.
  function onQuality(quality, participant) {
    if (!participant || !participant.identity.startsWith(HOST_PREFIX)) return;
    const detail = { quality: String(quality) };
    document.dispatchEvent(new CustomEvent("golive:broadcaster-quality", { detail }));
  }

  function onConnected(room) {
    announceConnection(true);
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

  function onTrackSubscribed(track, publication) {
    if (track.kind === LK.Track.Kind.Video) {
      track.attach(el.video);
      applyQuality(publication);
      setPlaying(true);
      el.video.play().catch(() => {
        // Muted video may autoplay; if even that is blocked the unmute button starts it.
      });
    } else if (track.kind === LK.Track.Kind.Audio) {
      const audio = track.attach();
      el.audio.appendChild(audio);
    }
    if (state.room) {
      updateUnmute(state.room);
      showPlaybackState(state.room);
    }
  }

  function onTrackUnsubscribed(track) {
    for (const element of track.detach()) {
      if (element !== el.video) element.remove();
    }
    if (state.room) showPlaybackState(state.room);
  }

  // Other scripts of the page (chat.js) poll the server while the room is not connected.
  function announceConnection(connected) {
    document.dispatchEvent(new CustomEvent("golive:connection", { detail: { connected } }));
  }

  function onDisconnected(room, reason) {
    announceConnection(false);
    state.room = null;
    detachAll();
    const R = LK.DisconnectReason || {};
    if (state.leaving || reason === R.CLIENT_INITIATED) return;
    // The server deletes the room when the stream ends, just before it records the end, so a
    // token request right now could still succeed: trust the reason instead of asking.
    if (reason === R.ROOM_DELETED) {
      finish("The stream has ended.", "Thanks for watching! Reload to see if it's back.");
    } else if (reason === R.PARTICIPANT_REMOVED) {
      finish("You were removed from this stream.", "", "error");
    } else if (reason === R.DUPLICATE_IDENTITY) {
      finish("This stream is open in another tab or window.", "Reload here to watch in this one.");
    } else {
      retryLater(null);
    }
  }

  function detachAll() {
    for (const element of el.audio.querySelectorAll("audio")) element.remove();
    el.video.srcObject = null;
  }

  // ---------------------------------------------------------------- what the viewer sees

  function broadcasterVideo(room) {
    for (const participant of room.remoteParticipants.values()) {
      if (!participant.identity.startsWith(HOST_PREFIX)) continue;
      for (const publication of participant.videoTrackPublications.values()) {
        if (publication.isSubscribed && publication.track) return publication;
      }
    }
    return null;
  }

  function showPlaybackState(room) {
    if (room.state !== LK.ConnectionState.Connected) return;
    const hostHere = [...room.remoteParticipants.values()].some((p) =>
      p.identity.startsWith(HOST_PREFIX),
    );
    if (broadcasterVideo(room)) {
      setPlaying(true);
      setStatus("", { quiet: true });
    } else {
      setPlaying(false);
      setStatus(
        hostHere ? "Waiting for the video…" : "Waiting for the streamer to come back…",
        { busy: true, detail: hostHere ? "" : "Their connection may have dropped. Stay here: it picks up by itself." },
      );
    }
  }

  function onParticipantsChanged(room) {
    let viewers = 1; // you are watching too
    for (const participant of room.remoteParticipants.values()) {
      if (!participant.identity.startsWith(HOST_PREFIX)) viewers += 1;
    }
    el.viewers.textContent = `${viewers.toLocaleString()} watching`;
    showPlaybackState(room);
  }

  function updateUnmute(room) {
    el.unmute.hidden = !room || room.canPlaybackAudio;
  }

  el.unmute.addEventListener("click", async () => {
    const room = state.room;
    if (!room) return;
    try {
      await room.startAudio();
      await el.video.play().catch(() => {});
    } catch {
      // The browser still says no; the button stays so the viewer can try again.
    }
    updateUnmute(room);
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

  function chosenQuality() {
    return Object.hasOwn(QUALITY, el.quality.value) ? el.quality.value : "auto";
  }

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

  try {
    const saved = window.localStorage.getItem(QUALITY_KEY);
    if (saved && Object.hasOwn(QUALITY, saved)) el.quality.value = saved;
  } catch {
    // Storage may be blocked (private mode); the default is fine.
  }

  el.quality.addEventListener("change", () => {
    try {
      window.localStorage.setItem(QUALITY_KEY, chosenQuality());
    } catch {
      // Not remembered, still applied.
    }
    applyQualityToAll();
  });

  // ---------------------------------------------------------------- page lifecycle

  window.addEventListener("online", () => {
    if (state.retryTimer !== null) {
      clearRetry();
      connect();
    }
  });

  window.addEventListener("pagehide", () => {
    state.leaving = true;
    clearRetry();
    const room = state.room;
    state.room = null;
    if (room) quietlyDisconnect(room);
  });

  window.addEventListener("pageshow", (event) => {
    // Back from the bfcache: the old room was closed on pagehide, so join again.
    if (event.persisted && !state.finished) {
      state.leaving = false;
      state.attempt = 0;
      connect();
    }
  });

  function readPageData() {
    try {
      return JSON.parse(document.getElementById("page-data").textContent);
    } catch {
      return null;
    }
  }

  connect();
})();
