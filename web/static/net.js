// Every request the pages make to golive goes through here: one way to ask (getJson, postJson:
// never throw, always answer a Reply), one way to wait between tries (Backoff: doubling with
// jitter, capped, honouring the server's Retry-After), and one way to poll (poll: pauses while
// the page is hidden, backs off while golive is unreachable or busy).

import { gettext } from "./text.js";

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30000;
const JITTER = 0.2;
const UNREACHABLE = gettext("golive can't be reached. Check your connection.");

/**
 * @typedef {object} Reply
 * @property {boolean} ok the server answered 2xx
 * @property {number} status 0 when golive could not be reached
 * @property {any} body the parsed JSON answer, or null
 * @property {string} serverError the server's own `error` text, or ""
 * @property {string} error a sentence for a status line either way
 * @property {number | null} retryAfterMs what the server's Retry-After asked for (429, 503)
 */

/**
 * Ask golive for JSON. Never throws.
 * @param {string} url
 * @param {{ method?: string, body?: unknown, cache?: RequestCache }} [options] no body when undefined
 * @returns {Promise<Reply>}
 */
export async function requestJson(url, { method = "GET", body = undefined, cache = "no-store" } = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      credentials: "same-origin",
      cache,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return { ok: false, status: 0, body: null, serverError: "", error: UNREACHABLE, retryAfterMs: null };
  }
  const json = await response.json().catch(() => null);
  const serverError = json && typeof json.error === "string" ? json.error : "";
  return {
    ok: response.ok,
    status: response.status,
    body: json,
    serverError,
    error: serverError || gettext("Something went wrong (%(status)s).", { status: response.status }),
    retryAfterMs: retryAfter(response),
  };
}

/**
 * @param {string} url
 * @returns {Promise<Reply>}
 */
export function getJson(url) {
  return requestJson(url);
}

/**
 * POST `body` as JSON (no body when it is undefined).
 * @param {string} url
 * @param {unknown} [body]
 * @returns {Promise<Reply>}
 */
export function postJson(url, body) {
  return requestJson(url, { method: "POST", body });
}

/**
 * The wait a 429 or 503 asked for (seconds or an HTTP date), or null.
 * @param {Response} response
 * @returns {number | null}
 */
function retryAfter(response) {
  if (response.status !== 429 && response.status !== 503) return null;
  const value = response.headers.get("Retry-After");
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const when = Date.parse(value);
  return Number.isNaN(when) ? null : Math.max(0, when - Date.now());
}

/**
 * How long to wait between tries: doubling from 1 s up to 30 s, plus up to 20% jitter so a
 * crowd of viewers does not retry in lock-step after an outage. A server's Retry-After wins
 * when it asks for longer.
 */
export class Backoff {
  constructor({ firstMs = RETRY_FIRST_MS, maxMs = RETRY_MAX_MS } = {}) {
    this.firstMs = firstMs;
    this.maxMs = maxMs;
    this.attempt = 0;
  }

  /**
   * The wait before the next try, counting this failure.
   * @param {number | null} [retryAfterMs]
   * @returns {number}
   */
  next(retryAfterMs = null) {
    const base = Math.min(this.maxMs, this.firstMs * 2 ** this.attempt);
    this.attempt += 1;
    const delay = Math.round(base * (1 + Math.random() * JITTER));
    return retryAfterMs === null ? delay : Math.max(delay, Math.round(retryAfterMs));
  }

  reset() {
    this.attempt = 0;
  }
}

/**
 * @typedef {object} Retrier
 * @property {boolean} pending
 * @property {(delay: number) => void} schedule
 * @property {() => void} cancel
 */

/**
 * At most one pending retry of `run`. Coming back online runs a pending retry at once instead
 * of waiting out its delay.
 * @param {() => unknown} run
 * @returns {Retrier}
 */
export function retrier(run) {
  /** @type {number | null} */
  let timer = null;
  const retry = {
    get pending() {
      return timer !== null;
    },
    /** @param {number} delay */
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

/**
 * @typedef {object} Poller
 * @property {() => void} start poll now, then every interval (no-op when running)
 * @property {() => void} startLater the first poll after one interval
 * @property {() => void} stop
 */

/**
 * Run `ask` (which shows its own answer) every `everyMs` while the page is visible. A failed
 * answer (not reached, 429, 5xx) waits per Backoff instead. A hidden page stops asking and
 * asks again as soon as it is shown.
 * @param {() => Promise<Reply>} ask
 * @param {{ everyMs: number }} options
 * @returns {Poller}
 */
export function poll(ask, { everyMs }) {
  const backoff = new Backoff({ firstMs: everyMs, maxMs: Math.max(everyMs, RETRY_MAX_MS) });
  let running = false;
  let missedWhileHidden = false;
  const retry = retrier(tick);

  async function tick() {
    if (!running) return;
    if (document.hidden) {
      missedWhileHidden = true;
      return;
    }
    /** @type {Reply | null} */
    let reply = null;
    try {
      reply = await ask();
    } catch (error) {
      console.warn("golive: could not show an answer", error);
    }
    if (!running) return;
    const failed = !reply || reply.status === 0 || reply.status === 429 || reply.status >= 500;
    if (failed) {
      retry.schedule(backoff.next(reply?.retryAfterMs));
    } else {
      backoff.reset();
      retry.schedule(everyMs);
    }
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden || !running || !missedWhileHidden) return;
    missedWhileHidden = false;
    retry.cancel();
    tick();
  });

  return {
    start() {
      if (running) return;
      running = true;
      tick();
    },
    startLater() {
      if (running) return;
      running = true;
      retry.schedule(everyMs);
    },
    stop() {
      running = false;
      missedWhileHidden = false;
      retry.cancel();
    },
  };
}
