// Boards, enhanced: "Save to board" without leaving the page, "Select all" for bulk actions,
// and dragging a board's frames into a new order. Everything here also works without this
// script: the forms post and redirect back, the ↑/↓ buttons move a frame one place.
(function () {
  "use strict";

  function csrf(form) { return form.elements.csrfmiddlewaretoken.value; }

  // "Save to board": post the form, say where the frame went, mark it saved on Inspire me.
  // Delegated: "Another one" replaces the Inspire frame and its form.
  document.addEventListener("submit", async function (e) {
    const form = e.target.closest("form[data-board-form]");
    if (!form || e.defaultPrevented) return;
    e.preventDefault();
    const status = form.querySelector(".board-status");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json", "X-CSRFToken": csrf(form) },
        credentials: "same-origin",
      });
      const data = await response.json();
      status.textContent = data.message || "";
      if (!response.ok) return;
      const newName = form.elements.new_board;
      if (newName.value.trim()) {
        // A board was made: offer it in the list from now on, chosen.
        let select = form.elements.board;
        if (select) {
          const option = new Option(newName.value.trim(), String(data.board), true, true);
          select.add(option);
        }
        newName.value = "";
      }
      const save = document.getElementById("save-button");
      const saveForm = document.getElementById("save-form");
      if (save && saveForm) {
        save.dataset.saved = "true";
        save.setAttribute("aria-pressed", "true");
        save.textContent = "Saved ✓";
        saveForm.action = saveForm.dataset.unsaveUrl;
      }
    } catch (err) {
      status.textContent = "Could not save to the board; please try again.";
    }
  });

  // Just removed something: Undo is the likeliest next key press, so it has the focus.
  const undo = document.querySelector(".messages form.undo button");
  if (undo && document.activeElement === document.body) undo.focus();

  // Bulk actions: a "Select all" button and a count of the ticked frames.
  const bulk = document.getElementById("bulk");
  if (bulk) {
    const boxes = function () { return [...document.querySelectorAll("input.pick[form='bulk']")]; };
    const count = bulk.querySelector("[data-bulk-count]");
    const all = bulk.querySelector("[data-select-all]");
    const update = function () {
      const n = boxes().filter(function (b) { return b.checked; }).length;
      count.textContent = n ? n + " selected:" : "With the selected frames:";
      all.textContent = n === boxes().length ? "Select none" : "Select all";
    };
    all.hidden = false;
    all.addEventListener("click", function () {
      const on = !boxes().every(function (b) { return b.checked; });
      boxes().forEach(function (b) { b.checked = on; });
      update();
    });
    document.addEventListener("change", function (e) { if (e.target.matches("input.pick")) update(); });
  }

  // A board's frames: drag one onto another to put it there; the new order is saved at once.
  const list = document.querySelector("[data-reorder-url]");
  if (list) {
    let dragged = null;
    list.addEventListener("dragstart", function (e) {
      dragged = e.target.closest("[data-item-id]");
      if (dragged) { dragged.classList.add("dragging"); e.dataTransfer.effectAllowed = "move"; }
    });
    list.addEventListener("dragover", function (e) { if (dragged) e.preventDefault(); });
    list.addEventListener("drop", async function (e) {
      const target = e.target.closest("[data-item-id]");
      if (!dragged || !target || target === dragged) return;
      e.preventDefault();
      const items = [...list.querySelectorAll("[data-item-id]")];
      const before = items.indexOf(target) < items.indexOf(dragged);
      list.insertBefore(dragged, before ? target : target.nextSibling);
      const body = new FormData();
      [...list.querySelectorAll("[data-item-id]")].forEach(function (li) { body.append("order", li.dataset.itemId); });
      const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
      await fetch(list.dataset.reorderUrl, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": token },
      });
    });
    list.addEventListener("dragend", function () {
      if (dragged) dragged.classList.remove("dragging");
      dragged = null;
    });
  }
})();
