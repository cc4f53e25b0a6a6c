// "Another one" and "Save" without reloading; keyboard: space/→ another, s save.
// The page works without this script: "Another one" is a plain link to the page, "Save" a plain
// form. The script fetches the same frame markup the server renders for the page
// (templates/partials/_inspire_frame.html, ?partial=1) and puts it in place; it writes no markup.
(function () {
  "use strict";
  if (!document.getElementById("inspire")) return;
  let busy = false;

  function root() { return document.getElementById("inspire"); }
  function say(text) { document.getElementById("inspire-status").textContent = text || ""; }

  function showSaved(saved) {
    const form = document.getElementById("save-form");
    const button = document.getElementById("save-button");
    button.dataset.saved = String(saved);
    button.setAttribute("aria-pressed", String(saved));
    button.textContent = saved ? "Saved ✓" : "Save";
    form.action = saved ? form.dataset.unsaveUrl : form.dataset.saveUrl;
  }

  async function nextFrame() {
    if (busy) return;
    busy = true;
    const another = document.getElementById("another");
    another.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(root().dataset.partialUrl, {
        headers: { Accept: "text/html" }, credentials: "same-origin", cache: "no-store",
      });
      const text = await response.text();
      if (response.ok) {
        const next = new DOMParser().parseFromString(text, "text/html").getElementById("inspire");
        root().replaceWith(document.adoptNode(next));
      } else {
        say(response.status === 404 ? text : "Could not load another frame; please try again.");
      }
    } catch (e) {
      say("Could not reach the site; check your connection and try again.");
    } finally {
      busy = false;
      const link = document.getElementById("another");
      if (link) link.removeAttribute("aria-busy");
    }
  }

  async function toggleSave() {
    const form = document.getElementById("save-form");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        headers: { Accept: "application/json", "X-CSRFToken": form.elements.csrfmiddlewaretoken.value },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(String(response.status));
      const saved = (await response.json()).saved;
      showSaved(saved);
      say(saved ? "Saved to your favourites." : "Removed from your favourites.");
    } catch (e) {
      say("Could not save this frame; please try again.");
    }
  }

  // Delegated: the frame's elements are replaced with each new frame.
  document.addEventListener("click", function (e) {
    if (e.target.closest("#another")) { e.preventDefault(); nextFrame(); }
  });
  document.addEventListener("submit", function (e) {
    if (e.target.id === "save-form") { e.preventDefault(); toggleSave(); }
  });
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.defaultPrevented) return;
    if (e.target.closest("input, textarea, select, [contenteditable]")) return;
    // Space on a focused button already presses that button; do not press another one too.
    if (e.key === " " && e.target.closest("button")) return;
    if (e.key === " " || e.key === "ArrowRight") { e.preventDefault(); nextFrame(); }
    else if (e.key === "s" || e.key === "S") { e.preventDefault(); toggleSave(); }
  });
})();
