// The studio's own media: what viewers see (camera, screen, or screen with the camera), which
// camera and microphone, muting, and the preview. It only opens, swaps and stops local tracks;
// studio.js publishes whatever `tracks()` lists. Device choices are remembered in this browser.
import { gettext } from "./text.js";

/** @typedef {import("livekit-client").LocalTrack} LocalTrack */
/** @typedef {"camera" | "screen" | "both"} Source */
/** @typedef {"denied" | "missing" | "busy" | "insecure" | "failed" | "unplugged"} Problem */
/** @typedef {"camera" | "mic"} Device */

const REMEMBERED = { camera: "golive.studio.camera", mic: "golive.studio.microphone" };
const SOURCES = ["camera", "screen", "both"];

/** @param {unknown} error @returns {Problem} */
export function problemOf(error) {
  const name = error instanceof Error || error instanceof DOMException ? error.name : "";
  if (name === "NotAllowedError" || name === "PermissionDeniedError") return "denied";
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") {
    return "missing";
  }
  if (name === "NotReadableError" || name === "AbortError" || name === "TrackStartError") return "busy";
  if (name === "SecurityError") return "insecure";
  return "failed";
}

/** Whether this browser can share a screen at all (phones can't). */
export function canShareScreen() {
  return Boolean(window.isSecureContext && navigator.mediaDevices && "getDisplayMedia" in navigator.mediaDevices);
}

/** @param {Device} device */
function remembered(device) {
  try {
    return window.localStorage.getItem(REMEMBERED[device]) || "";
  } catch {
    return ""; // storage blocked (private mode): the browser's default device
  }
}

/** @param {Device} device @param {string} deviceId */
function remember(device, deviceId) {
  try {
    window.localStorage.setItem(REMEMBERED[device], deviceId);
  } catch {
    // Not remembered, still used.
  }
}

/** @param {LocalTrack | null} track */
function deviceIdOf(track) {
  try {
    return track?.mediaStreamTrack.getSettings().deviceId ?? "";
  } catch {
    return "";
  }
}

/** @param {LocalTrack | null} track */
function stop(track) {
  try {
    track?.stop();
  } catch {
    // already stopped
  }
}

export class StudioMedia {
  /**
   * @param {typeof import("livekit-client")} LK
   * @param {{ preview: HTMLVideoElement, pip: HTMLVideoElement }} elements
   * @param {{ screenEnded: () => void, unplugged: (device: Device) => void }} on
   */
  constructor(LK, elements, on) {
    this.LK = LK;
    this.el = elements;
    this.on = on;
    /** @type {Source} */
    this.source = "camera";
    /** @type {LocalTrack | null} */ this.camera = null;
    /** @type {LocalTrack | null} */ this.mic = null;
    /** @type {LocalTrack | null} */ this.screen = null;
    /** @type {LocalTrack | null} */ this.screenAudio = null;
    /** @type {{ camera: Problem | null, mic: Problem | null }} */
    this.problems = { camera: null, mic: null };
    /** @type {{ camera: MediaDeviceInfo[], mic: MediaDeviceInfo[] }} */
    this.devices = { camera: [], mic: [] };
    /** @type {Map<HTMLVideoElement, LocalTrack | null>} what each preview element shows now */
    this.showing = new Map();
  }

  get wantsCamera() {
    return this.source !== "screen";
  }

  get wantsScreen() {
    return this.source !== "camera";
  }

  /** The tracks viewers should get now, in publishing order. */
  tracks() {
    const wanted = [];
    if (this.wantsScreen && this.screen) wanted.push(this.screen);
    if (this.wantsCamera && this.camera) wanted.push(this.camera);
    if (this.mic) wanted.push(this.mic);
    if (this.wantsScreen && this.screenAudio) wanted.push(this.screenAudio);
    return wanted;
  }

  /** There is a picture to send (a muted camera counts: viewers see that it is off). */
  hasVideo() {
    return (this.wantsScreen && this.screen !== null) || (this.wantsCamera && this.camera !== null);
  }

  /** Every wanted track is still capturing (a muted camera is stopped on purpose). */
  usable() {
    const alive = (/** @type {LocalTrack} */ t) => t.isMuted || t.mediaStreamTrack.readyState === "live";
    return this.hasVideo() && this.tracks().every(alive);
  }

  // ---------------------------------------------------------------- camera and microphone

  /**
   * Open what the source needs and is not open yet; report what could not be opened.
   * @param {{ again?: boolean }} [options] again: drop the open ones first (Try again)
   */
  async openDevices({ again = false } = {}) {
    if (again) {
      this.release("camera");
      this.release("mic");
    }
    const wantCamera = this.wantsCamera && !this.camera;
    const wantMic = !this.mic;
    if (!wantCamera && !wantMic) return;
    if (!window.isSecureContext || !navigator.mediaDevices) {
      if (wantCamera) this.problems.camera = "insecure";
      if (wantMic) this.problems.mic = "insecure";
      return;
    }
    try {
      this.adopt(await this.create(wantCamera, wantMic));
      if (wantCamera) this.problems.camera = null;
      if (wantMic) this.problems.mic = null;
    } catch (error) {
      const problem = problemOf(error);
      if (wantCamera && wantMic && (problem === "missing" || problem === "denied")) {
        // One of the two may be fine on its own (a webcam without a microphone, only the
        // camera blocked): ask for each apart; a blocked one is refused without a prompt.
        await this.openOne("camera", problem === "denied");
        await this.openOne("mic", problem === "denied");
      } else {
        if (wantCamera) this.problems.camera = problem;
        if (wantMic) this.problems.mic = problem;
      }
    }
    await this.listDevices();
  }

  /**
   * @param {Device} device
   * @param {boolean} onlyIfGranted after a refusal: ask only for what the browser already allows
   */
  async openOne(device, onlyIfGranted) {
    if (onlyIfGranted && !(await this.granted(device))) {
      this.problems[device] = "denied";
      return;
    }
    try {
      this.adopt(await this.create(device === "camera", device === "mic"));
      this.problems[device] = null;
    } catch (error) {
      this.problems[device] = problemOf(error);
    }
  }

  /** @param {Device} device */
  async granted(device) {
    try {
      const name = /** @type {PermissionName} */ (device === "camera" ? "camera" : "microphone");
      return (await navigator.permissions.query({ name })).state === "granted";
    } catch {
      return false; // a browser that can't tell: treat it as refused, never prompt twice
    }
  }

  /**
   * @param {boolean} camera
   * @param {boolean} mic
   */
  async create(camera, mic) {
    const cameraId = camera ? await this.rememberedHere("camera") : "";
    const micId = mic ? await this.rememberedHere("mic") : "";
    /** @param {string} cameraId @param {string} micId */
    const open = (cameraId, micId) =>
      this.LK.createLocalTracks({
        video: camera
          ? {
              resolution: this.LK.VideoPresets.h720.resolution,
              ...(cameraId ? { deviceId: { exact: cameraId } } : {}),
            }
          : false,
        audio: mic ? (micId ? { deviceId: { exact: micId } } : true) : false,
      });
    try {
      return await open(cameraId, micId);
    } catch (error) {
      // The remembered device may have just gone: the browser's default will do.
      if ((cameraId || micId) && problemOf(error) === "missing") return open("", "");
      throw error;
    }
  }

  /**
   * The device chosen last time, when this browser still has it. Asked for exactly: browsers
   * treat a preferred device id as a hint and may open another camera.
   * @param {Device} device
   */
  async rememberedHere(device) {
    const id = remembered(device);
    if (!id) return "";
    await this.listDevices();
    return this.devices[device].some((d) => d.deviceId === id) ? id : "";
  }

  /** @param {LocalTrack[]} tracks */
  adopt(tracks) {
    for (const track of tracks) {
      const device = track.kind === "video" ? "camera" : "mic";
      this.release(device);
      this[device] = track;
      this.watchEnd(track, () => {
        if (this[device] !== track) return;
        this[device] = null;
        this.problems[device] = "unplugged";
        this.on.unplugged(device);
      });
    }
  }

  /** @param {Device} device */
  release(device) {
    const track = this[device];
    if (!track) return;
    this[device] = null;
    this.forget(track);
    stop(track);
  }

  /** @param {LocalTrack} track no longer shown anywhere */
  forget(track) {
    track.detach();
    for (const [element, shown] of this.showing) {
      if (shown === track) this.showing.set(element, null);
    }
  }

  /** What this browser has, for the pickers (names only once the person allowed access). */
  async listDevices() {
    /** @type {MediaDeviceInfo[]} */
    let all = [];
    try {
      all = await navigator.mediaDevices.enumerateDevices();
    } catch {
      all = [];
    }
    this.devices = {
      camera: all.filter((d) => d.kind === "videoinput" && d.deviceId),
      mic: all.filter((d) => d.kind === "audioinput" && d.deviceId),
    };
  }

  /** @param {Device} device */
  currentDeviceId(device) {
    return deviceIdOf(this[device]);
  }

  /**
   * The person picked another device: switch the open track to it (published or not).
   * @param {Device} device
   * @param {string} deviceId
   */
  async pick(device, deviceId) {
    remember(device, deviceId);
    const track = this[device];
    if (!track) {
      if (device === "mic" || this.wantsCamera) await this.openOne(device, false);
      return;
    }
    await track.setDeviceId({ exact: deviceId });
  }

  /**
   * A device appeared or went away: refresh the lists, and open one the source lacks.
   * @returns {Promise<boolean>} whether a track was opened
   */
  async devicesChanged() {
    await this.listDevices();
    let opened = false;
    for (const device of /** @type {Device[]} */ (["camera", "mic"])) {
      const wanted = device === "mic" || this.wantsCamera;
      const lacking = !this[device] && ["missing", "unplugged"].includes(this.problems[device] ?? "");
      if (wanted && lacking && this.devices[device].length) {
        await this.openOne(device, false);
        opened = opened || this[device] !== null;
      }
    }
    return opened;
  }

  /** @param {Device} device */
  isMuted(device) {
    return Boolean(this[device]?.isMuted);
  }

  /** @param {Device} device */
  async toggleMute(device) {
    const track = this[device];
    if (!track) return;
    if (track.isMuted) await track.unmute();
    else await track.mute();
  }

  // ---------------------------------------------------------------- screen

  /**
   * Change what viewers see. Sharing a screen asks the browser for one (it must follow a click).
   * @param {Source} source
   * @returns {Promise<"ok" | "cancelled" | "failed">}
   */
  async setSource(source) {
    if (!SOURCES.includes(source)) return "failed";
    const wantsScreen = source !== "camera";
    if (wantsScreen && !this.screen) {
      const outcome = await this.openScreen();
      if (outcome !== "ok") return outcome;
    }
    this.source = source;
    if (!wantsScreen) this.releaseScreen();
    if (source === "screen") this.release("camera"); // its light goes off while unused
    else if (!this.camera) await this.openDevices();
    return "ok";
  }

  /** @returns {Promise<"ok" | "cancelled" | "failed">} */
  async openScreen() {
    try {
      const tracks = await this.LK.createLocalScreenTracks({
        audio: true, // the tab's (or the system's) sound, where the browser offers it
        systemAudio: "include",
        surfaceSwitching: "include",
        selfBrowserSurface: "exclude", // sharing the studio itself only shows a mirror hall
      });
      for (const track of tracks) {
        if (track.kind === "video") this.screen = track;
        else this.screenAudio = track;
        this.watchEnd(track, () => {
          // "Stop sharing" in the browser's own bar ends the capture.
          if (track === this.screen) this.on.screenEnded();
        });
      }
      return this.screen ? "ok" : "failed";
    } catch (error) {
      return problemOf(error) === "denied" ? "cancelled" : "failed";
    }
  }

  releaseScreen() {
    for (const track of [this.screen, this.screenAudio]) {
      if (track) this.forget(track);
      stop(track);
    }
    this.screen = null;
    this.screenAudio = null;
  }

  /**
   * @param {LocalTrack} track
   * @param {() => void} ended
   */
  watchEnd(track, ended) {
    track.on(this.LK.TrackEvent.Ended, () => {
      try {
        ended();
      } catch (error) {
        console.warn("golive: studio track handler failed", error);
      }
    });
  }

  // ---------------------------------------------------------------- preview

  /** Show what viewers get: the screen (with the camera in a corner) or the camera. */
  showPreview() {
    const main = this.wantsScreen && this.screen ? this.screen : this.wantsCamera ? this.camera : null;
    const pip = main === this.screen && this.source === "both" ? this.camera : null;
    this.show(this.el.preview, main, main === this.camera);
    this.show(this.el.pip, pip, true);
    this.el.pip.hidden = !pip || pip.isMuted;
  }

  /**
   * @param {HTMLVideoElement} element
   * @param {LocalTrack | null} track
   * @param {boolean} mirror a camera is shown as a mirror; a screen as it is
   */
  show(element, track, mirror) {
    element.classList.toggle("player__video--mirror", mirror);
    if (this.showing.get(element) === track && (track === null || element.srcObject)) return;
    // A track keeps the elements it was attached to (and re-attaches them when it restarts):
    // the one shown before lets go of this element first.
    this.showing.get(element)?.detach(element);
    this.showing.set(element, track);
    if (!track) {
      element.srcObject = null;
      return;
    }
    track.attach(element);
    element.play().catch(() => {});
  }

  /**
   * A few words on a device's state, for the device list.
   * @param {Device} device
   */
  stateText(device) {
    const track = this[device];
    if (device === "camera" && !this.wantsCamera) return gettext("not used while you share only your screen");
    if (track) {
      if (device === "camera") return track.isMuted ? gettext("off") : gettext("on");
      return track.isMuted ? gettext("muted") : gettext("on");
    }
    switch (this.problems[device]) {
      case "denied":
        return gettext("blocked by the browser");
      case "missing":
        return gettext("none found");
      case "busy":
        return gettext("in use by another app");
      case "insecure":
        return gettext("needs a secure (https) page");
      case "unplugged":
        return gettext("disconnected");
      case "failed":
        return gettext("could not start");
      default:
        return gettext("waiting for permission…");
    }
  }
}
