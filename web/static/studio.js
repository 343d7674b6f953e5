// The studio: a preview of what viewers see (camera, screen, or both), Go live / End, and
// publishing to LiveKit. golive decides whether a stream is live (toggle-active, end); the media
// connection only follows that decision. If the media server can't be reached the stream stays
// live and we keep trying until the streamer presses End. Nothing here may throw past its own
// handler. studio_media.js keeps the local tracks, studio_panel.js what the streamer reads while
// live; chat.js (the watch page's chat) hears the room through the events announced here.
import {
  announce,
  byId,
  loadLivekit,
  pageData,
  quietlyDisconnect as leaveRoom,
  roomHandler,
  showStatus,
} from "./app.js";
import { Backoff, postJson, retrier } from "./net.js";
import { LivePanel, confirmEnd, hideSummary, showSummary } from "./studio_panel.js";
import { StudioMedia, canShareScreen } from "./studio_media.js";
import { gettext } from "./text.js";

/** @typedef {import("livekit-client").Room} Room */
/** @typedef {import("livekit-client").LocalTrack} LocalTrack */
/** @typedef {import("./studio_media.js").Source} Source */
/** @typedef {import("./studio_media.js").Device} Device */

const MEDIA_UNREACHABLE = gettext("Live on golive, but the media server can't be reached — retrying…");
const LIBRARY_MISSING = gettext("The streaming library could not load. Reload the page.");
const SOMETHING_WRONG = gettext("Something went wrong. Please try again.");

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
    pip: byId("preview-camera", HTMLVideoElement),
    previewBox: byId("preview-box"),
    previewOverlay: byId("preview-overlay"),
    previewHint: byId("preview-hint"),
    sourcePicker: byId("source-picker", HTMLFieldSetElement),
    muteMic: byId("mute-mic", HTMLButtonElement),
    muteCamera: byId("mute-camera", HTMLButtonElement),
    camera: byId("device-camera"),
    cameraSelect: byId("camera-select", HTMLSelectElement),
    cameraText: byId("device-camera-text"),
    mic: byId("device-mic"),
    micSelect: byId("mic-select", HTMLSelectElement),
    micText: byId("device-mic-text"),
    status: byId("status"),
    statusText: byId("status-text"),
    help: byId("device-help"),
    helpTitle: byId("device-help-title"),
    helpText: byId("device-help-text"),
    retryDevices: byId("retry-devices", HTMLButtonElement),
    useScreen: byId("use-screen", HTMLButtonElement),
    goLive: byId("go-live", HTMLButtonElement),
    end: byId("end", HTMLButtonElement),
    stageQueue: byId("stage-queue"),
  };

  const state = {
    live: Boolean(data.active), // what golive says: the stream page is live
    roomName: data.roomName || null,
    devicesPending: false,
    /** @type {Room | null} */
    room: null,
    published: false,
    /** @type {Set<LocalTrack>} tracks the room has from us */
    sent: new Set(),
    /** @type {Promise<void>} publishing changes, one after the other */
    syncing: Promise.resolve(),
    generation: 0, // bumped whenever a connection is abandoned; stale async work checks it
    connecting: false,
    /** @type {HTMLButtonElement | null} the button whose request is in flight */
    busy: null,
    switchingSource: false,
  };
  const audience = /** @type {string[]} */ (data.audiencePrefixes || []);
  const backoff = new Backoff();
  // Tries the media connection again later (retryLater); connectAndPublish reports its own failures.
  const retry = retrier(() => connectAndPublish().catch(() => {}));
  const media = new StudioMedia(
    LK,
    { preview: el.preview, pip: el.pip },
    { screenEnded: onScreenEnded, unplugged: onUnplugged },
  );
  const panel = new LivePanel({ sessionsUrl: data.sessionsUrl, healthUrl: data.healthUrl });
  /** @type {Promise<unknown> | null} */
  let chatLoaded = null;

  // The watch page's chat, loaded once the stream is live: offline there is no chat to show,
  // and chat.js would poll its history all the same. It hears the room through our announcements.
  function loadChat() {
    chatLoaded ??= import("./chat.js").catch((error) => console.warn("golive: the chat could not load", error));
    return chatLoaded;
  }

  // ---------------------------------------------------------------- rendering

  /**
   * @param {string} text
   * @param {{ busy?: boolean, tone?: string }} [options]
   */
  function setStatus(text, options) {
    showStatus(el.status, el.statusText, text, options);
  }

  function render() {
    el.goLive.hidden = state.live;
    el.end.hidden = !state.live;
    el.stageQueue.hidden = !state.live;
    el.previewBox.classList.toggle("is-live", state.live);
    el.goLive.disabled = state.busy !== null || !media.hasVideo();
    el.end.disabled = state.busy !== null;
    for (const button of [el.goLive, el.end]) {
      button.classList.toggle("is-busy", state.busy === button);
      button.setAttribute("aria-busy", String(state.busy === button));
    }
    renderDevices();
    renderPreview();
    renderHelp();
  }

  /** After media changed: show it, and send the room what viewers should see now. */
  function refresh() {
    render();
    syncPublished();
  }

  function renderDevices() {
    for (const device of /** @type {Device[]} */ (["camera", "mic"])) {
      const item = device === "camera" ? el.camera : el.mic;
      const text = device === "camera" ? el.cameraText : el.micText;
      const select = device === "camera" ? el.cameraSelect : el.micSelect;
      const track = media[device];
      const notUsed = device === "camera" && !media.wantsCamera;
      item.dataset.state = track ? "ok" : notUsed ? "idle" : media.problems[device] ? "error" : "pending";
      if (track?.isMuted) item.dataset.state = "off";
      text.textContent = media.stateText(device);
      fillPicker(select, media.devices[device], media.currentDeviceId(device), device);
    }
    el.muteMic.disabled = !media.mic;
    el.muteMic.setAttribute("aria-pressed", String(media.isMuted("mic")));
    el.muteCamera.disabled = !media.camera || !media.wantsCamera;
    el.muteCamera.setAttribute("aria-pressed", String(media.isMuted("camera")));
  }

  /**
   * @param {HTMLSelectElement} select
   * @param {MediaDeviceInfo[]} devices
   * @param {string} current
   * @param {Device} device
   */
  function fillPicker(select, devices, current, device) {
    const unnamed = (/** @type {number} */ n) =>
      device === "camera" ? gettext("Camera %(n)s", { n }) : gettext("Microphone %(n)s", { n });
    const options = devices.map(
      (d, i) => new Option(d.label || unnamed(i + 1), d.deviceId, false, d.deviceId === current),
    );
    const same =
      options.length === select.options.length &&
      options.every((o, i) => o.value === select.options[i].value && o.text === select.options[i].text);
    if (!same) select.replaceChildren(...options);
    if (current && select.value !== current) select.value = current;
    // Nothing to choose from until the browser lets us see the devices, nor while it blocks them.
    const blocked = ["denied", "insecure"].includes(media.problems[device] ?? "") && !media[device];
    select.hidden = blocked || devices.length === 0 || (devices.length === 1 && !media[device]);
    select.disabled = state.switchingSource || (device === "camera" && !media.wantsCamera);
  }

  function renderPreview() {
    media.showPreview();
    const shown = media.wantsScreen && media.screen ? "screen" : media.wantsCamera && media.camera ? "camera" : "";
    const cameraOff = shown === "camera" && media.isMuted("camera");
    el.previewOverlay.hidden = shown !== "" && !cameraOff;
    if (cameraOff) el.previewHint.textContent = gettext("Your camera is off. Viewers see a dark picture.");
    else if (!shown) el.previewHint.textContent = previewHint();
  }

  function previewHint() {
    if (media.wantsScreen) return gettext("Choose a screen, window or tab to share.");
    switch (media.problems.camera) {
      case "denied":
        return gettext("Camera blocked");
      case "missing":
        return gettext("No camera found");
      case "busy":
        return gettext("Camera in use by another app");
      case "unplugged":
        return gettext("Camera disconnected");
      case "insecure":
      case "failed":
        return gettext("No camera preview");
      default:
        return gettext("Starting your camera…");
    }
  }

  // One box, one problem, one way out: blocked → how to allow; none found → plug one in or
  // share the screen; busy → close the other app. Never "allow" for a device that isn't there.
  function renderHelp() {
    const help = deviceHelp();
    el.help.hidden = help === null;
    if (!help) return;
    el.helpTitle.textContent = help.title;
    el.helpText.textContent = help.text;
    el.retryDevices.hidden = !help.retry;
    el.useScreen.hidden = !help.offerScreen;
  }

  /** @returns {{ title: string, text: string, retry: boolean, offerScreen: boolean } | null} */
  function deviceHelp() {
    const camera = media.wantsCamera ? media.problems.camera : null;
    const mic = media.problems.mic;
    const screen = canShareScreen() && !media.wantsScreen;
    if (camera === "insecure" || mic === "insecure") {
      return {
        title: gettext("The camera needs a secure page"),
        text: gettext("Browsers only allow the camera and microphone on https pages. Open the studio from its https address."),
        retry: false,
        offerScreen: false,
      };
    }
    if (camera === "denied" || mic === "denied") {
      const title =
        camera === "denied" && mic === "denied"
          ? gettext("Camera and microphone are blocked")
          : camera === "denied"
            ? gettext("The camera is blocked")
            : gettext("The microphone is blocked");
      return {
        title,
        text: gettext(
          "Your browser stops golive from using it. Click the camera icon or the padlock in the address bar, allow the camera and microphone for this site, then press Try again. On a phone, allow them in the browser's site settings.",
        ),
        retry: true,
        offerScreen: screen && camera === "denied",
      };
    }
    if (camera === "missing" || camera === "unplugged") {
      const title = camera === "missing" ? gettext("No camera found") : gettext("Your camera was disconnected");
      const text = screen
        ? gettext("Plug in a camera and press Try again — or share your screen instead.")
        : gettext("Plug in a camera and press Try again.");
      return { title, text, retry: true, offerScreen: screen };
    }
    if (camera === "busy" || mic === "busy") {
      return {
        title: gettext("Your camera or microphone is in use"),
        text: gettext("Another app or browser tab is using it. Close that, then press Try again."),
        retry: true,
        offerScreen: screen && camera === "busy",
      };
    }
    if (mic === "missing" || mic === "unplugged") {
      return {
        title: mic === "missing" ? gettext("No microphone found") : gettext("Your microphone was disconnected"),
        text: gettext("Your stream will have no sound. Plug in a microphone and press Try again."),
        retry: true,
        offerScreen: false,
      };
    }
    if (camera === "failed" || mic === "failed") {
      return {
        title: gettext("Your camera and microphone could not be started"),
        text: gettext("Press Try again. If it keeps failing, reload the page."),
        retry: true,
        offerScreen: screen,
      };
    }
    return null;
  }

  function showLiveStatus() {
    const room = state.room;
    if (!state.live || !room || !state.published) return;
    if (!media.hasVideo()) {
      setStatus(gettext("You are live, but no picture is being sent. Pick a camera or share your screen."), {
        tone: "warn",
      });
    } else if (media.isMuted("mic") || !media.mic) {
      setStatus(gettext("You are live. Your microphone is off."), { tone: "ok" });
    } else {
      setStatus(gettext("You are live."), { tone: "ok" });
    }
  }

  function readyStatus() {
    if (state.live) {
      showLiveStatus();
    } else if (!media.hasVideo() && deviceHelp()) {
      setStatus(""); // the device box says what is wrong, and how to get out of it
    } else if (media.hasVideo()) {
      setStatus(gettext("Ready when you are. Press Go live to start streaming."));
    } else {
      setStatus(gettext("Pick a camera or share your screen to go live."), { tone: "warn" });
    }
  }

  // ---------------------------------------------------------------- local media

  async function startDevices({ again = false } = {}) {
    if (state.devicesPending) return;
    state.devicesPending = true;
    if (!state.live && !media.hasVideo()) {
      setStatus(gettext("Getting your camera and microphone ready…"), { busy: true });
    }
    try {
      await media.openDevices({ again });
    } finally {
      state.devicesPending = false;
      refresh();
      readyStatus();
    }
  }

  /** @param {Source} source */
  async function chooseSource(source) {
    if (state.switchingSource || source === media.source) return;
    state.switchingSource = true;
    // Not disabled meanwhile: that would take the keyboard focus away from the choice.
    el.sourcePicker.setAttribute("aria-busy", "true");
    try {
      const outcome = await media.setSource(source);
      if (outcome === "cancelled") {
        setStatus(gettext("Screen sharing was cancelled. Viewers still see what they saw."));
      } else if (outcome === "failed") {
        setStatus(gettext("Your screen could not be shared. Try again, or pick another window."), {
          tone: "warn",
        });
      } else {
        readyStatus();
      }
    } finally {
      state.switchingSource = false;
      el.sourcePicker.setAttribute("aria-busy", "false");
      checkSource(media.source); // back to the old choice when the new one didn't happen
      refresh();
    }
  }

  /** @param {Source} source */
  function checkSource(source) {
    const radio = el.sourcePicker.querySelector(`input[value="${source}"]`);
    if (radio instanceof HTMLInputElement) radio.checked = true;
  }

  function onScreenEnded() {
    // "Stop sharing" in the browser's bar: back to the camera, and say so.
    chooseSource("camera")
      .then(() => {
        setStatus(
          media.camera
            ? gettext("You stopped sharing your screen. Viewers see your camera again.")
            : gettext("You stopped sharing your screen."),
          { tone: media.camera ? "" : "warn" },
        );
      })
      .catch((error) => console.warn("golive: back to the camera failed", error));
  }

  /** @param {Device} device */
  function onUnplugged(device) {
    refresh();
    setStatus(
      device === "camera"
        ? gettext("Your camera was disconnected. Plug it back in or pick another one.")
        : gettext("Your microphone was disconnected. Plug it back in or pick another one."),
      { tone: "warn" },
    );
  }

  /** @param {Device} device */
  async function pickDevice(device) {
    const select = device === "camera" ? el.cameraSelect : el.micSelect;
    const deviceId = select.value;
    if (!deviceId || deviceId === media.currentDeviceId(device)) return;
    select.disabled = true;
    try {
      await media.pick(device, deviceId);
      readyStatus();
    } catch (error) {
      console.warn("golive: could not switch devices", error);
      setStatus(
        device === "camera"
          ? gettext("That camera could not be started. Pick another one.")
          : gettext("That microphone could not be started. Pick another one."),
        { tone: "warn" },
      );
    } finally {
      select.disabled = false;
      refresh();
    }
  }

  /** @param {Device} device */
  async function toggleMute(device) {
    try {
      await media.toggleMute(device);
    } catch (error) {
      console.warn("golive: could not mute or unmute", error);
      setStatus(SOMETHING_WRONG, { tone: "error" });
    }
    render();
    if (state.live) showLiveStatus();
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
    const nowLive = await whileBusy(el.goLive, gettext("Going live…"), async () => {
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
    if (!nowLive) return;
    hideSummary();
    panel.start(0, null);
    await loadChat();
    render();
    el.end.focus(); // the button that was pressed is gone; End took its place
    await connectAndPublish();
  }

  async function askToEnd() {
    if (state.busy || !state.live) return;
    if (await confirmEnd(el.end)) await endStream();
  }

  async function endStream() {
    if (state.busy || !state.live) return;
    const sessionId = panel.sessionId;
    await whileBusy(el.end, gettext("Ending your stream…"), async () => {
      const result = await postJson(data.endUrl);
      // 409 = it already ended (from Discord, or by a moderator): the outcome the streamer wants.
      if (!result.ok && result.status !== 409) {
        setStatus(result.error, { tone: "error" });
        return;
      }
      const summary = result.ok ? result.body.summary : await panel.fetchSummary(sessionId);
      await backToPreview(gettext("Your stream has ended. Go live again whenever you're ready."), "ok");
      if (summary) showSummary(summary);
    });
  }

  /**
   * @param {string} message
   * @param {string} [tone]
   */
  async function backToPreview(message, tone = "") {
    state.live = false;
    state.roomName = null;
    panel.stop();
    await dropConnection();
    if (!media.usable()) await startDevices();
    setStatus(message, { tone });
    render();
    if (document.activeElement === document.body || !document.activeElement) el.goLive.focus();
  }

  /**
   * Ended from elsewhere (Discord, a moderator, auto-end): go back and show the numbers.
   * @param {string} message
   */
  async function endedElsewhere(message) {
    const sessionId = panel.sessionId;
    await backToPreview(message, "warn");
    const summary = await panel.fetchSummary(sessionId);
    if (summary && !state.live) showSummary(summary);
  }

  // ---------------------------------------------------------------- media connection

  async function connectAndPublish() {
    if (!state.live || state.connecting || state.room) return;
    retry.cancel();
    if (!media.usable()) {
      if (!state.devicesPending) await startDevices();
      if (!media.hasVideo()) return; // the device box told the streamer what to do
    }
    const generation = state.generation;
    const stale = () => generation !== state.generation || !state.live;
    state.connecting = true;
    let room = null;
    try {
      setStatus(
        backoff.attempt === 0 ? gettext("You are live. Connecting to the media server…") : MEDIA_UNREACHABLE,
        { busy: true },
      );
      const token = await postJson(data.tokenUrl, { roomName: state.roomName, role: "broadcaster" });
      if (stale()) return;
      if (!token.ok) {
        await handleTokenFailure(token);
        return;
      }

      room = new LK.Room({ dynacast: true, stopLocalTrackOnUnpublish: false });
      state.room = room;
      state.sent = new Set();
      wireRoom(room);
      await room.connect(token.body.wsUrl || data.wsUrl, token.body.token);
      if (stale()) return;
      await publishWanted(room, stale);
      if (stale()) return;
      state.published = true;
      backoff.reset();
      announce("connection", { connected: true });
      showViewers(room);
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

  /**
   * Make the room carry exactly the tracks viewers should see: publish new ones, unpublish the
   * ones no longer wanted (a camera swapped for a screen). Their capture keeps running.
   * @param {Room} room
   * @param {() => boolean} stale
   */
  async function publishWanted(room, stale) {
    const wanted = media.tracks();
    for (const track of [...state.sent]) {
      if (wanted.includes(track) || stale()) continue;
      state.sent.delete(track);
      await room.localParticipant.unpublishTrack(track, false);
    }
    for (const track of wanted) {
      if (state.sent.has(track) || stale()) continue;
      state.sent.add(track);
      await room.localParticipant.publishTrack(track, track.kind === "video" ? { simulcast: true } : {});
    }
  }

  /** Publishing changes wait for each other, so a quick double switch can't send a track twice. */
  function syncPublished() {
    const room = state.room;
    if (!room || !state.published) return;
    const generation = state.generation;
    const stale = () => generation !== state.generation || state.room !== room;
    state.syncing = state.syncing
      .then(() => (stale() ? undefined : publishWanted(room, stale)))
      .catch((error) => {
        console.warn("golive: could not change what is sent", error);
        setStatus(gettext("What viewers see could not be changed. Try again."), { tone: "warn" });
      });
  }

  /** @param {import("./net.js").Reply} result */
  async function handleTokenFailure(result) {
    if (result.status === 404) {
      // golive no longer has this stream live (ended from Discord, by a moderator, or by LiveKit).
      await endedElsewhere(gettext("Your stream is no longer live. Go live again whenever you're ready."));
    } else if (result.status === 401 || result.status === 403) {
      setStatus(
        gettext("%(reason)s Your stream is still live; end it from Discord or sign in again.", {
          reason: result.error,
        }),
        { tone: "error" },
      );
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
    panel.setViewers(null);
    panel.setQuality("");
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
    state.sent = new Set();
    panel.setViewers(null);
    panel.setQuality("");
    if (room) {
      announce("connection", { connected: false });
      await quietlyDisconnect(room);
    }
  }

  /** @param {Room} room */
  function quietlyDisconnect(room) {
    return leaveRoom(room, { stopTracks: false }); // the preview keeps the camera
  }

  /**
   * People watching: golive's audience identities only (not the studio's other tab, OBS, or
   * LiveKit's own egress and agents).
   * @param {Room} room
   */
  function showViewers(room) {
    let viewers = 0;
    for (const participant of room.remoteParticipants.values()) {
      if (audience.some((prefix) => participant.identity.startsWith(prefix))) viewers += 1;
    }
    panel.setViewers(viewers);
  }

  /** @param {Room} room */
  function wireRoom(room) {
    const E = LK.RoomEvent;
    const mine = roomHandler(() => state.room === room, "studio");
    room
      .on(E.ParticipantConnected, mine(() => showViewers(room)))
      .on(E.ParticipantDisconnected, mine(() => showViewers(room)))
      .on(E.DataReceived, mine(onData))
      .on(E.ConnectionQualityChanged, mine((quality, participant) => onQuality(room, quality, participant)))
      .on(
        E.Reconnecting,
        mine(() =>
          setStatus(gettext("You are live. Connection hiccup — reconnecting…"), { busy: true, tone: "warn" }),
        ),
      )
      .on(E.Reconnected, mine(showLiveStatus))
      .on(E.Disconnected, mine((reason) => onDisconnected(room, reason)));
  }

  // The server's packets (chat on "chat", tips on "tips") reach chat.js as on the watch page.
  /**
   * @param {Uint8Array} payload
   * @param {unknown} _participant
   * @param {unknown} _kind
   * @param {string} [topic]
   */
  function onData(payload, _participant, _kind, topic) {
    const text = new TextDecoder().decode(payload);
    announce("data", { topic, text });
    if (topic !== "tips") return;
    try {
      panel.addTip(JSON.parse(text));
    } catch (error) {
      console.warn("golive: unreadable tip packet", error);
    }
  }

  /**
   * @param {Room} room
   * @param {unknown} quality
   * @param {{ identity: string } | undefined} participant
   */
  function onQuality(room, quality, participant) {
    if (participant && participant.identity === room.localParticipant.identity) panel.setQuality(String(quality));
  }

  /**
   * @param {Room} _room
   * @param {import("livekit-client").DisconnectReason | undefined} reason
   */
  async function onDisconnected(_room, reason) {
    const R = LK.DisconnectReason;
    state.room = null;
    state.published = false;
    state.sent = new Set();
    announce("connection", { connected: false });
    panel.setViewers(null);
    panel.setQuality("");
    render();
    if (reason === R.CLIENT_INITIATED || !state.live) return;
    if (reason === R.ROOM_DELETED) {
      await endedElsewhere(gettext("Your stream was ended (from Discord or by a moderator)."));
    } else if (reason === R.DUPLICATE_IDENTITY) {
      setStatus(
        gettext("Your studio is open in another tab, which is now sending. Reload here to send from this one."),
        { tone: "warn" },
      );
    } else if (reason === R.PARTICIPANT_REMOVED) {
      setStatus(gettext("The media server removed you from your stream. Press End, or reload to try again."), {
        tone: "error",
      });
    } else {
      retryLater();
    }
  }

  // ---------------------------------------------------------------- wiring

  /**
   * @param {string} what for the console
   * @param {() => Promise<unknown>} work
   */
  function guarded(what, work) {
    return () => {
      work().catch((error) => {
        console.warn(`golive: ${what} failed`, error);
        setStatus(SOMETHING_WRONG, { tone: "error" });
      });
    };
  }

  el.goLive.addEventListener("click", guarded("go live", goLive));
  el.end.addEventListener("click", guarded("end", askToEnd));
  el.muteMic.addEventListener("click", guarded("mute", () => toggleMute("mic")));
  el.muteCamera.addEventListener("click", guarded("mute", () => toggleMute("camera")));
  el.cameraSelect.addEventListener("change", guarded("camera pick", () => pickDevice("camera")));
  el.micSelect.addEventListener("change", guarded("microphone pick", () => pickDevice("mic")));
  el.sourcePicker.addEventListener("change", (event) => {
    const input = event.target;
    if (input instanceof HTMLInputElement && input.name === "source") {
      guarded("source", () => chooseSource(/** @type {Source} */ (input.value)))();
    }
  });
  el.useScreen.addEventListener(
    "click",
    guarded("screen", async () => {
      checkSource("screen");
      await chooseSource("screen");
    }),
  );
  el.retryDevices.addEventListener(
    "click",
    guarded("device retry", async () => {
      await startDevices({ again: true });
      if (state.live && media.usable() && !state.room) {
        backoff.reset();
        await connectAndPublish();
      }
    }),
  );

  navigator.mediaDevices?.addEventListener?.(
    "devicechange",
    guarded("device change", async () => {
      const opened = await media.devicesChanged();
      refresh();
      if (opened) readyStatus();
      if (opened && state.live && !state.room) await connectAndPublish();
    }),
  );

  if (!canShareScreen()) {
    // Phones can't share a screen: offer only what works here.
    for (const option of el.sourcePicker.querySelectorAll("[data-needs-screen]")) {
      if (option instanceof HTMLElement) option.hidden = true;
    }
    el.sourcePicker.hidden = true;
  }

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
    if (state.live) {
      panel.start(Number(data.liveSeconds) || 0, data.sessionId ?? null);
      setStatus(gettext("You are live."), { tone: "ok" });
      await loadChat();
    }
    await startDevices();
    if (state.live) await connectAndPublish();
  }

  start().catch((error) => {
    console.warn("golive: studio failed to start", error);
    setStatus(gettext("The studio could not start. Reload the page."), { tone: "error" });
  });
}
