// Polls the job's JSON status until it settles; no reload, no external library. When the job is
// done, the frames it made are fetched as the server renders them on this page (#job-frames).
(function () {
  "use strict";
  const root = document.getElementById("job");
  if (!root) return;
  const title = document.getElementById("job-title");
  const progress = document.getElementById("job-progress");
  const status = document.getElementById("job-status");
  const percent = document.getElementById("job-percent");
  const message = document.getElementById("job-message");
  const counts = document.getElementById("job-counts");
  const children = document.getElementById("job-children");
  const result = document.getElementById("job-result");
  const resultLink = document.getElementById("job-result-link");
  const inspireLink = document.getElementById("job-inspire-link");
  const retry = document.getElementById("job-retry");
  const kind = document.getElementById("job-kind");
  const started = document.getElementById("job-started");
  const frames = document.getElementById("job-frames");

  // As jobs/units.py ago_text words it; moved on by the clock between polls.
  let startedAt = Date.now() - Number(started.dataset.seconds || 0) * 1000;
  function agoText(seconds) {
    const units = [["day", 86400], ["hour", 3600], ["minute", 60]];
    for (const [unit, size] of units) {
      if (seconds >= size) {
        const n = Math.floor(seconds / size);
        return n + " " + unit + (n === 1 ? "" : "s") + " ago";
      }
    }
    return "just now";
  }
  function tick() { started.textContent = agoText(Math.max(0, (Date.now() - startedAt) / 1000)); }
  setInterval(tick, 15000);

  async function showFrames() {
    try {
      const response = await fetch(window.location.pathname, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (!response.ok) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById("job-frames");
      if (!fresh) return;
      frames.replaceWith(document.adoptNode(fresh));
      fresh.dispatchEvent(new CustomEvent("inspire:frames", { bubbles: true }));
    } catch (e) {
      // The "See the frames" link shows them all the same.
    }
  }

  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  function childItem(c) {
    const li = document.createElement("li");
    const badge = document.createElement("span");
    badge.className = "badge " + c.status;
    badge.textContent = c.status_label;
    li.appendChild(badge);
    li.appendChild(document.createTextNode(" "));
    if (c.url) {
      const a = document.createElement("a");
      a.href = c.url; a.textContent = c.title;
      li.appendChild(a);
    } else {
      li.appendChild(document.createTextNode(c.title));
    }
    if (c.status === "failed") {
      li.appendChild(document.createTextNode(": "));
      const why = document.createElement("span");
      why.className = "errors"; why.textContent = c.message;
      li.appendChild(why);
    }
    return li;
  }

  function render(data) {
    if (data.title && title.textContent !== data.title) {
      title.textContent = data.title;
      document.title = data.title + " · Inspire";
    }
    progress.value = data.percent;
    progress.textContent = data.percent + "%";
    percent.textContent = data.percent + "%";
    status.textContent = data.status_label;
    status.className = "badge " + data.status;
    status.dataset.status = data.status;
    message.textContent = data.message;
    kind.textContent = data.kind_label;
    startedAt = Date.now() - data.started_s * 1000;
    tick();
    // A playlist's counts say what its message says: one of them.
    message.hidden = Boolean(data.counts.total);
    if (data.counts.total) {
      let text = data.counts.done + " of " + plural(data.counts.total, "video") + " ready";
      if (data.counts.failed) text += ", " + data.counts.failed + " failed";
      counts.textContent = text + ".";
      counts.hidden = false;
      children.replaceChildren.apply(children, data.children.map(childItem));
      children.hidden = false;
    }
    if (data.result_url) {
      resultLink.href = data.result_url;
      inspireLink.href = data.inspire_url;
      result.hidden = false;
    }
    retry.hidden = data.status !== "failed";
    if (data.status === "done" && root.dataset.finished !== "true") showFrames();
    root.dataset.finished = String(data.finished);
  }

  let delay = 700;
  async function poll() {
    try {
      const response = await fetch(root.dataset.statusUrl, {
        headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store",
      });
      if (response.ok) {
        const data = await response.json();
        render(data);
        if (data.finished) return;
        delay = data.status === "running" ? 700 : Math.min(delay * 1.3, 4000);
      } else {
        delay = Math.min(delay * 2, 10000);
      }
    } catch (e) {
      delay = Math.min(delay * 2, 10000); // network blip: try again, a little later
    }
    setTimeout(poll, delay);
  }
  if (root.dataset.finished !== "true") setTimeout(poll, 300);
})();
