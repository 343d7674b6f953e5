// Shared by every page: show server times (UTC in the HTML) in the reader's own time zone, and
// the helpers the page modules have in common. base.html loads this module on every page; page
// modules import what they need from it.

/** The page's data (the JSON of <script id="page-data">), or null when it is missing or unreadable. */
export function pageData() {
  try {
    return JSON.parse(document.getElementById("page-data")?.textContent ?? "");
  } catch {
    return null;
  }
}

/**
 * An element the page's template always has: a missing one is a template bug, said plainly.
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @param {new () => T} [kind]
 * @returns {T}
 */
export function byId(id, kind) {
  const element = document.getElementById(id);
  if (!element || (kind && !(element instanceof kind))) throw new Error(`golive: the page has no #${id}`);
  return /** @type {T} */ (element);
}

// LiveKit identities of a stream's broadcaster (studio or OBS) start with this; viewers' don't.
// The server says which prefix it hands out (<body data-broadcaster-prefix>).
const BROADCASTER_PREFIX = document.body.dataset.broadcasterPrefix ?? "";

/**
 * @param {{ identity: string }} participant
 * @returns {boolean}
 */
export function isBroadcaster(participant) {
  return BROADCASTER_PREFIX !== "" && participant.identity.startsWith(BROADCASTER_PREFIX);
}

/**
 * The other people in a LiveKit room who are watching (everyone but the broadcaster).
 * @param {{ remoteParticipants: Map<string, { identity: string }> }} room
 */
export function remoteViewers(room) {
  let viewers = 0;
  for (const participant of room.remoteParticipants.values()) {
    if (!isBroadcaster(participant)) viewers += 1;
  }
  return viewers;
}

/**
 * livekit-client, loaded when a page needs it; null when it could not be (the page says so).
 * @returns {Promise<typeof import("livekit-client") | null>}
 */
export async function loadLivekit() {
  try {
    return await import("livekit-client");
  } catch (error) {
    console.warn("golive: the streaming library could not load", error);
    return null;
  }
}

/**
 * Wraps a room's event handlers: a handler does nothing once `isCurrent()` says the room was
 * replaced, and its errors (thrown or rejected) are logged instead of reaching LiveKit.
 * @param {() => boolean} isCurrent
 * @param {string} page
 */
export function roomHandler(isCurrent, page) {
  /** @param {unknown} error */
  const failed = (error) => console.warn(`golive: ${page} handler failed`, error);
  /**
   * @template {unknown[]} A
   * @param {(...args: A) => unknown} handler
   * @returns {(...args: A) => void}
   */
  return (handler) =>
    (...args) => {
      if (!isCurrent()) return;
      try {
        const result = handler(...args);
        if (result instanceof Promise) result.catch(failed);
      } catch (error) {
        failed(error);
      }
    };
}

/**
 * Leave a room without raising: it may be gone already. The studio keeps its camera running.
 * @param {{ removeAllListeners: () => unknown, disconnect: (stopTracks?: boolean) => Promise<unknown> }} room
 */
export async function quietlyDisconnect(room, { stopTracks = true } = {}) {
  try {
    room.removeAllListeners();
    await room.disconnect(stopTracks);
  } catch {
    // Already gone; nothing to clean up.
  }
}

/**
 * A status line (studio, watch): its text, spinner and tone (error, warn or ok).
 * @param {HTMLElement} box
 * @param {HTMLElement} textElement
 * @param {string} text
 */
export function showStatus(box, textElement, text, { busy = false, tone = "" } = {}) {
  textElement.textContent = text;
  box.classList.toggle("is-busy", busy);
  box.classList.toggle("is-error", tone === "error");
  box.classList.toggle("is-warn", tone === "warn");
  box.classList.toggle("is-ok", tone === "ok");
}

// The page's modules keep one feature each; watch.js tells the others what happens in the room
// (data packets, the connection, the broadcaster's quality) as DOM events on the document.

/**
 * @param {"data" | "connection" | "broadcaster-quality" | "room" | "guest-track"} name
 * @param {Record<string, unknown>} detail
 */
export function announce(name, detail) {
  document.dispatchEvent(new CustomEvent(`golive:${name}`, { detail }));
}

/**
 * @param {"connection" | "broadcaster-quality" | "room" | "guest-track"} name
 * @param {(detail: Record<string, unknown> | null) => void} handler
 */
export function onAnnouncement(name, handler) {
  document.addEventListener(`golive:${name}`, (event) => {
    const detail = event instanceof CustomEvent ? event.detail : null;
    handler(detail && typeof detail === "object" ? detail : null);
  });
}

/**
 * The text of each data packet the room delivers on `topic`.
 * @param {string} topic
 * @param {(text: string) => void} handler
 */
export function onRoomData(topic, handler) {
  document.addEventListener("golive:data", (event) => {
    const detail = event instanceof CustomEvent ? event.detail : null;
    if (detail?.topic === topic) handler(String(detail.text));
  });
}

/** @type {Record<string, Intl.DateTimeFormatOptions>} */
const TIME_FORMATS = {
  date: { day: "numeric", month: "short", year: "numeric" },
  datetime: { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" },
  time: { hour: "2-digit", minute: "2-digit" },
};

function showLocalTimes() {
  for (const element of document.querySelectorAll("time[datetime][data-format]")) {
    if (!(element instanceof HTMLTimeElement)) continue;
    try {
      const moment = new Date(element.dateTime);
      const options = TIME_FORMATS[element.dataset.format ?? ""];
      if (!options || Number.isNaN(moment.getTime())) continue;
      const locale = document.documentElement.lang || undefined;
      element.title = moment.toLocaleString(locale);
      element.textContent = new Intl.DateTimeFormat(locale, options).format(moment);
    } catch {
      // Keep the server's UTC text: it is correct, just not local.
    }
  }
}

showLocalTimes();
