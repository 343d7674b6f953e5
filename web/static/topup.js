// The page Stripe Checkout sends a member back to (templates/topup_return.html), while Stripe's
// webhook has not yet told golive the payment went through: ask every few seconds until the
// credits have landed, then say so. Payments that take longer (a bank transfer) land by
// themselves; the page says that instead of spinning for ever.
import { getJson, poll } from "./net.js";
import { gettext, ngettext } from "./text.js";

const ASK_EVERY_MS = 2000;
const SLOW_AFTER_MS = 60_000;

const panel = document.querySelector("[data-testid=topup-return]");
if (panel instanceof HTMLElement && panel.dataset.state === "pending" && panel.dataset.statusUrl) {
  watchPayment(panel, panel.dataset.statusUrl);
}

/**
 * @param {HTMLElement} panel
 * @param {string} statusUrl
 */
function watchPayment(panel, statusUrl) {
  const title = document.getElementById("topup-title");
  const message = document.getElementById("topup-message");
  const spinner = document.getElementById("topup-spinner");
  const progress = document.getElementById("topup-progress");
  const startedAt = Date.now();

  /** @param {number} n */
  const credits = (n) => ngettext("%(n)s credit", "%(n)s credits", n);

  function stopWaiting() {
    poller.stop();
    if (spinner) spinner.hidden = true;
    progress?.remove();
  }

  /** @param {{ status?: unknown, balance?: unknown }} answer */
  function show(answer) {
    if (answer.status !== "credited") {
      if (message && Date.now() - startedAt > SLOW_AFTER_MS) {
        message.textContent = gettext(
          "This is taking longer than usual. Your credits arrive by themselves as soon as Stripe confirms the payment: you can leave this page.",
        );
      }
      return;
    }
    stopWaiting();
    panel.dataset.state = "credited";
    if (title && title.dataset.creditedText) title.textContent = title.dataset.creditedText;
    if (message) {
      message.textContent =
        typeof answer.balance === "number"
          ? gettext("Your balance: %(credits)s.", { credits: credits(answer.balance) })
          : "";
    }
  }

  const poller = poll(
    async () => {
      const reply = await getJson(statusUrl);
      if (reply.ok && reply.body) {
        show(reply.body);
      } else if (reply.status === 404 || reply.status === 400) {
        stopWaiting();
        if (message) message.textContent = reply.error;
      }
      return reply;
    },
    { everyMs: ASK_EVERY_MS },
  );
  poller.startLater();
}
