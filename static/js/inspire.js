// "Another one" and "Save" without reloading; keyboard: space/→ another, s save.
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
  const csrf = saveForm.querySelector("input[name=csrfmiddlewaretoken]").value;
  let frame = JSON.parse(document.getElementById("frame-data").textContent);
  let busy = false;

  function showSaved(saved) {
    frame.saved = saved;
    saveButton.dataset.saved = String(saved);
    saveButton.textContent = saved ? "Saved ✓" : "Save to favourites";
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
    showSaved(next.saved);
  }

  async function nextFrame() {
    if (busy) return;
    busy = true;
    try {
      const response = await fetch(root.dataset.randomUrl, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const data = await response.json();
        if (data.frame) render(data.frame);
      }
    } finally { busy = false; }
  }

  async function toggleSave() {
    const response = await fetch(saveForm.action, {
      method: "POST",
      headers: { Accept: "application/json", "X-CSRFToken": csrf },
      credentials: "same-origin",
    });
    if (response.ok) showSaved((await response.json()).saved);
  }

  another.addEventListener("click", function (e) { e.preventDefault(); nextFrame(); });
  saveForm.addEventListener("submit", function (e) { e.preventDefault(); toggleSave(); });
  document.addEventListener("keydown", function (e) {
    if (e.target.closest("input, textarea, select, [contenteditable]") || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === " " || e.key === "ArrowRight") { e.preventDefault(); nextFrame(); }
    else if (e.key === "s" || e.key === "S") { e.preventDefault(); toggleSave(); }
  });
})();
