// The studio: camera + mic preview, Go live / End, and publishing to LiveKit.
// golive decides whether a stream is live (toggle-active); the media connection only follows
// that decision. If the media server can't be reached the stream stays live and we keep trying
// until the streamer presses End. Nothing here may throw past its own handler.
import {
  byId,
  loadLivekit,
  pageData,
  quietlyDisconnect as leaveRoom,
  remoteViewers,
  roomHandler,
  showStatus,
} from "./app.js";
import { Backoff, postJson, retrier } from "./net.js";

/** @typedef {import("livekit-client").Room} Room */
/** @typedef {import("livekit-client").LocalTrack} LocalTrack */

const MEDIA_UNREACHABLE = "Live on golive, but the media server can't be reached — retrying…";
const LIBRARY_MISSING = "The streaming library could not load. Reload the page.";

const data = pageData();
if (data && document.getElementById("go-live")) {
  const LK = await loadLivekit();
  if (LK) startStudio(data, LK);
  else showStatus(byId("status"), byId("status-text"), LIBRARY_MISSING, { tone: "error" });
}

/**
 * @param {any} data the page data
 * @param {typeof import("livekit-client")} LK
 */
function startStudio(data, LK) {
  const el = {
    preview: byId("preview", HTMLVideoElement),
    previewBox: /** @type {HTMLElement} */ (byId("preview").closest(".player")),
    previewOverlay: byId("preview-overlay"),
    previewHint: byId("preview-hint"),
    camera: byId("device-camera"),
    cameraText: byId("device-camera-text"),
    mic: byId("device-mic"),
    micText: byId("device-mic-text"),
    status: byId("status"),
    statusText: byId("status-text"),
    help: byId("permission-help"),
    retryDevices: byId("retry-devices"),
    goLive: byId("go-live", HTMLButtonElement),
    end: byId("end", HTMLButtonElement),
    badge: byId("studio-live-badge"),
  };

  const state = {
    live: Boolean(data.active), // what golive says: the stream page is live
    roomName: data.roomName || null,
    /** @type {LocalTrack[]} local camera/mic tracks; kept across connections */
    tracks: [],
    devicesPending: false,
    /** @type {Room | null} */
    room: null,
    published: false,
    generation: 0, // bumped whenever a connection is abandoned; stale async work checks it
    connecting: false,
    /** @type {HTMLButtonElement | null} the button whose request is in flight */
    busy: null,
  };
  const backoff = new Backoff();
  // Tries the media connection again later (retryLater); connectAndPublish reports its own failures.
  const retry = retrier(() => connectAndPublish().catch(() => {}));

  // ---------------------------------------------------------------- rendering

  /**
   * @param {string} text
   * @param {{ busy?: boolean, tone?: string }} [options]
   */
  function setStatus(text, options) {
    showStatus(el.status, el.statusText, text, options);
  }

  function render() {
    const hasVideo = state.tracks.some((t) => t.kind === "video");
    el.goLive.hidden = state.live;
    el.end.hidden = !state.live;
    el.badge.hidden = !state.live;
    el.previewBox.classList.toggle("is-live", state.live);
    el.goLive.disabled = state.busy !== null || !hasVideo;
    el.end.disabled = state.busy !== null;
    for (const button of [el.goLive, el.end]) {
      button.classList.toggle("is-busy", state.busy === button);
      button.setAttribute("aria-busy", String(state.busy === button));
    }
  }

  /**
   * @param {HTMLElement} item
   * @param {HTMLElement} textElement
   * @param {boolean | null} ok
   * @param {string} text
   */
  function setDevice(item, textElement, ok, text) {
    item.dataset.state = ok === null ? "pending" : ok ? "ok" : "error";
    textElement.textContent = text;
  }

  function showLiveStatus() {
    const room = state.room;
    if (!state.live || !room || !state.published) return;
    const viewers = remoteViewers(room);
    setStatus(`You are live · ${viewers} ${viewers === 1 ? "viewer" : "viewers"}`, { tone: "ok" });
  }

  // ---------------------------------------------------------------- camera and microphone

  async function startDevices() {
    if (state.devicesPending) return;
    state.devicesPending = true;
    el.help.hidden = true;
    el.previewOverlay.hidden = false;
    el.previewHint.textContent = "Starting your camera…";
    setDevice(el.camera, el.cameraText, null, "waiting for permission…");
    setDevice(el.mic, el.micText, null, "waiting for permission…");
    if (!state.live) setStatus("Getting your camera and microphone ready…", { busy: true });
    try {
      const tracks = await openTracks();
      stopTracks(state.tracks);
      state.tracks = tracks;
      for (const track of tracks) watchForUnplug(track);
      showDevices();
      if (!state.live) setStatus("Ready when you are. Press Go live to start streaming.");
    } catch (error) {
      explainDeviceError(error);
    } finally {
      state.devicesPending = false;
      render();
    }
  }

  async function openTracks() {
    if (!window.isSecureContext || !navigator.mediaDevices) {
      throw new DOMException("insecure context", "SecurityError");
    }
    const video = { resolution: LK.VideoPresets.h720.resolution };
    try {
      return await LK.createLocalTracks({ audio: true, video });
    } catch (error) {
      // A webcam without a microphone (or the other way round) can still stream.
      const name = error instanceof Error ? error.name : "";
      if (name === "NotFoundError" || name === "OverconstrainedError") {
        for (const options of [{ video }, { audio: true }]) {
          try {
            return await LK.createLocalTracks(options);
          } catch {
            // try the next combination
          }
        }
      }
      throw error;
    }
  }

  function showDevices() {
    const video = state.tracks.find((t) => t.kind === "video");
    const audio = state.tracks.find((t) => t.kind === "audio");
    if (video) {
      video.attach(el.preview);
      el.preview.play().catch(() => {});
      el.previewOverlay.hidden = true;
      setDevice(el.camera, el.cameraText, true, video.mediaStreamTrack.label || "on");
    } else {
      el.previewOverlay.hidden = false;
      el.previewHint.textContent = "No camera found.";
      setDevice(el.camera, el.cameraText, false, "not found");
    }
    if (audio) {
      setDevice(el.mic, el.micText, true, audio.mediaStreamTrack.label || "on");
    } else {
      setDevice(el.mic, el.micText, false, "not found");
    }
  }

  /** @param {LocalTrack} track */
  function watchForUnplug(track) {
    track.on(LK.TrackEvent.Ended, () => {
      if (!state.tracks.includes(track)) return;
      const video = track.kind === "video";
      setDevice(video ? el.camera : el.mic, video ? el.cameraText : el.micText, false,
        "disconnected — press Try again");
      el.help.hidden = false;
    });
  }

  /** @param {any} error */
  function explainDeviceError(error) {
    const name = (error && error.name) || "";
    let message;
    if (name === "NotAllowedError" || name === "PermissionDeniedError") {
      message = "Camera and microphone access is blocked. Allow it in your browser, then press Try again.";
    } else if (name === "NotFoundError" || name === "OverconstrainedError") {
      message = "No camera or microphone was found. Plug one in, then press Try again.";
    } else if (name === "NotReadableError" || name === "AbortError") {
      message = "Your camera or microphone is busy in another app. Close that app, then press Try again.";
    } else if (name === "SecurityError") {
      message = "Your browser only allows the camera on a secure (https) page.";
    } else {
      message = "Your camera and microphone could not be started. Press Try again.";
    }
    el.previewOverlay.hidden = false;
    el.previewHint.textContent = "No camera preview";
    setDevice(el.camera, el.cameraText, false, "not available");
    setDevice(el.mic, el.micText, false, "not available");
    el.help.hidden = false;
    setStatus(state.live ? `You are live, but nothing is being sent. ${message}` : message, { tone: "warn" });
  }

  /** @param {LocalTrack[]} tracks */
  function stopTracks(tracks) {
    for (const track of tracks) {
      try {
        track.stop();
      } catch {
        // already stopped
      }
    }
  }

  function tracksUsable() {
    return (
      state.tracks.length > 0 &&
      state.tracks.every((t) => t.mediaStreamTrack && t.mediaStreamTrack.readyState === "live")
    );
  }

  // ---------------------------------------------------------------- API calls

  // While a button's request is in flight: neither button can be pressed, this one spins.
  /**
   * @template T
   * @param {HTMLButtonElement} button
   * @param {string} text
   * @param {() => Promise<T>} work
   * @returns {Promise<T>}
   */
  async function whileBusy(button, text, work) {
    state.busy = button;
    render();
    setStatus(text, { busy: true });
    try {
      return await work();
    } finally {
      state.busy = null;
      render();
    }
  }

  async function goLive() {
    if (state.busy || state.live) return;
    const nowLive = await whileBusy(el.goLive, "Going live…", async () => {
      const result = await postJson(data.toggleUrl, { active: true });
      if (!result.ok || !result.body || typeof result.body.roomName !== "string") {
        setStatus(result.error, { tone: "error" });
        return false;
      }
      state.live = true;
      state.roomName = result.body.roomName;
      backoff.reset();
      return true;
    });
    if (nowLive) await connectAndPublish();
  }

  async function endStream() {
    if (state.busy || !state.live) return;
    await whileBusy(el.end, "Ending your stream…", async () => {
      const result = await postJson(data.toggleUrl, { active: false });
      // 409 = it already ended (from Discord, or by a moderator): the outcome the streamer wants.
      if (!result.ok && result.status !== 409) {
        setStatus(result.error, { tone: "error" });
        return;
      }
      await backToPreview("Your stream has ended. Go live again whenever you're ready.", "ok");
    });
  }

  /**
   * @param {string} message
   * @param {string} [tone]
   */
  async function backToPreview(message, tone = "") {
    state.live = false;
    state.roomName = null;
    await dropConnection();
    if (state.tracks.length && !tracksUsable()) await startDevices();
    else if (state.tracks.length) showDevices();
    setStatus(message, { tone });
    render();
  }

  // ---------------------------------------------------------------- media connection

  async function connectAndPublish() {
    if (!state.live || state.connecting || state.room) return;
    retry.cancel();
    if (!tracksUsable()) {
      if (!state.devicesPending) await startDevices();
      if (!tracksUsable()) return; // explainDeviceError told the streamer what to do
    }
    const generation = state.generation;
    const stale = () => generation !== state.generation || !state.live;
    state.connecting = true;
    let room = null;
    try {
      setStatus(backoff.attempt === 0 ? "You are live. Connecting to the media server…" : MEDIA_UNREACHABLE, {
        busy: true,
      });
      const token = await postJson(data.tokenUrl, { roomName: state.roomName, role: "broadcaster" });
      if (stale()) return;
      if (!token.ok) {
        await handleTokenFailure(token);
        return;
      }

      room = new LK.Room({ dynacast: true, stopLocalTrackOnUnpublish: false });
      state.room = room;
      wireRoom(room);
      await room.connect(token.body.wsUrl || data.wsUrl, token.body.token);
      if (stale()) return;
      for (const track of state.tracks) {
        await room.localParticipant.publishTrack(track, { simulcast: true });
        if (stale()) return;
      }
      state.published = true;
      backoff.reset();
      render();
      showLiveStatus();
    } catch (error) {
      console.warn("golive: media connection failed", error);
      if (!stale() && state.room === room) {
        state.room = null;
        state.published = false;
        if (room) await quietlyDisconnect(room);
        retryLater();
      }
    } finally {
      state.connecting = false;
      if (room && stale() && state.room !== room) await quietlyDisconnect(room);
    }
  }

  /** @param {import("./net.js").Reply} result */
  async function handleTokenFailure(result) {
    if (result.status === 404) {
      // golive no longer has this stream live (ended from Discord, by a moderator, or by LiveKit).
      await backToPreview("Your stream is no longer live. Go live again whenever you're ready.", "warn");
    } else if (result.status === 401 || result.status === 403) {
      setStatus(`${result.error} Your stream is still live; end it from Discord or sign in again.`, {
        tone: "error",
      });
    } else {
      retryLater(result.error, result.retryAfterMs);
    }
  }

  /**
   * @param {string} [reason]
   * @param {number | null} [retryAfterMs]
   */
  function retryLater(reason = "", retryAfterMs = null) {
    if (!state.live || retry.pending) return;
    const delay = backoff.next(retryAfterMs);
    state.published = false;
    render();
    setStatus(reason && reason !== MEDIA_UNREACHABLE ? `${MEDIA_UNREACHABLE} (${reason})` : MEDIA_UNREACHABLE, {
      busy: true,
      tone: "warn",
    });
    retry.schedule(delay);
  }

  async function dropConnection() {
    state.generation += 1;
    retry.cancel();
    const room = state.room;
    state.room = null;
    state.published = false;
    if (room) await quietlyDisconnect(room);
  }

  /** @param {Room} room */
  function quietlyDisconnect(room) {
    return leaveRoom(room, { stopTracks: false }); // the preview keeps the camera
  }

  /** @param {Room} room */
  function wireRoom(room) {
    const E = LK.RoomEvent;
    const mine = roomHandler(() => state.room === room, "studio");
    room
      .on(E.ParticipantConnected, mine(showLiveStatus))
      .on(E.ParticipantDisconnected, mine(showLiveStatus))
      .on(E.Reconnecting, mine(() => setStatus("You are live. Connection hiccup — reconnecting…", { busy: true, tone: "warn" })))
      .on(E.Reconnected, mine(showLiveStatus))
      .on(E.Disconnected, mine((reason) => onDisconnected(room, reason)));
  }

  /**
   * @param {Room} _room
   * @param {import("livekit-client").DisconnectReason | undefined} reason
   */
  async function onDisconnected(_room, reason) {
    const R = LK.DisconnectReason;
    state.room = null;
    state.published = false;
    render();
    if (reason === R.CLIENT_INITIATED || !state.live) return;
    if (reason === R.ROOM_DELETED) {
      await backToPreview("Your stream was ended (from Discord or by a moderator).", "warn");
    } else if (reason === R.DUPLICATE_IDENTITY) {
      setStatus("Your studio is open in another tab, which is now sending. Reload here to send from this one.", {
        tone: "warn",
      });
    } else if (reason === R.PARTICIPANT_REMOVED) {
      setStatus("The media server removed you from your stream. Press End, or reload to try again.", {
        tone: "error",
      });
    } else {
      retryLater();
    }
  }

  // ---------------------------------------------------------------- wiring

  el.goLive.addEventListener("click", () => {
    goLive().catch((error) => {
      console.warn("golive: go live failed", error);
      setStatus("Something went wrong. Please try again.", { tone: "error" });
    });
  });

  el.end.addEventListener("click", () => {
    endStream().catch((error) => {
      console.warn("golive: end failed", error);
      setStatus("Something went wrong. Please try again.", { tone: "error" });
    });
  });

  el.retryDevices.addEventListener("click", async () => {
    try {
      await startDevices();
      if (state.live && tracksUsable() && !state.room) {
        backoff.reset();
        await connectAndPublish();
      }
    } catch (error) {
      console.warn("golive: device retry failed", error);
    }
  });

  window.addEventListener("pagehide", () => {
    // Leaving the studio does not end the stream (golive decides that), it only stops sending.
    dropConnection().catch(() => {});
  });

  window.addEventListener("pageshow", (event) => {
    // Back from the bfcache while live: start sending again.
    if (event.persisted && state.live) {
      backoff.reset();
      connectAndPublish().catch(() => {});
    }
  });

  async function start() {
    render();
    if (state.live) setStatus("You are live.", { tone: "ok" });
    await startDevices();
    if (state.live) await connectAndPublish();
  }

  start().catch((error) => {
    console.warn("golive: studio failed to start", error);
    setStatus("The studio could not start. Reload the page.", { tone: "error" });
  });
}
