// Polls the job's JSON status until it settles; no reload, no external library.
(function () {
  "use strict";
  const root = document.getElementById("job");
  if (!root) return;
  const bar = document.getElementById("job-bar");
  const status = document.getElementById("job-status");
  const message = document.getElementById("job-message");
  const failures = document.getElementById("job-failures");
  const result = document.getElementById("job-result");
  const resultLink = document.getElementById("job-result-link");
  const retry = document.getElementById("job-retry");

  function render(data) {
    const pct = Math.round(data.progress * 100);
    bar.style.width = pct + "%";
    bar.parentElement.setAttribute("aria-valuenow", String(pct));
    status.textContent = data.status_label;
    status.className = "badge " + data.status;
    message.textContent = data.message;
    failures.replaceChildren(...data.failed.map(function (f) {
      const li = document.createElement("li");
      li.textContent = f.title + ": " + f.reason;
      return li;
    }));
    if (data.result_url) { resultLink.href = data.result_url; result.hidden = false; }
    retry.hidden = data.status !== "failed";
  }

  let delay = 700;
  async function poll() {
    try {
      const response = await fetch(root.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const data = await response.json();
        render(data);
        if (data.finished) return;
      }
    } catch (e) { /* network blip: try again */ }
    delay = Math.min(delay * 1.2, 4000);
    setTimeout(poll, delay);
  }
  if (root.dataset.finished !== "true") setTimeout(poll, 300);
})();
