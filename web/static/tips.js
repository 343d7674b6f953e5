// Tips on the watch page: the form for signed-in viewers (balance, one-tap amounts and limits
// read from the server's settings, "Get credits" through Stripe Checkout), and the tips that
// arrive in the room (watch.js re-dispatches LiveKit data packets as "golive:data" events).
import { onRoomData } from "./app.js";
import { getJson, postJson } from "./net.js";
import { gettext, ngettext } from "./text.js";

const TOPIC = "tips";
const FEED_MAX = 20;
const LANG = document.documentElement.lang || "en";
startTips();

/**
 * What GET /api/live/<slug>/tip says the form may offer.
 * @typedef {object} TipForm
 * @property {number} min
 * @property {number} max
 * @property {number} messageMax
 * @property {number[]} presets
 * @property {number | null} balance
 * @property {{ enabled: boolean, amounts: number[], centsPerCredit: number, currency: string }} topup
 */

/** @param {number} n */
function credits(n) {
  return ngettext("%(n)s credit", "%(n)s credits", n);
}

/**
 * A translated text with one placeholder filled by an element (a name in bold, say): the text
 * around it stays text, so nothing a viewer typed becomes markup.
 * @param {string} template the translation, its other placeholders already filled
 * @param {string} name the placeholder left in it
 * @param {Node} node
 * @returns {(Node | string)[]}
 */
function withNode(template, name, node) {
  const [before, ...after] = template.split(`%(${name})s`);
  return after.length === 0 ? [template] : [before, node, after.join(`%(${name})s`)];
}

function startTips() {
  const form = /** @type {HTMLFormElement | null} */ (document.getElementById("tip-form"));
  const feed = document.getElementById("tip-feed");

  /** @param {{ amount?: unknown, from?: unknown, message?: unknown }} tip */
  function showTip(tip) {
    if (!feed || typeof tip.amount !== "number") return;
    const item = document.createElement("li");
    item.className = "tips__item";
    const who = document.createElement("strong");
    who.textContent = String(tip.from || gettext("Someone"));
    const amount = credits(tip.amount);
    const text = tip.message
      ? gettext("%(name)s tipped %(amount)s: %(message)s", { amount, message: String(tip.message) })
      : gettext("%(name)s tipped %(amount)s", { amount });
    item.append(...withNode(text, "name", who));
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

  if (form) startForm(form);
}

/** @param {HTMLFormElement} form */
function startForm(form) {
  const fields = /** @type {{ amount: HTMLInputElement, message: HTMLInputElement }} */ (
    /** @type {unknown} */ (form.elements)
  );
  const status = document.getElementById("tip-status");
  const balanceLine = document.getElementById("tip-balance");
  const presets = document.getElementById("tip-presets");
  const limits = document.getElementById("tip-limits");
  const messageField = document.getElementById("tip-message-field");
  const topup = startTopup();
  const NOT_REACHED = gettext("Couldn't reach golive. Try again: you won't be charged twice.");

  /** @type {TipForm | null} */
  let settings = null;
  // One id per tip the viewer means to send: a retry after a network error reuses it, so the
  // server tips once; a new id only after the server answered.
  let requestId = newRequestId();

  /**
   * @param {string} text
   * @param {boolean} [isError]
   */
  function say(text, isError = false) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("is-error", isError);
  }

  /** @param {number | null} balance */
  function showBalance(balance) {
    if (!balanceLine || balance === null) return;
    balanceLine.textContent = gettext("Your balance: %(credits)s.", { credits: credits(balance) });
    balanceLine.hidden = false;
    if (settings) settings.balance = balance;
    topup.suggest(settings, balance);
  }

  /** @param {TipForm} answer */
  function apply(answer) {
    settings = answer;
    fields.amount.min = String(answer.min);
    fields.amount.max = String(answer.max);
    if (limits) {
      limits.textContent = gettext("A tip is between %(low)s and %(high)s.", {
        low: credits(answer.min),
        high: credits(answer.max),
      });
    }
    fields.message.maxLength = answer.messageMax;
    if (messageField) messageField.hidden = answer.messageMax === 0;
    if (presets) {
      presets.replaceChildren(
        ...answer.presets.map((amount) => {
          const button = document.createElement("button");
          button.type = "button";
          button.className = "button button--ghost button--small tips__preset";
          button.textContent = amount.toLocaleString(LANG);
          button.setAttribute("aria-label", gettext("Tip %(credits)s", { credits: credits(amount) }));
          button.addEventListener("click", () => {
            fields.amount.value = String(amount);
            for (const other of presets.querySelectorAll("button")) {
              other.setAttribute("aria-pressed", String(other === button));
            }
            fields.amount.focus();
          });
          button.setAttribute("aria-pressed", "false");
          return button;
        }),
      );
      presets.hidden = answer.presets.length === 0;
    }
    topup.configure(answer);
    showBalance(answer.balance);
  }

  async function load() {
    const reply = await getJson(form.action);
    if (reply.ok && reply.body) apply(reply.body);
  }

  /** @param {SubmitEvent} event */
  async function send(event) {
    event.preventDefault();
    const button = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
    const amount = Number(fields.amount.value);
    if (!Number.isInteger(amount) || amount < 1) {
      say(gettext("Enter a whole number of credits."), true);
      return;
    }
    if (settings && (amount < settings.min || amount > settings.max)) {
      say(limits?.textContent || "", true);
      return;
    }
    button.disabled = true;
    say(gettext("Sending…"));
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
        say(
          gettext("Thank you! You sent %(amount)s. Your balance: %(balance)s.", {
            amount: credits(answer.tip.amount),
            balance: credits(answer.balance),
          }),
        );
        showBalance(answer.balance);
      } else {
        // The server said no (nothing was charged): the next attempt is a new tip.
        requestId = newRequestId();
        say(result.serverError || gettext("The tip could not be sent."), true);
        if (settings && settings.balance !== null && amount > settings.balance) topup.open();
      }
    } catch {
      say(NOT_REACHED, true);
    } finally {
      button.disabled = false;
    }
  }

  form.addEventListener("submit", send);
  load();
  // Back from Stripe with the browser's back button: the page comes from the cache, the
  // balance may have changed meanwhile.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) load();
  });
}

function newRequestId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * "Get credits": a few amounts to buy; picking one starts Stripe Checkout and goes there.
 * Stripe sends the member back to /topup/done, which leads back to this page.
 */
function startTopup() {
  const box = document.getElementById("tip-topup");
  const toggle = /** @type {HTMLButtonElement | null} */ (document.getElementById("tip-get-credits"));
  const amounts = document.getElementById("tip-topup-amounts");
  const status = document.getElementById("tip-topup-status");
  let enabled = false;

  /**
   * @param {string} text
   * @param {boolean} [isError]
   */
  function say(text, isError = false) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("is-error", isError);
  }

  /** @param {boolean} shown */
  function setOpen(shown) {
    if (!amounts || !toggle) return;
    amounts.hidden = !shown;
    toggle.setAttribute("aria-expanded", String(shown));
  }

  /**
   * @param {number} amount
   * @param {HTMLButtonElement} button
   */
  async function buy(amount, button) {
    button.disabled = true;
    say(gettext("Opening Stripe…"));
    const reply = await postJson("/api/topups", {
      credits: amount,
      returnTo: window.location.pathname + window.location.search,
    });
    if (reply.ok && reply.body && typeof reply.body.url === "string") {
      window.location.assign(reply.body.url);
      return;
    }
    button.disabled = false;
    say(reply.status === 0 ? reply.error : reply.serverError || reply.error, true);
  }

  /**
   * @param {number} amount
   * @param {{ centsPerCredit: number, currency: string }} topup
   */
  function price(amount, topup) {
    try {
      return new Intl.NumberFormat(LANG, { style: "currency", currency: topup.currency.toUpperCase() }).format(
        (amount * topup.centsPerCredit) / 100,
      );
    } catch {
      return "";
    }
  }

  toggle?.addEventListener("click", () => setOpen(amounts?.hidden ?? false));

  return {
    /** @param {TipForm} form */
    configure(form) {
      enabled = form.topup.enabled && form.topup.amounts.length > 0;
      if (!box || !amounts) return;
      box.hidden = !enabled;
      amounts.replaceChildren(
        ...form.topup.amounts.map((amount) => {
          const button = document.createElement("button");
          button.type = "button";
          button.className = "button button--primary button--small";
          const cost = price(amount, form.topup);
          button.textContent = cost
            ? gettext("%(credits)s for %(price)s", { credits: credits(amount), price: cost })
            : credits(amount);
          button.addEventListener("click", () => buy(amount, button));
          return button;
        }),
      );
    },
    /**
     * A balance below the smallest tip: offer credits (or say why none can be bought here).
     * @param {TipForm | null} form
     * @param {number} balance
     */
    suggest(form, balance) {
      if (!form || balance >= form.min) return;
      if (enabled) {
        setOpen(true);
      } else if (box) {
        box.hidden = false;
        if (toggle) toggle.hidden = true;
        say(gettext("Buying credits isn't set up here yet; a moderator can grant you some."));
      }
    },
    open() {
      if (enabled) setOpen(true);
    },
  };
}
