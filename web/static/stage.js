// The stage on the watch page: raise or lower a hand, accept an invitation (pick a camera and
// microphone, see yourself, go on), publish while on stage, and show host and guests side by
// side with who is speaking. The server decides who is on stage and LiveKit enforces it: this
// page only publishes after the server has said yes, and stops when it says the guest is off.
import { byId, isBroadcaster, loadLivekit, onAnnouncement, onRoomData, pageData } from "./app.js";
import { getJson, poll, postJson } from "./net.js";
import { gettext } from "./text.js";

/** @typedef {import("livekit-client").Room} Room */

const POLL_MS = 3000;

const data = pageData();
const panel = document.getElementById("stage");
if (data && data.active && data.stageUrl && panel) {
  const LK = await loadLivekit();
  if (LK) startStage(data.stageUrl, LK);
}

/**
 * @param {string} stageUrl
 * @param {typeof import("livekit-client")} LK
 */
function startStage(stageUrl, LK) {
  const hand = document.getElementById("stage-hand");
  const invite = document.getElementById("stage-invite");
  const el = {
    grid: byId("stage-grid"),
    status: byId("stage-status"),
    leave: document.getElementById("stage-leave"),
    share: document.getElementById("stage-share"),
  };

  const state = {
    /** @type {Room | null} */
    room: null,
    /** @type {any} */
    stage: null,
    /** @type {MediaStream | null} */
    preview: null,
    /** @type {any[]} */
    published: [],
    wantsScreen: false,
    busy: false,
    /** @type {Map<string, any>} guest identity → their video track */
    guestVideo: new Map(),
    /** @type {Set<string>} */
    speaking: new Set(),
  };

  // ------------------------------------------------------------------ the room (from watch.js)

  onAnnouncement("room", (detail) => {
    const room = /** @type {Room | null} */ (detail?.room ?? null);
    state.room = room;
    if (room) {
      room.on(LK.RoomEvent.ActiveSpeakersChanged, (/** @type {{ identity: string }[]} */ speakers) => {
        state.speaking = new Set(speakers.map((speaker) => tileKey(speaker.identity)));
        markSpeakers();
      });
    }
  });

  onAnnouncement("guest-track", (detail) => {
    if (!detail || typeof detail.identity !== "string") return;
    if (detail.track) state.guestVideo.set(detail.identity, detail.track);
    else state.guestVideo.delete(detail.identity);
    showGrid();
  });

  onRoomData("stage", () => {
    refresh();
  });

  // ------------------------------------------------------------------ state from the server

  async function refresh() {
    const reply = await getJson(stageUrl);
    if (reply.ok && reply.body) await show(reply.body);
    return reply;
  }

  /** @param {any} stage */
  async function show(stage) {
    const wasOnStage = Boolean(state.stage?.me?.onStage);
    state.stage = stage;
    const me = stage.me || {};
    if (hand) {
      hand.hidden = !stage.live || !me.signedIn || me.onStage || Boolean(me.invitation);
      hand.textContent = me.handRaised ? gettext("Lower hand") : gettext("✋ Raise hand");
    }
    if (el.leave) el.leave.hidden = !me.onStage;
    if (el.share) el.share.hidden = !me.onStage;
    if (invite) {
      const invited = Boolean(me.invitation) && !me.onStage;
      if (invited && invite.hidden) startPreview();
      if (!invited && !invite.hidden) stopPreview();
      invite.hidden = !invited;
    }
    if (wasOnStage && !me.onStage) {
      await stopPublishing();
      say(gettext("You're back to watching."));
    }
    showGrid();
  }

  /** @param {string} text */
  function say(text) {
    el.status.textContent = text;
  }

  // ------------------------------------------------------------------ host and guests

  /** One tile per person: the streamer's studio and OBS count as one. */
  /** @param {string} identity */
  function tileKey(identity) {
    return isBroadcaster({ identity }) ? "host" : identity;
  }

  function showGrid() {
    const stage = state.stage;
    const guests = stage && stage.live ? stage.guests : [];
    el.grid.hidden = guests.length === 0;
    if (!guests.length) {
      el.grid.replaceChildren();
      return;
    }
    const myIdentity = stage.me?.identity;
    const tiles = [tile("host", gettext("%(name)s (host)", { name: stage.host.name }), null)];
    for (const guest of guests) {
      const mine = guest.identity === myIdentity;
      const local = mine ? state.published.find((track) => track.kind === "video") : null;
      const name = mine ? gettext("%(name)s (you)", { name: guest.name }) : guest.name;
      tiles.push(tile(guest.identity, name, local || state.guestVideo.get(guest.identity)));
    }
    el.grid.replaceChildren(...tiles);
    markSpeakers();
  }

  /**
   * @param {string} key
   * @param {string} name
   * @param {any} track a LiveKit video track to show, or null
   */
  function tile(key, name, track) {
    const item = document.createElement("li");
    item.className = "stage__tile";
    item.dataset.testid = "stage-tile";
    item.dataset.identity = key;
    if (track) {
      const video = document.createElement("video");
      video.muted = true;
      video.playsInline = true;
      video.autoplay = true;
      try {
        track.attach(video);
      } catch (error) {
        console.warn("golive: could not show a stage video", error);
      }
      item.append(video);
    }
    const label = document.createElement("span");
    label.className = "stage__name";
    label.textContent = name;
    item.append(label);
    return item;
  }

  function markSpeakers() {
    const mine = state.stage?.me?.identity;
    for (const item of el.grid.querySelectorAll(".stage__tile")) {
      if (!(item instanceof HTMLElement)) continue;
      const key = item.dataset.identity || "";
      item.classList.toggle("is-speaking", state.speaking.has(key) || (key === mine && state.speaking.has(mine)));
    }
  }

  // ------------------------------------------------------------------ raise a hand

  hand?.addEventListener("click", async () => {
    if (state.busy) return;
    state.busy = true;
    const raised = Boolean(state.stage?.me?.handRaised);
    const reply = await postJson(`${stageUrl}/${raised ? "lower" : "raise"}`);
    state.busy = false;
    say(reply.ok ? (raised ? "" : gettext("Your hand is up: the streamer sees it.")) : reply.error);
    if (reply.ok && reply.body) await show(reply.body);
  });

  // ------------------------------------------------------------------ the invitation

  const camera = document.getElementById("stage-camera");
  const microphone = document.getElementById("stage-microphone");
  const preview = document.getElementById("stage-preview");
  const screen = document.getElementById("stage-screen");

  async function startPreview() {
    stopPreview();
    try {
      state.preview = await navigator.mediaDevices.getUserMedia({
        video: deviceChoice(camera),
        audio: deviceChoice(microphone),
      });
    } catch (error) {
      say(gettext("Allow camera and microphone for this page to go on stage."));
      console.warn("golive: no camera or microphone for the stage", error);
      return;
    }
    if (preview instanceof HTMLVideoElement) preview.srcObject = state.preview;
    await listDevices();
  }

  function stopPreview() {
    for (const track of state.preview?.getTracks() ?? []) track.stop();
    state.preview = null;
    if (preview instanceof HTMLVideoElement) preview.srcObject = null;
  }

  /** @param {HTMLElement | null} select */
  function deviceChoice(select) {
    const value = select instanceof HTMLSelectElement ? select.value : "";
    return value ? { deviceId: { exact: value } } : true;
  }

  async function listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
    fill(camera, devices.filter((device) => device.kind === "videoinput"), gettext("Camera %(n)s"));
    fill(microphone, devices.filter((device) => device.kind === "audioinput"), gettext("Microphone %(n)s"));
  }

  /**
   * @param {HTMLElement | null} select
   * @param {MediaDeviceInfo[]} devices
   * @param {string} fallback "Camera %(n)s", already translated
   */
  function fill(select, devices, fallback) {
    if (!(select instanceof HTMLSelectElement) || select.options.length) return;
    devices.forEach((device, index) => {
      const unnamed = fallback.replace("%(n)s", String(index + 1));
      select.append(new Option(device.label || unnamed, device.deviceId));
    });
  }

  camera?.addEventListener("change", () => startPreview());
  microphone?.addEventListener("change", () => startPreview());

  document.getElementById("stage-accept")?.addEventListener("click", async () => {
    if (state.busy) return;
    state.busy = true;
    say(gettext("Going on stage…"));
    const identity = state.room?.localParticipant?.identity;
    const reply = await postJson(`${stageUrl}/accept`, identity ? { identity } : {});
    state.busy = false;
    if (!reply.ok) {
      say(reply.error);
      await refresh();
      return;
    }
    state.wantsScreen = screen instanceof HTMLInputElement && screen.checked;
    const choices = { video: deviceChoice(camera), audio: deviceChoice(microphone) };
    stopPreview();
    await startPublishing(choices);
    say(gettext("You're on stage."));
    await show(reply.body);
  });

  document.getElementById("stage-decline")?.addEventListener("click", async () => {
    const reply = await postJson(`${stageUrl}/decline`);
    say(reply.ok ? gettext("Invitation declined.") : reply.error);
    if (reply.ok && reply.body) await show(reply.body);
  });

  // ------------------------------------------------------------------ on stage

  /** @param {{ video: unknown, audio: unknown }} choices */
  async function startPublishing(choices) {
    const room = state.room;
    if (!room) {
      say(gettext("You're on stage, but the stream isn't connected yet: it publishes once it is."));
      return;
    }
    try {
      const tracks = await LK.createLocalTracks(/** @type {any} */ (choices));
      for (const track of tracks) {
        await room.localParticipant.publishTrack(track);
        state.published.push(track);
      }
      if (state.wantsScreen) await room.localParticipant.setScreenShareEnabled(true);
    } catch (error) {
      say(gettext("Your camera or microphone could not be published. Try leaving and accepting again."));
      console.warn("golive: publishing on stage failed", error);
    }
  }

  async function stopPublishing() {
    const room = state.room;
    for (const track of state.published) {
      try {
        if (room) await room.localParticipant.unpublishTrack(track);
      } catch {
        // LiveKit already took it down when our permission went.
      }
      track.stop();
    }
    state.published = [];
    if (room) await room.localParticipant.setScreenShareEnabled(false).catch(() => {});
  }

  el.leave?.addEventListener("click", async () => {
    const reply = await postJson(`${stageUrl}/leave`);
    if (!reply.ok) say(reply.error);
    else await show(reply.body);
  });

  el.share?.addEventListener("click", async () => {
    const room = state.room;
    if (!room) return;
    try {
      await room.localParticipant.setScreenShareEnabled(!room.localParticipant.isScreenShareEnabled);
    } catch (error) {
      console.warn("golive: screen share failed", error);
    }
  });

  poll(refresh, { everyMs: POLL_MS }).start();
}
