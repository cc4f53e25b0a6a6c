// Small behaviours shared by every page: confirm before destructive forms.
(function () {
  "use strict";
  document.addEventListener("submit", function (e) {
    const form = e.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) e.preventDefault();
  });
})();
