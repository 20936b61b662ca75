/* Usage bars: widths set through the DOM (the CSP allows no inline styles). */
(function () {
  "use strict";
  function paint(root) {
    root.querySelectorAll(".usage-bar").forEach(function (bar) {
      var total = Math.max(parseInt(bar.dataset.total, 10) || 0, 1);
      var used = parseInt(bar.dataset.used, 10) || 0;
      var scheduled = parseInt(bar.dataset.scheduled, 10) || 0;
      var usedShare = Math.min(used / total, 1);
      bar.querySelector(".usage-used").style.width = (usedShare * 100) + "%";
      bar.querySelector(".usage-scheduled").style.width = (Math.min(scheduled / total, 1 - usedShare) * 100) + "%";
      if (used > total) bar.classList.add("is-over");
    });
  }
  document.addEventListener("DOMContentLoaded", function () { paint(document); });
  document.addEventListener("htmx:afterSwap", function (event) { paint(event.target); });
})();
