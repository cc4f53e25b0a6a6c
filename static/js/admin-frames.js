// The admin's frame grid: select all or none, and say how many are ticked. The grid works
// without this script: each frame is a labelled checkbox of one form.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("frame-grid-form");
    if (!form) return;
    const boxes = function () { return Array.from(form.querySelectorAll('input[name="frame"]')); };
    const count = document.getElementById("frame-grid-count");
    function update() {
      const n = boxes().filter(function (b) { return b.checked; }).length;
      count.textContent = n ? n + " selected" : "";
    }
    form.addEventListener("change", update);
    form.addEventListener("click", function (e) {
      const button = e.target.closest("[data-frame-select]");
      if (!button) return;
      const on = button.dataset.frameSelect === "all";
      boxes().forEach(function (b) { b.checked = on; });
      update();
    });
  });
})();
