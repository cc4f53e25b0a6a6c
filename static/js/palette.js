// Swatches copy their hex value when pressed (templates/partials/_palette.html). Delegated from
// the document: "Inspire me" replaces its frame, palette included, without a reload. No inline
// handlers, so a Content-Security-Policy without 'unsafe-inline' keeps this working.
(function () {
  "use strict";

  function fallbackCopy(text) {
    // Without the async clipboard (a page not served over https or from localhost).
    const field = document.createElement("textarea");
    field.value = text;
    field.setAttribute("readonly", "");
    field.className = "offscreen";
    document.body.appendChild(field);
    field.select();
    const done = document.execCommand("copy");
    field.remove();
    return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  document.addEventListener("click", function (e) {
    const button = e.target.closest("button[data-copy]");
    if (!button) return;
    const value = button.dataset.copy;
    const status = button.closest(".palette-wrap")?.querySelector(".swatch-status");
    copy(value).then(
      function () {
        button.dataset.copied = "true";
        if (status) status.textContent = "Copied " + value + ".";
      },
      function () {
        if (status) status.textContent = "Could not copy; select " + value + " and copy it by hand.";
      }
    );
  });
})();
