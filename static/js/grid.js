// Justified rows for grids of frames (.frames): each row as wide as the grid, every frame at its
// own aspect ratio (from its <img width height>), rows near a target height. Without this
// script the same tiles sit in a plain CSS grid, still at their own aspect ratio.
// Sizes are set through the CSSOM (element.style), which a strict CSP allows.
(function () {
  "use strict";

  function ratioOf(tile) {
    const img = tile.querySelector("img");
    const w = Number(img && img.getAttribute("width"));
    const h = Number(img && img.getAttribute("height"));
    return w > 0 && h > 0 ? w / h : 16 / 9;
  }

  function layout(grid) {
    const tiles = Array.from(grid.children);
    const width = grid.clientWidth;
    if (!width || !tiles.length) return;
    const gap = parseFloat(getComputedStyle(grid).columnGap) || 0;
    const target = width < 640 ? 130 : 210; // row height to aim for, in CSS pixels
    let row = [];
    let sum = 0;
    function place(items, ratios, height) {
      items.forEach(function (tile, i) { tile.style.width = Math.floor(ratios[i] * height) + "px"; });
    }
    let ratios = [];
    function heightOf(n, total) { return (width - gap * (n - 1)) / total; }
    tiles.forEach(function (tile) {
      const r = ratioOf(tile);
      if (row.length && heightOf(row.length + 1, sum + r) < target) {
        // Full: end the row with this frame or before it, whichever height is nearer the target.
        const without = heightOf(row.length, sum);
        const withIt = heightOf(row.length + 1, sum + r);
        if (without / target < target / withIt) {
          place(row, ratios, without);
          row = []; ratios = []; sum = 0;
        } else {
          row.push(tile); ratios.push(r);
          place(row, ratios, withIt);
          row = []; ratios = []; sum = 0;
          return;
        }
      }
      row.push(tile); ratios.push(r); sum += r;
    });
    // The last row keeps the target height rather than stretching a lone frame across the grid.
    if (row.length) place(row, ratios, Math.min(target, (width - gap * (row.length - 1)) / sum));
  }

  function justify(grid) {
    if (grid.classList.contains("justified")) return;
    grid.classList.add("justified");
    layout(grid);
    if (window.ResizeObserver) {
      let last = grid.clientWidth;
      new ResizeObserver(function () {
        if (grid.clientWidth !== last) { last = grid.clientWidth; layout(grid); }
      }).observe(grid);
    }
  }

  document.querySelectorAll(".frames").forEach(justify);
  // Grids a page's script puts in place later (the frames of a job that just finished).
  document.addEventListener("inspire:frames", function (e) {
    e.target.querySelectorAll(".frames").forEach(justify);
  });
})();
