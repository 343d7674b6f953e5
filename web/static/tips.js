// Tips on the watch page: send one from the form (signed-in viewers), and show the tips that
// arrive in the room (watch.js re-dispatches LiveKit data packets as "golive:data" events).
"use strict";

(() => {
  const TOPIC = "tips";
  const FEED_MAX = 20;
  const form = document.getElementById("tip-form");
  const feed = document.getElementById("tip-feed");
  const status = document.getElementById("tip-status");
  const NOT_REACHED = "Couldn't reach golive. Try again: you won't be charged twice.";

  // One id per tip the viewer means to send: a retry after a network error reuses it, so the
  // server tips once; a new id only after the server answered.
  let requestId = newRequestId();

  function newRequestId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function say(text, isError = false) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("is-error", isError);
  }

  function credits(amount) {
    return `${amount.toLocaleString("en")} credit${amount === 1 ? "" : "s"}`;
  }

  function showTip(tip) {
    if (!feed || typeof tip.amount !== "number") return;
    const item = document.createElement("li");
    item.className = "tips__item";
    const who = document.createElement("strong");
    who.textContent = String(tip.from || "Someone");
    item.append(who, ` tipped ${credits(tip.amount)}`);
    if (tip.message) item.append(`: ${String(tip.message)}`);
    feed.prepend(item);
    while (feed.children.length > FEED_MAX) feed.lastElementChild.remove();
  }

  document.addEventListener("golive:data", (event) => {
    if (event.detail?.topic !== TOPIC) return;
    try {
      showTip(JSON.parse(event.detail.text));
    } catch (error) {
      console.warn("golive: unreadable tip packet", error);
    }
  });

  async function send(event) {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    const amount = Number(form.elements.amount.value);
    if (!Number.isInteger(amount) || amount < 1) {
      say("Enter a whole number of credits.", true);
      return;
    }
    button.disabled = true;
    say("Sending…");
    try {
      const result = await window.golive.postJson(form.action, {
        amount,
        message: form.elements.message.value,
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

  if (form) form.addEventListener("submit", send);
})();
