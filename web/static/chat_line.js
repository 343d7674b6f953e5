// One chat line's body — role badge, author, text, "via Discord" — as the live chat (chat.js)
// and the VOD replay (vod.js) both show it, so the two read the same.
import { gettext } from "./text.js";

/**
 * @typedef {object} ChatLine
 * @property {string} text
 * @property {string} [source]
 * @property {{ name?: string, role?: string }} [author]
 */

/** @type {Record<string, string>} */
const BADGES = { streamer: gettext("Streamer"), moderator: gettext("Mod"), guest: gettext("Guest") };

/**
 * @param {HTMLElement} item the line's element, its time already in it
 * @param {ChatLine} message
 * @returns {string} the author's name as shown
 */
export function appendMessageBody(item, message) {
  const role = message.author?.role ?? "";
  if (BADGES[role]) {
    const badge = document.createElement("span");
    badge.className = `chat__badge chat__badge--${role}`;
    badge.textContent = BADGES[role];
    item.append(badge);
  }
  const author = document.createElement("span");
  author.className = "chat__author";
  author.textContent = message.author?.name || gettext("someone");
  item.append(author);

  const text = document.createElement("span");
  text.className = "chat__text";
  text.textContent = message.text;
  item.append(text);

  if (message.source === "discord") {
    const via = document.createElement("span");
    via.className = "chat__via";
    via.textContent = gettext("via Discord");
    item.append(via);
  }
  return author.textContent;
}
