// The lightbox: a grid's frames open in an overlay, ← and → step through the grid, Esc closes.
// Progressive enhancement: every tile is a plain link to the frame's page, which has previous
// and next links of its own. The script fetches that page and shows its #frame-view (the markup
// the server renders); it writes no markup. On a frame's own page, ← and → follow its links.
(function () {
  "use strict";
  const dialog = document.getElementById("lightbox");
  const body = document.getElementById("lightbox-body");

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable], video, iframe");
  }

  if (!dialog || typeof dialog.showModal !== "function") {
    // A frame's page: the keyboard follows its previous and next links.
    document.addEventListener("keydown", function (e) {
      if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || e.defaultPrevented || typing(e.target)) return;
      const rel = e.key === "ArrowLeft" ? "prev" : e.key === "ArrowRight" ? "next" : "";
      const link = rel && document.querySelector('#frame-view a[rel="' + rel + '"]');
      if (link) { e.preventDefault(); window.location.assign(link.href); }
    });
    return;
  }

  const tiles = function () { return Array.from(document.querySelectorAll("a[data-lightbox]")); };
  let current = -1;
  let opener = null;
  let loading = 0;

  async function load(url) {
    const ticket = ++loading;
    dialog.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (ticket !== loading) return;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const view = doc.getElementById("frame-view");
      if (!response.ok || !view) throw new Error(String(response.status));
      // The page's own pager steps through that page's list; here the grid's order rules.
      const pager = view.querySelector(".pager");
      if (pager) pager.remove();
      body.replaceChildren(document.adoptNode(view));
      dialog.dataset.url = response.url;
      document.getElementById("lightbox-page").href = response.url.replace(/\?.*$/, "");
    } catch (e) {
      if (ticket !== loading) return;
      const p = document.createElement("p");
      p.className = "errors";
      p.textContent = "Could not load this frame; open it on its own page instead.";
      body.replaceChildren(p);
    } finally {
      if (ticket === loading) dialog.removeAttribute("aria-busy");
    }
  }

  function show(index) {
    const all = tiles();
    if (index < 0 || index >= all.length) return;
    current = index;
    document.getElementById("lightbox-prev").disabled = index === 0;
    document.getElementById("lightbox-next").disabled = index === all.length - 1;
    load(all[index].href);
  }

  function step(by) { show(current + by); }

  document.addEventListener("click", function (e) {
    if (e.button !== 0 || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return; // new tab etc.
    const tile = e.target.closest("a[data-lightbox]");
    if (tile) {
      e.preventDefault();
      opener = tile;
      body.replaceChildren();
      dialog.showModal();
      show(tiles().indexOf(tile));
      return;
    }
    // Links of the frame page that stay in place (play, back to the frame) load in the overlay.
    const inside = dialog.open && e.target.closest("#lightbox a[data-lightbox-load]");
    if (inside) { e.preventDefault(); load(inside.href); }
  });

  document.getElementById("lightbox-prev").addEventListener("click", function () { step(-1); });
  document.getElementById("lightbox-next").addEventListener("click", function () { step(1); });
  document.getElementById("lightbox-close").addEventListener("click", function () { dialog.close(); });
  // A click on the backdrop (the dialog itself, outside its content) closes it.
  dialog.addEventListener("click", function (e) { if (e.target === dialog) dialog.close(); });
  dialog.addEventListener("close", function () {
    loading++;
    body.replaceChildren(); // stops a video or player that was playing
    if (opener) opener.focus();
  });

  // On the document: focus may be on no element of the overlay (a disabled arrow button).
  document.addEventListener("keydown", function (e) {
    if (!dialog.open) return;
    if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || typing(e.target)) return;
    if (e.key === "ArrowLeft") { e.preventDefault(); step(-1); }
    else if (e.key === "ArrowRight") { e.preventDefault(); step(1); }
    // Esc: the dialog closes itself (its "cancel"), and focus goes back to the tile.
  });
})();
