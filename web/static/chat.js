// Live chat on the watch page. History comes from GET /api/live/<slug>/chat; new messages and
// hides arrive in the LiveKit room on the "chat" topic (watch.js re-dispatches room data packets
// as "golive:data" events and the connection state as "golive:connection"). While the page is
// not connected to the room (no media server, a network blip), it polls the history instead, so
// the chat keeps moving either way. Posting always goes through the server, which moderates.
import { appendMessageBody } from "./chat_line.js";
import { byId, onAnnouncement, onRoomData, pageData } from "./app.js";
import { getJson, poll, postJson } from "./net.js";
import { gettext, ngettext } from "./text.js";

/**
 * @typedef {object} Message
 * @property {number} id
 * @property {string} text
 * @property {string} createdAt
 * @property {string} [source]
 * @property {{ name?: string, role?: string }} [author]
 */

const POLL_MS = 3000;
const NOT_SENT = gettext("Couldn't reach golive. Your message was not sent.");
// Times and numbers the way the page's language writes them (14:05, 1.000).
const LOCALE = document.documentElement.lang || undefined;

const page = pageData();
if (document.querySelector("[data-testid=chat]") && page) startChat(page.slug);

/** @param {string} slug */
function startChat(slug) {
  const chatUrl = `/api/live/${encodeURIComponent(slug)}/chat`;
  const list = byId("chat-list");
  const empty = byId("chat-empty");
  const form = /** @type {HTMLFormElement | null} */ (document.getElementById("chat-form"));
  const input = /** @type {HTMLInputElement | null} */ (document.getElementById("chat-input"));
  const nameInput = /** @type {HTMLInputElement | null} */ (document.getElementById("chat-name"));
  const signIn = document.getElementById("chat-sign-in");
  const statusLine = byId("chat-status");

  /** @type {Map<number, { item: HTMLElement, message: Message, seq: number }>} */
  const shown = new Map();
  /** @type {Set<number>} ids hidden while this page is open: never shown again */
  const hidden = new Set();
  let seq = 0; // bumped on every change, so a history answer knows what is newer than itself
  let canModerate = false;
  // While the room is not connected the history is polled; once it is, packets bring the news.
  const poller = poll(loadHistory, { everyMs: POLL_MS });

  /**
   * @param {string} text
   * @param {boolean} [isError]
   */
  function say(text, isError) {
    statusLine.textContent = text || "";
    statusLine.classList.toggle("chat__status--error", Boolean(isError));
  }

  /** @param {string} iso */
  function timeOf(iso) {
    const when = new Date(iso);
    return Number.isNaN(when.getTime())
      ? ""
      : when.toLocaleTimeString(LOCALE, { hour: "2-digit", minute: "2-digit" });
  }

  /** @param {Message} message */
  function render(message) {
    const item = document.createElement("li");
    item.className = "chat__message";
    item.dataset.id = String(message.id);
    item.setAttribute("data-testid", "chat-message");

    const time = document.createElement("time");
    time.className = "chat__time";
    time.dateTime = message.createdAt;
    time.textContent = timeOf(message.createdAt);
    item.append(time);

    const authorName = appendMessageBody(item, message);
    if (canModerate) {
      const hide = document.createElement("button");
      hide.type = "button";
      hide.className = "chat__hide";
      hide.textContent = gettext("Hide");
      hide.setAttribute(
        "aria-label",
        gettext("Hide this message from %(name)s", { name: authorName }),
      );
      hide.addEventListener("click", () => hideMessage(message.id));
      item.append(hide);
    }
    return item;
  }

  function nearBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  }

  /** @param {Message} message */
  function add(message) {
    if (shown.has(message.id) || hidden.has(message.id)) return;
    const stick = nearBottom();
    const item = render(message);
    // Keep id order even when a packet and a poll race.
    const later = [...shown.entries()].find(([id]) => id > message.id);
    if (later) list.insertBefore(item, later[1].item);
    else list.append(item);
    shown.set(message.id, { item, message, seq: ++seq });
    afterChange(stick);
  }

  /** @param {number} id */
  function remove(id) {
    hidden.add(id);
    const entry = shown.get(id);
    if (!entry) return;
    entry.item.remove();
    shown.delete(id);
    afterChange(false);
  }

  /** @param {boolean} stick */
  function afterChange(stick) {
    empty.hidden = list.children.length > 0;
    if (stick) list.scrollTop = list.scrollHeight;
  }

  /**
   * @param {Message[]} messages
   * @param {number} askedAt
   */
  function reconcile(messages, askedAt) {
    const keep = new Set(messages.map((m) => m.id));
    for (const [id, entry] of [...shown.entries()]) {
      if (!keep.has(id) && entry.seq <= askedAt) remove(id);
    }
    for (const message of messages) add(message);
    afterChange(true);
  }

  function rerenderAll() {
    for (const entry of shown.values()) {
      const fresh = render(entry.message);
      entry.item.replaceWith(fresh);
      entry.item = fresh;
    }
  }

  /**
   * Ask for the history and show it. The answer is a snapshot from when it was asked for: what
   * arrived since (a room packet, our own post) must survive it, and what is missing from it was
   * hidden.
   */
  async function loadHistory() {
    const askedAt = seq;
    const reply = await getJson(chatUrl);
    if (!reply.ok || !reply.body) return reply;
    const body = reply.body;
    const moderatorNow = Boolean(body.viewer?.canModerate);
    if (moderatorNow !== canModerate) {
      canModerate = moderatorNow;
      rerenderAll(); // with or without hide buttons
    }
    if (form && form.dataset.guest && body.viewer?.guestsAllowed) {
      form.hidden = false;
      if (signIn) signIn.hidden = true;
    }
    if (input && body.viewer?.maxLength) input.maxLength = body.viewer.maxLength;
    reconcile(body.messages || [], askedAt);
    return reply;
  }

  /** @param {number} id */
  async function hideMessage(id) {
    const result = await postJson(`${chatUrl}/${id}/hide`);
    if (result.ok) remove(id);
    else if (!result.body) say(gettext("Couldn't reach golive. Try again."), true);
    else say(result.serverError || gettext("Could not hide that message."), true);
  }

  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!input) return;
      const text = input.value.trim();
      if (!text) return;
      /** @type {{ text: string, name?: string }} */
      const body = { text };
      if (nameInput) body.name = nameInput.value.trim();
      const button = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
      button.disabled = true;
      try {
        const result = await postJson(chatUrl, body);
        if (!result.body) {
          // Not reached, or no answer it could read: the same to the person typing.
          say(NOT_SENT, true);
        } else if (result.ok) {
          input.value = "";
          say("");
          add(result.body.message);
        } else {
          say(result.serverError || gettext("Your message was not sent."), true);
        }
      } catch {
        say(NOT_SENT, true);
      } finally {
        button.disabled = false;
        input.focus();
      }
    });
  }

  onRoomData("chat", (text) => {
    try {
      for (const item of JSON.parse(text).events || []) {
        if (item.type === "message") add(item.message);
        else if (item.type === "hide") remove(item.id);
      }
    } catch (error) {
      console.warn("golive: unreadable chat packet", error);
    }
  });

  // Tips arrive on their own topic (tips.js keeps the tip feed); the chat shows them in line,
  // as they happen, so the conversation can react. They are not part of the chat history.
  /** @param {{ amount?: unknown, from?: unknown, message?: unknown }} tip */
  function showTip(tip) {
    if (typeof tip.amount !== "number") return;
    const stick = nearBottom();
    const item = document.createElement("li");
    item.className = "chat__message chat__tip";
    item.setAttribute("data-testid", "chat-tip");
    const who = document.createElement("strong");
    who.textContent = String(tip.from || gettext("Someone"));
    // "<name> tipped 5 credits": the name stays an element, so the sentence is split around it.
    const [before, after] = ngettext(
      "%(name)s tipped %(n)s credit",
      "%(name)s tipped %(n)s credits",
      tip.amount,
    ).split("%(name)s");
    item.append("💜 ", before ?? "", who, after ?? "");
    if (tip.message) item.append(`: ${String(tip.message)}`);
    list.append(item);
    afterChange(stick);
  }

  onRoomData("tips", (text) => {
    try {
      showTip(JSON.parse(text));
    } catch (error) {
      console.warn("golive: unreadable tip packet", error);
    }
  });

  onAnnouncement("connection", (detail) => {
    if (detail?.connected) {
      poller.stop();
      loadHistory(); // catch up on what was said while we were away
    } else {
      poller.startLater();
    }
  });

  poller.start();
}
