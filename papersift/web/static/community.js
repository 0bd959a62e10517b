// Vote and save buttons without a page reload. Every form works without this script: it posts
// and the server redirects back. With it, the same form is sent with fetch, the CSRF token from
// <meta name="csrf-token"> in the X-CSRF-Token header, and the button is updated in place.
"use strict";

(function () {
  function token() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function update(form, data) {
    const kind = form.dataset.kind;
    const button = form.querySelector("button");
    const on = kind === "vote" ? data.voted : data.saved;
    form.querySelector(kind === "vote" ? "input[name=up]" : "input[name=saved]").value = on ? "0" : "1";
    button.classList.toggle("on", on);
    button.setAttribute("aria-pressed", on ? "true" : "false");
    if (kind === "vote") {
      button.querySelector(".count").textContent = String(data.votes);
      button.title = on ? "undo your vote" : "upvote";
    } else {
      button.querySelector(".label").textContent = on ? "saved" : "save";
    }
  }

  document.addEventListener("submit", async function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("js-toggle")) return;
    event.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-CSRF-Token": token(), Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error("HTTP " + response.status);
      update(form, await response.json());
    } catch (err) {
      form.submit(); // let the server answer the plain way (e.g. send a signed-out user to log in)
    } finally {
      button.disabled = false;
    }
  });
})();
