// Live chat on the watch page. History comes from GET /api/live/<slug>/chat; new messages and
// hides arrive in the LiveKit room on the "chat" topic (watch.js re-dispatches room data packets
// as "golive:data" events and the connection state as "golive:connection"). While the page is
// not connected to the room (no media server, a network blip), it polls the history instead, so
// the chat keeps moving either way. Posting always goes through the server, which moderates.
(function () {
  "use strict";

  const section = document.querySelector("[data-testid=chat]");
  const page = window.golive.pageData();
  if (!section || !page) return;
  const chatUrl = `/api/live/${encodeURIComponent(page.slug)}/chat`;
  const POLL_MS = 3000;
  const NOT_SENT = "Couldn't reach golive. Your message was not sent.";

  const list = document.getElementById("chat-list");
  const empty = document.getElementById("chat-empty");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const nameInput = document.getElementById("chat-name");
  const signIn = document.getElementById("chat-sign-in");
  const statusLine = document.getElementById("chat-status");

  const shown = new Map(); // message id -> { item: <li>, message, seq }
  const hidden = new Set(); // ids hidden while this page is open: never shown again
  let seq = 0; // bumped on every change, so a history answer knows what is newer than itself
  let canModerate = false;
  let connected = false;
  let pollTimer = null;

  const BADGES = { streamer: "Streamer", moderator: "Mod", guest: "Guest" };

  function say(text, isError) {
    statusLine.textContent = text || "";
    statusLine.classList.toggle("chat__status--error", Boolean(isError));
  }

  function timeOf(iso) {
    const when = new Date(iso);
    return Number.isNaN(when.getTime())
      ? ""
      : when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

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

    const role = message.author && message.author.role;
    if (BADGES[role]) {
      const badge = document.createElement("span");
      badge.className = `chat__badge chat__badge--${role}`;
      badge.textContent = BADGES[role];
      item.append(badge);
    }
    const author = document.createElement("span");
    author.className = "chat__author";
    author.textContent = (message.author && message.author.name) || "someone";
    item.append(author);

    const text = document.createElement("span");
    text.className = "chat__text";
    text.textContent = message.text;
    item.append(text);

    if (message.source === "discord") {
      const via = document.createElement("span");
      via.className = "chat__via";
      via.textContent = "via Discord";
      item.append(via);
    }
    if (canModerate) {
      const hide = document.createElement("button");
      hide.type = "button";
      hide.className = "chat__hide";
      hide.textContent = "Hide";
      hide.setAttribute("aria-label", `Hide this message from ${author.textContent}`);
      hide.addEventListener("click", () => hideMessage(message.id));
      item.append(hide);
    }
    return item;
  }

  function nearBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  }

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

  function remove(id) {
    hidden.add(id);
    const entry = shown.get(id);
    if (!entry) return;
    entry.item.remove();
    shown.delete(id);
    afterChange(false);
  }

  function afterChange(stick) {
    empty.hidden = list.children.length > 0;
    if (stick) list.scrollTop = list.scrollHeight;
  }

  // A history answer is a snapshot from when it was asked for: what arrived since (a room
  // packet, our own post) must survive it, and what is missing from it was hidden.
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

  async function loadHistory() {
    const askedAt = seq;
    try {
      const response = await fetch(chatUrl, { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) return;
      const body = await response.json();
      const moderatorNow = Boolean(body.viewer && body.viewer.canModerate);
      if (moderatorNow !== canModerate) {
        canModerate = moderatorNow;
        rerenderAll(); // with or without hide buttons
      }
      if (form && form.dataset.guest && body.viewer && body.viewer.guestsAllowed) {
        form.hidden = false;
        if (signIn) signIn.hidden = true;
      }
      if (input && body.viewer && body.viewer.maxLength) input.maxLength = body.viewer.maxLength;
      reconcile(body.messages || [], askedAt);
      // How many history answers were applied (lets tests wait for one instead of sleeping).
      section.dataset.historyLoads = String(Number(section.dataset.historyLoads || 0) + 1);
    } catch (error) {
      console.warn("golive: could not load the chat", error);
    }
  }

  function schedulePoll() {
    window.clearTimeout(pollTimer);
    pollTimer = window.setTimeout(async () => {
      if (!connected && !document.hidden) await loadHistory();
      schedulePoll();
    }, POLL_MS);
  }

  async function hideMessage(id) {
    const result = await window.golive.postJson(`${chatUrl}/${id}/hide`);
    if (result.ok) remove(id);
    else if (!result.body) say("Couldn't reach golive. Try again.", true);
    else say(result.serverError || "Could not hide that message.", true);
  }

  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      const body = { text };
      if (nameInput) body.name = nameInput.value.trim();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const result = await window.golive.postJson(chatUrl, body);
        if (!result.body) {
          // Not reached, or no answer it could read: the same to the person typing.
          say(NOT_SENT, true);
        } else if (result.ok) {
          input.value = "";
          say("");
          add(result.body.message);
        } else {
          say(result.serverError || "Your message was not sent.", true);
        }
      } catch (error) {
        say(NOT_SENT, true);
      } finally {
        button.disabled = false;
        input.focus();
      }
    });
  }

  document.addEventListener("golive:data", (event) => {
    if (event.detail.topic !== "chat") return;
    try {
      for (const item of JSON.parse(event.detail.text).events || []) {
        if (item.type === "message") add(item.message);
        else if (item.type === "hide") remove(item.id);
      }
    } catch (error) {
      console.warn("golive: unreadable chat packet", error);
    }
  });

  // Tips arrive on their own topic (tips.js keeps the tip feed); the chat shows them in line,
  // as they happen, so the conversation can react. They are not part of the chat history.
  function showTip(tip) {
    if (typeof tip.amount !== "number") return;
    const stick = nearBottom();
    const item = document.createElement("li");
    item.className = "chat__message chat__tip";
    item.setAttribute("data-testid", "chat-tip");
    const who = document.createElement("strong");
    who.textContent = String(tip.from || "Someone");
    const credits = `${tip.amount.toLocaleString("en")} credit${tip.amount === 1 ? "" : "s"}`;
    item.append("💜 ", who, ` tipped ${credits}`);
    if (tip.message) item.append(`: ${String(tip.message)}`);
    list.append(item);
    afterChange(stick);
  }

  document.addEventListener("golive:data", (event) => {
    if (event.detail.topic !== "tips") return;
    try {
      showTip(JSON.parse(event.detail.text));
    } catch (error) {
      console.warn("golive: unreadable tip packet", error);
    }
  });

  document.addEventListener("golive:connection", (event) => {
    connected = Boolean(event.detail && event.detail.connected);
    // Catch up on what was said while we were away.
    if (connected) loadHistory();
  });

  loadHistory();
  schedulePoll();
})();
