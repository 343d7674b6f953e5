// What the streamer watches while live, and after: the time on air, who is watching, how their
// connection does (LiveKit's verdict on it, and what the server sees arriving), the tips as they
// come in, the End confirmation, and the session's summary (numbers from the server).
import { byId } from "./app.js";
import { getJson, poll } from "./net.js";
import { gettext, ngettext } from "./text.js";

const HEALTH_POLL_MS = 20000;
const TOTALS_POLL_MS = 30000;
const TIPS_SHOWN = 10;

/**
 * @typedef {object} Summary the server's summary of a session (web/studio.py)
 * @property {number} sessionId
 * @property {boolean} live
 * @property {number} durationSeconds
 * @property {number} peakViewers
 * @property {number} uniqueViewers
 * @property {number} tips
 * @property {number} tipCredits
 */

/** @param {number} n */
function number(n) {
  return n.toLocaleString(document.documentElement.lang || "en");
}

/**
 * A duration as a clock reads it: 0:05:09, 1:02:03.
 * @param {number} seconds
 */
export function clock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

/** @param {number} seconds as an ISO 8601 duration, for <time datetime> */
function isoDuration(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  return `PT${Math.floor(total / 3600)}H${Math.floor((total % 3600) / 60)}M${total % 60}S`;
}

/** @type {Record<string, () => string>} LiveKit's ConnectionQuality values */
const QUALITY = {
  excellent: () => gettext("excellent"),
  good: () => gettext("good"),
  poor: () => gettext("poor"),
  lost: () => gettext("lost"),
};

export class LivePanel {
  /**
   * @param {{ sessionsUrl: string, healthUrl: string }} urls
   */
  constructor(urls) {
    this.urls = urls;
    this.el = {
      side: byId("studio-side"),
      onAir: byId("on-air"),
      elapsed: byId("live-elapsed"),
      viewers: byId("live-viewers"),
      connection: byId("live-connection"),
      tips: byId("live-tips"),
      credits: byId("live-credits"),
      health: byId("live-health"),
      notice: byId("live-health-notice"),
      tipList: byId("live-tip-list"),
      tipEmpty: byId("live-tip-empty"),
    };
    /** @type {number | null} performance.now() when the session started, by the server's count */
    this.startedAt = null;
    this.timer = 0;
    /** @type {number | null} */
    this.sessionId = null;
    this.totals = { tips: 0, credits: 0 };
    /** @type {Set<unknown>} tip ids already counted */
    this.seenTips = new Set();
    this.quality = "";
    this.server = { poor: false, summary: "", reasons: /** @type {string[]} */ ([]) };
    this.healthPoll = poll(() => this.askHealth(), { everyMs: HEALTH_POLL_MS });
    this.totalsPoll = poll(() => this.askTotals(), { everyMs: TOTALS_POLL_MS });
  }

  /**
   * The stream is live: start the clock from the server's count of seconds on air.
   * @param {number} secondsSoFar
   * @param {number | null} sessionId
   */
  start(secondsSoFar, sessionId) {
    this.stop();
    this.startedAt = performance.now() - Math.max(0, secondsSoFar) * 1000;
    this.sessionId = sessionId;
    this.totals = { tips: 0, credits: 0 };
    this.seenTips.clear();
    this.el.tipList.replaceChildren();
    this.quality = "";
    this.server = { poor: false, summary: "", reasons: [] };
    this.setViewers(null);
    this.renderTotals();
    this.renderHealth();
    this.el.side.hidden = false;
    this.el.onAir.hidden = false;
    this.tick();
    this.timer = window.setInterval(() => this.tick(), 1000);
    this.healthPoll.start();
    this.totalsPoll.start();
  }

  stop() {
    window.clearInterval(this.timer);
    this.healthPoll.stop();
    this.totalsPoll.stop();
    this.el.side.hidden = true;
    this.el.onAir.hidden = true;
    this.startedAt = null;
  }

  tick() {
    if (this.startedAt === null) return;
    const seconds = (performance.now() - this.startedAt) / 1000;
    this.el.elapsed.textContent = clock(seconds);
    this.el.elapsed.setAttribute("datetime", isoDuration(seconds));
  }

  /** @param {number | null} viewers null: not connected to the room, so unknown */
  setViewers(viewers) {
    this.el.viewers.textContent = viewers === null ? "–" : number(viewers);
  }

  /** @param {string} quality LiveKit's verdict on this studio's connection ("" when not connected) */
  setQuality(quality) {
    this.quality = quality;
    this.renderHealth();
  }

  /** @param {{ id?: unknown, amount?: unknown, from?: unknown, message?: unknown }} tip */
  addTip(tip) {
    if (typeof tip.amount !== "number" || this.startedAt === null) return;
    if (tip.id !== undefined) {
      if (this.seenTips.has(tip.id)) return;
      this.seenTips.add(tip.id);
    }
    this.totals.tips += 1;
    this.totals.credits += tip.amount;
    this.renderTotals();
    const item = document.createElement("li");
    item.className = "live-panel__tip";
    item.setAttribute("data-testid", "live-tip");
    const who = document.createElement("strong");
    who.textContent = String(tip.from || gettext("Someone"));
    // Names and messages are the viewers' words: text only, never markup.
    item.append(
      who,
      " ",
      ngettext("tipped %(n)s credit", "tipped %(n)s credits", tip.amount),
    );
    if (tip.message) item.append(`: ${String(tip.message)}`);
    this.el.tipList.prepend(item);
    while (this.el.tipList.children.length > TIPS_SHOWN) this.el.tipList.lastElementChild?.remove();
    this.el.tipEmpty.hidden = true;
  }

  renderTotals() {
    this.el.tips.textContent = number(this.totals.tips);
    this.el.credits.textContent = number(this.totals.credits);
    this.el.tipEmpty.hidden = this.el.tipList.children.length > 0;
  }

  renderHealth() {
    this.el.connection.textContent = QUALITY[this.quality]?.() ?? "–";
    this.el.health.textContent = this.server.summary
      ? gettext("Arriving at the media server: %(numbers)s", { numbers: this.server.summary })
      : "";
    this.el.health.hidden = !this.server.summary;
    const notice = this.notice();
    this.el.notice.textContent = notice;
    this.el.notice.hidden = !notice;
  }

  notice() {
    if (this.quality === "lost") {
      return gettext("LiveKit has lost your connection. Viewers may see the picture freeze.");
    }
    if (this.quality === "poor") {
      return gettext(
        "Your connection is poor: viewers may see stutters. A wired connection, or stopping other uploads, helps.",
      );
    }
    if (this.server.poor && this.server.reasons.length) {
      return gettext("The media server reports a problem: %(reasons)s.", {
        reasons: this.server.reasons.join("; "),
      });
    }
    return "";
  }

  async askHealth() {
    const reply = await getJson(this.urls.healthUrl);
    if (reply.ok && reply.body) {
      const health = reply.body;
      this.server = {
        poor: health.poor === true,
        summary: typeof health.summary === "string" ? health.summary : "",
        reasons: Array.isArray(health.reasons) ? health.reasons.map(String) : [],
      };
      this.renderHealth();
    }
    return reply;
  }

  /** The server's totals so far (tips that arrived while the room was out of reach count too). */
  async askTotals() {
    const reply = await getJson(`${this.urls.sessionsUrl}/current/summary`);
    if (reply.ok && reply.body && this.startedAt !== null) {
      /** @type {Summary} */
      const summary = reply.body;
      this.sessionId = summary.sessionId;
      // Tips only add up during a session: the larger count is the one that has seen more.
      this.totals.tips = Math.max(this.totals.tips, summary.tips);
      this.totals.credits = Math.max(this.totals.credits, summary.tipCredits);
      this.renderTotals();
    }
    return reply;
  }

  /**
   * The summary of a session that ended, from the server (null when it can't be had).
   * @param {number | null} sessionId
   * @returns {Promise<Summary | null>}
   */
  async fetchSummary(sessionId) {
    if (sessionId === null) return null;
    const reply = await getJson(`${this.urls.sessionsUrl}/${sessionId}/summary`);
    return reply.ok && reply.body ? reply.body : null;
  }
}

/**
 * Show a session's numbers under the controls, and move focus there so it is read out.
 * @param {Summary} summary
 */
export function showSummary(summary) {
  const box = byId("summary");
  byId("summary-duration").textContent = clock(summary.durationSeconds);
  byId("summary-peak").textContent = number(summary.peakViewers);
  byId("summary-unique").textContent = number(summary.uniqueViewers);
  byId("summary-tips").textContent = number(summary.tips);
  byId("summary-credits").textContent = number(summary.tipCredits);
  box.hidden = false;
  box.focus();
}

export function hideSummary() {
  byId("summary").hidden = true;
}

/**
 * Ask once whether to end the stream, in a modal dialog. Esc or "Keep streaming" says no.
 * @param {HTMLElement} opener focus goes back to it when the answer is no
 * @returns {Promise<boolean>}
 */
export function confirmEnd(opener) {
  const dialog = byId("end-dialog", HTMLDialogElement);
  const cancel = byId("end-cancel");
  const confirm = byId("end-confirm");
  return new Promise((resolve) => {
    /** @param {boolean} answer */
    const answer = (answer) => {
      cancel.removeEventListener("click", no);
      confirm.removeEventListener("click", yes);
      dialog.removeEventListener("close", no);
      if (dialog.open) dialog.close();
      if (!answer && !opener.hidden) opener.focus();
      resolve(answer);
    };
    const no = () => answer(false);
    const yes = () => answer(true);
    cancel.addEventListener("click", no);
    confirm.addEventListener("click", yes);
    dialog.addEventListener("close", no); // Esc closes it too
    dialog.showModal();
    cancel.focus(); // the safe choice first
  });
}
