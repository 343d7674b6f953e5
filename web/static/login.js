// Spend the one-time sign-in link by POSTing it. Link-preview bots fetch the page (GET) and run
// no scripts, so they never use the link up; people are signed in without clicking anything.
const form = document.getElementById("login-form");
if (form instanceof HTMLFormElement && !form.dataset.submitted) signIn(form);

/** @param {HTMLFormElement} form */
function signIn(form) {
  form.dataset.submitted = "1";
  const button = document.getElementById("login-continue");
  form.addEventListener("submit", () => {
    if (button instanceof HTMLButtonElement) button.disabled = true;
  });
  // Coming back with the Back button restores this page from cache: let the person press Continue.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && button instanceof HTMLButtonElement) button.disabled = false;
  });
  if (typeof form.requestSubmit === "function") {
    form.requestSubmit();
  } else {
    form.submit();
  }
}
