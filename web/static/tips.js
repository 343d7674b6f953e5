// Tips on the watch page: send one from the form (signed-in viewers), and show the tips that
// arrive in the room (watch.js re-dispatches LiveKit data packets as "golive:data" events).
import { onRoomData } from "./app.js";
import { postJson } from "./net.js";

const TOPIC = "tips";
const FEED_MAX = 20;
const NOT_REACHED = "Couldn't reach golive. Try again: you won't be charged twice.";
startTips();

function startTips() {
  const form = /** @type {HTMLFormElement | null} */ (document.getElementById("tip-form"));
  const feed = document.getElementById("tip-feed");
  const status = document.getElementById("tip-status");

  // One id per tip the viewer means to send: a retry after a network error reuses it, so the
  // server tips once; a new id only after the server answered.
  let requestId = newRequestId();

  function newRequestId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /**
   * @param {string} text
   * @param {boolean} [isError]
   */
  function say(text, isError = false) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("is-error", isError);
  }

  /** @param {number} amount */
  function credits(amount) {
    return `${amount.toLocaleString("en")} credit${amount === 1 ? "" : "s"}`;
  }

  /** @param {{ amount?: unknown, from?: unknown, message?: unknown }} tip */
  function showTip(tip) {
    if (!feed || typeof tip.amount !== "number") return;
    const item = document.createElement("li");
    item.className = "tips__item";
    const who = document.createElement("strong");
    who.textContent = String(tip.from || "Someone");
    item.append(who, ` tipped ${credits(tip.amount)}`);
    if (tip.message) item.append(`: ${String(tip.message)}`);
    feed.prepend(item);
    while (feed.children.length > FEED_MAX) feed.lastElementChild?.remove();
  }

  onRoomData(TOPIC, (text) => {
    try {
      showTip(JSON.parse(text));
    } catch (error) {
      console.warn("golive: unreadable tip packet", error);
    }
  });

  /**
   * @param {HTMLFormElement} form
   * @param {SubmitEvent} event
   */
  async function send(form, event) {
    event.preventDefault();
    const button = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
    const fields = /** @type {{ amount: HTMLInputElement, message: HTMLInputElement }} */ (
      /** @type {unknown} */ (form.elements)
    );
    const amount = Number(fields.amount.value);
    if (!Number.isInteger(amount) || amount < 1) {
      say("Enter a whole number of credits.", true);
      return;
    }
    button.disabled = true;
    say("Sending…");
    try {
      const result = await postJson(form.action, {
        amount,
        message: fields.message.value,
        requestId,
      });
      if (result.status === 0) {
        say(NOT_REACHED, true);
        return;
      }
      const answer = result.body || {};
      if (result.ok) {
        requestId = newRequestId();
        form.reset();
        say(`Thank you! You sent ${credits(answer.tip.amount)}. Your balance: ${credits(answer.balance)}.`);
      } else {
        // The server said no (nothing was charged): the next attempt is a new tip.
        requestId = newRequestId();
        say(result.serverError || "The tip could not be sent.", true);
      }
    } catch {
      say(NOT_REACHED, true);
    } finally {
      button.disabled = false;
    }
  }

  if (form) form.addEventListener("submit", (event) => send(form, event));
}
