// The watch page's player controls: play/pause, mute and volume, fullscreen (of the whole player,
// so the controls stay), picture-in-picture where the browser has it, the keys f, m, k and space,
// and a control bar that fades while the video plays and comes back on any pointer or key.
// watch.js owns the room; it tells the controls what plays and asks them to adopt audio elements.
import { gettext } from "./text.js";

const VOLUME_KEY = "golive.volume";
const IDLE_MS = 3000;
// Inputs that take typed text; everywhere else the player's keys work.
const TEXT_INPUTS = new Set(["text", "search", "email", "url", "tel", "password", "number", "date", "time"]);

/**
 * @typedef {object} PlayerElements
 * @property {HTMLElement} player
 * @property {HTMLVideoElement} video
 * @property {HTMLElement} audio the box watch.js puts the room's audio elements in
 * @property {HTMLButtonElement} play
 * @property {HTMLButtonElement} mute
 * @property {HTMLInputElement} volume
 * @property {HTMLButtonElement} pip
 * @property {HTMLButtonElement} fullscreen
 */

/**
 * @typedef {object} AudioGate the room's say on sound: browsers block it until a gesture
 * @property {() => boolean} blocked
 * @property {() => Promise<void>} unblock
 */

/**
 * @param {PlayerElements} el
 * @param {AudioGate} gate
 */
export function playerControls(el, gate) {
  const state = {
    playing: false, // the streamer's video is attached
    paused: false, // the viewer paused it
    muted: false, // the viewer muted it
    volume: savedVolume(),
    /** @type {number | undefined} */
    idleTimer: undefined,
    lastPointer: "", // mouse, pen or touch: what the last press on the player was
    swallowClick: false, // that press only brought the hidden controls back
  };

  // ---------------------------------------------------------------- what the bar shows

  function soundOff() {
    return gate.blocked() || state.muted || state.volume === 0;
  }

  /**
   * @param {HTMLButtonElement} button
   * @param {string} name
   * @param {string} [key] the shortcut, shown in the tooltip
   */
  function label(button, name, key) {
    button.setAttribute("aria-label", name);
    button.title = key ? `${name} (${key})` : name;
  }

  function render() {
    const off = soundOff();
    el.player.classList.toggle("is-paused", state.paused);
    el.player.classList.toggle("is-muted", off);
    label(el.play, state.paused ? gettext("Play") : gettext("Pause"), "k");
    el.play.disabled = !state.playing;
    label(el.mute, off ? gettext("Unmute") : gettext("Mute"), "m");
    el.volume.value = String(off ? 0 : Math.round(state.volume * 100));
    if (off) el.volume.setAttribute("aria-valuetext", gettext("Muted"));
    else el.volume.removeAttribute("aria-valuetext");
    for (const audio of el.audio.querySelectorAll("audio")) adopt(audio);

    const fullscreen = Boolean(document.fullscreenElement);
    el.player.classList.toggle("is-fullscreen", fullscreen);
    label(el.fullscreen, fullscreen ? gettext("Exit full screen") : gettext("Full screen"), "f");

    const inPip = Boolean(document.pictureInPictureElement);
    label(el.pip, inPip ? gettext("Exit picture in picture") : gettext("Picture in picture"));
    el.pip.disabled = !state.playing && !inPip;
  }

  /** @param {HTMLAudioElement} audio */
  function adopt(audio) {
    audio.volume = state.volume;
    audio.muted = state.muted || state.paused;
  }

  // ---------------------------------------------------------------- play, pause, sound

  function togglePause() {
    if (!state.playing) return; // nothing to pause yet
    if (state.paused || el.video.paused) resume(true);
    else pause();
  }

  function pause() {
    state.paused = true;
    el.video.pause();
    render();
    wake();
  }

  /** @param {boolean} [byViewer] only the viewer's play undoes the viewer's pause */
  function resume(byViewer = false) {
    if (state.paused && !byViewer) return;
    state.paused = false;
    el.video.play().catch(() => {
      // Muted video may autoplay; when even that is blocked, the play button starts it.
    });
    render();
    wake();
  }

  async function toggleMute() {
    if (soundOff()) await unmute();
    else {
      state.muted = true;
      render();
    }
  }

  async function unmute() {
    state.muted = false;
    if (state.volume === 0) state.volume = 1;
    rememberVolume(state.volume);
    render();
    if (gate.blocked()) {
      try {
        await gate.unblock();
        await el.video.play().catch(() => {});
      } catch {
        // The browser still says no; the buttons stay so the viewer can try again.
      }
      render();
    }
  }

  el.play.addEventListener("click", togglePause);
  el.mute.addEventListener("click", () => toggleMute());
  el.volume.addEventListener("input", () => {
    const level = el.volume.valueAsNumber / 100;
    if (level === 0) {
      state.muted = true;
    } else {
      state.volume = level;
      state.muted = false;
      rememberVolume(level);
      if (gate.blocked()) gate.unblock().catch(() => {}).finally(render);
    }
    render();
  });
  // Pause and play from outside the page (the picture-in-picture window, the system's media keys).
  el.video.addEventListener("pause", () => {
    if (state.playing && el.video.srcObject && !state.paused) {
      state.paused = true;
      render();
    }
  });
  el.video.addEventListener("play", () => {
    if (state.paused) {
      state.paused = false;
      render();
    }
  });

  // ---------------------------------------------------------------- fullscreen, picture-in-picture

  /** @type {HTMLVideoElement & { webkitEnterFullscreen?: () => void }} */
  const video = el.video;
  // iPhones have no element fullscreen, only the video's own (their controls, not ours).
  const videoOnlyFullscreen = !document.fullscreenEnabled && typeof video.webkitEnterFullscreen === "function";
  el.fullscreen.hidden = !document.fullscreenEnabled && !videoOnlyFullscreen;
  el.pip.hidden = !(document.pictureInPictureEnabled && !el.video.disablePictureInPicture);

  async function toggleFullscreen() {
    try {
      if (document.fullscreenElement) {
        await document.exitFullscreen();
      } else if (document.fullscreenEnabled) {
        await el.player.requestFullscreen();
        turnPhoneSideways();
      } else if (video.webkitEnterFullscreen) {
        video.webkitEnterFullscreen();
      }
    } catch (error) {
      console.warn("golive: full screen was refused", error);
    }
  }

  // A wide video on a phone held upright: fullscreen turns it sideways where the browser lets us.
  function turnPhoneSideways() {
    const orientation = /** @type {ScreenOrientation & { lock?: (o: string) => Promise<void> }} */ (screen.orientation);
    if (!orientation?.lock || !window.matchMedia("(pointer: coarse)").matches) return;
    if (el.video.videoWidth <= el.video.videoHeight) return;
    orientation.lock("landscape").catch(() => {
      // Most browsers only allow it in installed apps; the viewer can turn the phone.
    });
  }

  async function togglePip() {
    try {
      if (document.pictureInPictureElement) await document.exitPictureInPicture();
      else await el.video.requestPictureInPicture();
    } catch (error) {
      console.warn("golive: picture-in-picture was refused", error);
    }
  }

  el.fullscreen.addEventListener("click", toggleFullscreen);
  el.pip.addEventListener("click", togglePip);
  document.addEventListener("fullscreenchange", () => {
    render();
    wake();
  });
  el.video.addEventListener("enterpictureinpicture", render);
  el.video.addEventListener("leavepictureinpicture", render);
  // A mouse's double click; a finger's double tap is two taps (show, then hide the controls).
  el.video.addEventListener("dblclick", () => {
    if (state.lastPointer === "mouse") toggleFullscreen();
  });

  // ---------------------------------------------------------------- keys

  document.addEventListener("keydown", (event) => {
    state.swallowClick = false; // a key's click is the viewer's own
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (takesText(event.target)) return;
    const key = event.key.toLowerCase();
    if (key === " " && activatesOnSpace(event.target)) return; // that control's own click
    wake();
    const action = { " ": togglePause, k: togglePause, m: toggleMute, f: toggleFullscreen }[key];
    if (!action) return;
    event.preventDefault(); // space would scroll the page
    if (!event.repeat) action();
  });

  // ---------------------------------------------------------------- fading

  function wake() {
    el.player.classList.remove("is-idle");
    window.clearTimeout(state.idleTimer);
    if (state.playing && !state.paused) {
      state.idleTimer = window.setTimeout(() => el.player.classList.add("is-idle"), IDLE_MS);
    }
  }

  function rest() {
    window.clearTimeout(state.idleTimer);
    if (state.playing && !state.paused) el.player.classList.add("is-idle");
  }

  el.player.addEventListener("pointermove", (event) => {
    if (event.pointerType === "mouse" || event.pointerType === "pen") wake();
  });
  el.player.addEventListener("pointerdown", (event) => {
    state.lastPointer = event.pointerType;
    // A tap where the hidden bar is shows it; the browser's click for that tap comes after the
    // bar is back, and must not press the control that is now under the finger.
    state.swallowClick = event.pointerType === "touch" && el.player.classList.contains("is-idle");
    // A tap on the picture shows the controls, and a second tap puts them away again.
    const onControl = event.target instanceof Element && event.target.closest("button, input, select, a, label");
    if (event.pointerType === "touch" && !onControl && !el.player.classList.contains("is-idle")) rest();
    else wake();
  });
  el.player.addEventListener(
    "click",
    (event) => {
      if (!state.swallowClick) return;
      state.swallowClick = false;
      event.preventDefault();
      event.stopPropagation();
    },
    true,
  );
  el.player.addEventListener("pointerleave", (event) => {
    if (event.pointerType === "mouse") rest();
  });
  el.player.addEventListener("focusin", wake);

  render();

  return {
    /** The streamer's video is attached (true) or gone (false). @param {boolean} playing */
    setPlaying(playing) {
      state.playing = playing;
      if (!playing) el.player.classList.remove("is-idle");
      render();
      wake();
    },
    /** Play the attached video, unless the viewer paused it. */
    resume,
    /** A new audio element from the room: give it the viewer's volume and mute. @param {HTMLAudioElement} audio */
    adopt,
    /** The room's audio gate changed (or a track came or went): show it. */
    render,
    unmute,
  };
}

/**
 * @param {EventTarget | null} target
 */
function takesText(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement && TEXT_INPUTS.has(target.type);
}

/**
 * @param {EventTarget | null} target
 */
function activatesOnSpace(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target instanceof HTMLButtonElement || target.tagName === "SUMMARY") return true;
  return target instanceof HTMLInputElement && ["checkbox", "radio", "button", "submit", "reset"].includes(target.type);
}

function savedVolume() {
  try {
    const saved = Number(window.localStorage.getItem(VOLUME_KEY));
    if (saved > 0 && saved <= 1) return saved;
  } catch {
    // Storage may be blocked (private mode); full volume then.
  }
  return 1;
}

/** @param {number} volume */
function rememberVolume(volume) {
  try {
    window.localStorage.setItem(VOLUME_KEY, String(volume));
  } catch {
    // Not remembered, still applied.
  }
}
