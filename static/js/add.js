// Refuses an oversized or empty file before it is sent (the server checks again), and keeps
// "a link or a file, not both" obvious by clearing the other input.
(function () {
  "use strict";
  const form = document.getElementById("add-form");
  if (!form) return;
  const file = form.querySelector("input[type=file]");
  const url = form.querySelector("input[name=url]");
  if (!file) return;
  const errorBox = document.getElementById(file.id + "-error");

  function showError(text) {
    if (!errorBox) return;
    errorBox.replaceChildren();
    if (text) {
      const p = document.createElement("p");
      p.textContent = text;
      errorBox.appendChild(p);
    }
    errorBox.hidden = !text;
    file.closest(".field").classList.toggle("has-error", Boolean(text));
  }

  function check() {
    const chosen = file.files && file.files[0];
    if (!chosen) { showError(""); return true; }
    const max = Number(file.dataset.maxBytes || 0);
    if (chosen.size === 0) { showError("The file is empty."); return false; }
    if (max && chosen.size > max) {
      showError("The file is larger than the " + file.dataset.maxMb + " MB upload limit.");
      return false;
    }
    showError("");
    return true;
  }

  file.addEventListener("change", function () {
    if (file.files && file.files.length && url) url.value = "";
    check();
  });
  form.addEventListener("submit", function (e) {
    if (!check()) { e.preventDefault(); file.focus(); }
  });
})();
