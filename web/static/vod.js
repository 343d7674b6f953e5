// A past stream's page: the chat of the recorded session, replayed beside the video at the
// moments it was written. GET <chatUrl>?after=<id> answers pages of messages, each with `atMs`
// (its moment in the file); the list shows every message whose moment the video has passed, so
// it follows the video: it waits while the video is paused and is rebuilt after a seek, either
// way. The owner and moderators also get a Delete button with a confirmation dialog.
import { appendMessageBody } from "./chat_line.js";
import { byId, pageData } from "./app.js";
import { getJson, requestJson } from "./net.js";
import { gettext } from "./text.js";

/**
 * @typedef {object} ReplayMessage
 * @property {number} id
 * @property {number} atMs
 * @property {string} text
 * @property {string} [source]
 * @property {{ name?: string, role?: string }} [author]
 */

// At most this many pages of 500 messages are read (a very long, very busy stream is cut there).
const MAX_PAGES = 40;
// Lines kept in the list at once: older ones scroll out, as in the live chat.
const SHOWN_MAX = 200;

const page = pageData();
if (page && document.querySelector("[data-testid=chat-replay]")) startReplay(page.chatUrl);
if (page && page.deleteUrl && document.getElementById("vod-delete")) {
  startDelete(page.deleteUrl, page.profileUrl);
}

/** @param {string} chatUrl */
function startReplay(chatUrl) {
  const video = /** @type {HTMLVideoElement | null} */ (document.getElementById("vod-video"));
  const list = byId("replay-list");
  const empty = byId("replay-empty");
  const status = byId("replay-status");
  /** @type {ReplayMessage[]} every message read so far, by moment */
  const messages = [];
  let shown = 0; // messages[0 .. shown) are due; the list holds the last SHOWN_MAX of them

  /** How many messages are due at the video's position (all of them without a video). */
  function dueCount() {
    const now = video ? video.currentTime * 1000 : Infinity;
    let low = 0;
    let high = messages.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (messages[middle].atMs <= now) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  function follow() {
    const due = dueCount();
    if (due === shown) return;
    if (due > shown && due - shown <= SHOWN_MAX) {
      for (const message of messages.slice(shown, due)) list.append(render(message));
      while (list.children.length > SHOWN_MAX) list.firstElementChild?.remove();
    } else {
      // A seek (back, or far ahead): show what is due there instead.
      list.replaceChildren(...messages.slice(Math.max(0, due - SHOWN_MAX), due).map(render));
    }
    shown = due;
    empty.hidden = due > 0;
    list.scrollTop = list.scrollHeight;
  }

  async function load() {
    let after = 0;
    for (let pages = 0; pages < MAX_PAGES; pages += 1) {
      const reply = await getJson(`${chatUrl}?after=${after}`);
      if (!reply.ok) {
        status.textContent = gettext("The chat replay couldn't be loaded: %(error)s", { error: reply.error });
        return;
      }
      const batch = /** @type {ReplayMessage[]} */ (reply.body.messages);
      messages.push(...batch);
      // Written in this order; a clock step between two messages must not reorder the list.
      messages.sort((a, b) => a.atMs - b.atMs || a.id - b.id);
      list.replaceChildren();
      shown = 0;
      follow();
      if (reply.body.next === null || batch.length === 0) break;
      after = reply.body.next;
    }
    list.dataset.loaded = "true";
  }

  if (video) {
    for (const event of ["timeupdate", "seeked", "seeking", "loadedmetadata", "ended"]) {
      video.addEventListener(event, follow);
    }
  }
  empty.hidden = false;
  load();
}

/** @param {number} ms */
function momentText(ms) {
  const seconds = Math.floor(ms / 1000);
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = String(seconds % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

/** @param {ReplayMessage} message */
function render(message) {
  const item = document.createElement("li");
  item.className = "chat__message";
  item.dataset.id = String(message.id);
  item.dataset.atMs = String(message.atMs);
  item.setAttribute("data-testid", "replay-message");

  const moment = document.createElement("span");
  moment.className = "chat__time";
  moment.textContent = momentText(message.atMs);
  item.append(moment);

  appendMessageBody(item, message);
  return item;
}

/**
 * @param {string} deleteUrl
 * @param {string} profileUrl where to go once the recording is gone
 */
function startDelete(deleteUrl, profileUrl) {
  const open = byId("vod-delete", HTMLButtonElement);
  const dialog = byId("vod-delete-dialog", HTMLDialogElement);
  const confirm = byId("vod-delete-confirm", HTMLButtonElement);
  const status = byId("vod-delete-status");

  open.addEventListener("click", () => {
    status.textContent = "";
    confirm.disabled = false;
    dialog.showModal();
  });
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    status.textContent = gettext("Deleting…");
    const reply = await requestJson(deleteUrl, { method: "DELETE" });
    if (reply.ok) {
      window.location.assign(profileUrl);
      return;
    }
    confirm.disabled = false;
    status.textContent = reply.error;
  });
}
