// The studio's stage panel: who raised a hand (invite them), who is on stage (mute, take off),
// kept fresh by polling the stage API. Only the streamer (and moderators) see the queue.
import { byId, pageData } from "./app.js";
import { postJson, getJson, poll } from "./net.js";
import { gettext, ngettext } from "./text.js";

const POLL_MS = 3000;

const data = pageData();
const panel = document.getElementById("stage-queue");
if (data && data.stageUrl && panel) startQueue(data.stageUrl, panel);

/**
 * @param {string} stageUrl
 * @param {HTMLElement} panel
 */
function startQueue(stageUrl, panel) {
  const el = {
    size: byId("stage-queue-size"),
    guests: byId("stage-guests"),
    hands: byId("stage-hands"),
    status: byId("stage-queue-status"),
  };

  async function refresh() {
    const reply = await getJson(stageUrl);
    if (reply.ok && reply.body) show(reply.body);
    return reply;
  }

  /** @param {any} stage */
  function show(stage) {
    panel.hidden = !stage.live;
    if (!stage.live) return;
    const invited = stage.invitations.length;
    el.size.textContent =
      ngettext("%(guests)s of %(n)s guest on stage", "%(guests)s of %(n)s guests on stage", stage.maxGuests, {
        guests: stage.guests.length.toLocaleString(document.documentElement.lang || undefined),
      }) + (invited ? ngettext(", %(n)s invited", ", %(n)s invited", invited) : "");
    el.guests.replaceChildren(
      ...stage.guests.map((/** @type {any} */ guest) =>
        row(guest.name, "stage-guest", [
          button(gettext("Mute mic"), () => act("/mute", { userId: guest.userId, source: "microphone" })),
          button(gettext("Remove"), () => act("/remove", { userId: guest.userId }), "button--danger"),
        ]),
      ),
      ...stage.invitations.map((/** @type {any} */ invitation) =>
        row(gettext("%(name)s (invited)", { name: invitation.name }), "stage-invited", [
          button(gettext("Withdraw"), () => act("/remove", { userId: invitation.userId })),
        ]),
      ),
    );
    const invitedIds = new Set(stage.invitations.map((/** @type {any} */ i) => i.userId));
    el.hands.replaceChildren(
      ...stage.hands.map((/** @type {any} */ hand) =>
        row(`✋ ${hand.name}`, "stage-hand", [
          invitedIds.has(hand.userId)
            ? button(gettext("Invited"), () => {}, "", true)
            : button(gettext("Invite"), () => act("/invite", { userId: hand.userId }), "button--primary"),
        ]),
      ),
    );
    if (!stage.hands.length) el.hands.replaceChildren(emptyRow(gettext("No hands raised.")));
  }

  /**
   * @param {string} path
   * @param {Record<string, unknown>} body
   */
  async function act(path, body) {
    const reply = await postJson(stageUrl + path, body);
    el.status.textContent = reply.ok ? "" : reply.error;
    if (reply.ok && reply.body && "live" in reply.body) show(reply.body);
    else await refresh();
  }

  poll(refresh, { everyMs: POLL_MS }).start();
}

/**
 * @param {string} text
 * @param {string} testId
 * @param {HTMLElement[]} actions
 */
function row(text, testId, actions) {
  const item = document.createElement("li");
  item.className = "stage-queue__item";
  item.dataset.testid = testId;
  const name = document.createElement("span");
  name.textContent = text;
  const box = document.createElement("span");
  box.className = "stage-queue__actions";
  box.append(...actions);
  item.append(name, box);
  return item;
}

/** @param {string} text */
function emptyRow(text) {
  const item = document.createElement("li");
  item.className = "muted";
  item.textContent = text;
  return item;
}

/**
 * @param {string} label
 * @param {() => void} onClick
 * @param {string} [kind]
 * @param {boolean} [disabled]
 */
function button(label, onClick, kind = "button--ghost", disabled = false) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = `button button--small ${kind}`.trim();
  element.textContent = label;
  element.disabled = disabled;
  element.addEventListener("click", onClick);
  return element;
}
