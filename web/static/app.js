// Shared by every page: show server times (UTC in the HTML) in the reader's own time zone, and the
// helpers the page scripts have in common, as `window.golive`. base.html loads this file before
// each page's scripts, all deferred, so they run in that order and may use `golive` at once.
"use strict";

window.golive = (() => {
  // LiveKit identities of a stream's broadcaster (studio or OBS) start with this; viewers' don't.
  const HOST_PREFIX = "host-";
  const RETRY_FIRST_MS = 1000;
  const RETRY_MAX_MS = 30000;

  /** The page's data (the JSON of <script id="page-data">), or null when it is missing or unreadable. */
  function pageData() {
    try {
      return JSON.parse(document.getElementById("page-data").textContent);
    } catch {
      return null;
    }
  }

  /**
   * POST `body` as JSON (no body when it is undefined) to golive. Never throws; answers
   * { ok, status, body, serverError, error }: status 0 when golive could not be reached, body the
   * parsed JSON answer or null, serverError the server's own `error` text or "", and error a
   * sentence for a status line either way.
   */
  async function postJson(url, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      const error = "golive can't be reached. Check your connection.";
      return { ok: false, status: 0, body: null, serverError: "", error };
    }
    const json = await response.json().catch(() => null);
    const serverError = json && typeof json.error === "string" ? json.error : "";
    const error = serverError || `Something went wrong (${response.status}).`;
    return { ok: response.ok, status: response.status, body: json, serverError, error };
  }

  /**
   * How long to wait before the next try after `attempt` failed ones: doubling from 1 s up to
   * 30 s, plus up to 20% jitter so a crowd of viewers does not retry in lock-step after an outage.
   */
  function backoffDelay(attempt) {
    const base = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** attempt);
    return Math.round(base * (1 + Math.random() * 0.2));
  }

  /**
   * At most one pending retry of `run`: schedule(delay), cancel(), and `pending`. Coming back
   * online runs a pending retry at once instead of waiting out its delay.
   */
  function retrier(run) {
    let timer = null;
    const retry = {
      get pending() {
        return timer !== null;
      },
      schedule(delay) {
        retry.cancel();
        timer = window.setTimeout(() => {
          timer = null;
          run();
        }, delay);
      },
      cancel() {
        if (timer === null) return;
        window.clearTimeout(timer);
        timer = null;
      },
    };
    window.addEventListener("online", () => {
      if (!retry.pending) return;
      retry.cancel();
      run();
    });
    return retry;
  }

  function isBroadcaster(participant) {
    return participant.identity.startsWith(HOST_PREFIX);
  }

  /** The other people in a LiveKit room who are watching (everyone but the broadcaster). */
  function remoteViewers(room) {
    let viewers = 0;
    for (const participant of room.remoteParticipants.values()) {
      if (!isBroadcaster(participant)) viewers += 1;
    }
    return viewers;
  }

  /**
   * Wraps a room's event handlers: a handler does nothing once `isCurrent()` says the room was
   * replaced, and its errors (thrown or rejected) are logged instead of reaching LiveKit.
   */
  function roomHandler(isCurrent, page) {
    const failed = (error) => console.warn(`golive: ${page} handler failed`, error);
    return (handler) =>
      (...args) => {
        if (!isCurrent()) return;
        try {
          const result = handler(...args);
          if (result && typeof result.catch === "function") result.catch(failed);
        } catch (error) {
          failed(error);
        }
      };
  }

  /** Leave a room without raising: it may be gone already. The studio keeps its camera running. */
  async function quietlyDisconnect(room, { stopTracks = true } = {}) {
    try {
      room.removeAllListeners();
      await room.disconnect(stopTracks);
    } catch {
      // Already gone; nothing to clean up.
    }
  }

  /** A status line (studio, watch): its text, spinner and tone (error, warn or ok). */
  function showStatus(box, textElement, text, { busy = false, tone = "" } = {}) {
    textElement.textContent = text;
    box.classList.toggle("is-busy", busy);
    box.classList.toggle("is-error", tone === "error");
    box.classList.toggle("is-warn", tone === "warn");
    box.classList.toggle("is-ok", tone === "ok");
  }

  return Object.freeze({
    pageData,
    postJson,
    backoffDelay,
    retrier,
    isBroadcaster,
    remoteViewers,
    roomHandler,
    quietlyDisconnect,
    showStatus,
  });
})();

(() => {
  const formats = {
    date: { day: "numeric", month: "short", year: "numeric" },
    datetime: { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" },
    time: { hour: "2-digit", minute: "2-digit" },
  };

  for (const element of document.querySelectorAll("time[datetime][data-format]")) {
    try {
      const moment = new Date(element.getAttribute("datetime"));
      const options = formats[element.dataset.format];
      if (!options || Number.isNaN(moment.getTime())) continue;
      element.title = moment.toLocaleString();
      element.textContent = new Intl.DateTimeFormat(undefined, options).format(moment);
    } catch {
      // Keep the server's UTC text: it is correct, just not local.
    }
  }
})();
