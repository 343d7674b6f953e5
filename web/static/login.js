// Spend the one-time sign-in link by POSTing it. Link-preview bots fetch the page (GET) and run
// no scripts, so they never use the link up; people are signed in without clicking anything.
"use strict";

(() => {
  const form = document.getElementById("login-form");
  if (!form || form.dataset.submitted) return;
  form.dataset.submitted = "1";
  form.addEventListener("submit", () => {
    const button = document.getElementById("login-continue");
    if (button) button.disabled = true;
  });
  // Coming back with the Back button restores this page from cache: let the person press Continue.
  window.addEventListener("pageshow", (event) => {
    const button = document.getElementById("login-continue");
    if (event.persisted && button) button.disabled = false;
  });
  if (typeof form.requestSubmit === "function") {
    form.requestSubmit();
  } else {
    form.submit();
  }
})();
