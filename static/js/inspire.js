// "Another one" and "Save" without reloading; keyboard: space/→ another, s save.
// The page works without this script too: the buttons are a plain link and a plain form.
(function () {
  "use strict";
  const root = document.getElementById("inspire");
  if (!root) return;
  const img = document.getElementById("frame-image");
  const videoLink = document.getElementById("frame-video");
  const time = document.getElementById("frame-time");
  const palette = document.getElementById("frame-palette");
  const saveForm = document.getElementById("save-form");
  const saveButton = document.getElementById("save-button");
  const another = document.getElementById("another");
  const sourceLink = document.getElementById("source-link");
  const download = document.getElementById("download");
  const status = document.getElementById("inspire-status");
  const csrf = saveForm.querySelector("input[name=csrfmiddlewaretoken]").value;
  // The frame shown: what the buttons need of it is on the page; the next ones come as JSON.
  let frame = {
    id: Number(root.dataset.frameId),
    saved: saveButton.dataset.saved === "true",
    save_url: saveForm.dataset.saveUrl,
    unsave_url: saveForm.dataset.unsaveUrl,
  };
  let busy = false;

  function say(text) { status.textContent = text || ""; }

  function showSaved(saved) {
    frame.saved = saved;
    saveButton.dataset.saved = String(saved);
    saveButton.setAttribute("aria-pressed", String(saved));
    saveButton.textContent = saved ? "Saved ✓" : "Save";
    saveForm.action = saved ? frame.unsave_url : frame.save_url;
  }

  function render(next) {
    frame = next;
    img.src = next.image_url;
    img.alt = "Frame of " + next.video_title + " at " + next.timestamp_label;
    img.width = next.width; img.height = next.height;
    videoLink.textContent = next.video_title;
    videoLink.href = next.video_url;
    time.textContent = next.timestamp_label;
    palette.replaceChildren();
    if (next.palette && next.palette.length) {
      const box = document.createElement("div");
      box.className = "palette";
      box.setAttribute("aria-label", "Colour palette");
      next.palette.forEach(function (c) {
        const s = document.createElement("span");
        s.style.background = c; s.title = c; s.setAttribute("role", "img"); s.setAttribute("aria-label", c);
        box.appendChild(s);
      });
      palette.appendChild(box);
    }
    sourceLink.hidden = !next.source_link;
    sourceLink.href = next.source_link || "#";
    download.href = next.download_url;
    root.dataset.frameId = String(next.id);
    showSaved(next.saved);
  }

  async function nextFrame() {
    if (busy) return;
    busy = true;
    another.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(root.dataset.randomUrl, {
        headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store",
      });
      const data = await response.json().catch(function () { return {}; });
      if (response.ok && data.frame) { render(data.frame); say(""); }
      else { say(data.message || "Could not load another frame; please try again."); }
    } catch (e) {
      say("Could not reach the site; check your connection and try again.");
    } finally {
      busy = false;
      another.removeAttribute("aria-busy");
    }
  }

  async function toggleSave() {
    try {
      const response = await fetch(saveForm.action, {
        method: "POST",
        headers: { Accept: "application/json", "X-CSRFToken": csrf },
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

  another.addEventListener("click", function (e) { e.preventDefault(); nextFrame(); });
  saveForm.addEventListener("submit", function (e) { e.preventDefault(); toggleSave(); });
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.defaultPrevented) return;
    if (e.target.closest("input, textarea, select, [contenteditable]")) return;
    // Space on a focused button already presses that button; do not press another one too.
    if (e.key === " " && e.target.closest("button")) return;
    if (e.key === " " || e.key === "ArrowRight") { e.preventDefault(); nextFrame(); }
    else if (e.key === "s" || e.key === "S") { e.preventDefault(); toggleSave(); }
  });
})();
