/* Status controls (day view, dashboard): a change is saved only on an explicit choice.
   Arrow keys and the select's change event never save; Enter in the select or the Save button does.
   The confirmation goes to the page's one live region (#status-live), swapped in by the server. */
(function () {
  "use strict";

  function markDirty(select) {
    var form = select.closest(".status-form");
    if (!form) return;
    var dirty = select.value !== form.dataset.status;
    form.classList.toggle("is-dirty", dirty);
    var saved = form.querySelector(".status-saved");
    if (saved && dirty) saved.remove();
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches(".status-form .status-select")) markDirty(event.target);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !event.target.matches(".status-form .status-select")) return;
    event.preventDefault();
    var form = event.target.closest("form");
    if (form.requestSubmit) form.requestSubmit(); else form.querySelector("button[type=submit]").click();
  });

  // After a save the form is swapped back: carry its status to the row (colour) and keep focus on its select.
  var pending = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.classList && form.classList.contains("status-form")) {
      pending = form.querySelector(".status-select").id;
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!pending) return;
    var select = document.getElementById(pending);
    pending = null;
    if (!select) return;
    var form = select.closest(".status-form");
    var row = form.closest("[data-status-row]");
    if (row) {
      row.className = row.className.replace(/(^|\s)status-[a-z_]+/g, " ").trim();
      row.classList.add("status-" + form.dataset.status);
    }
    select.focus();
  });
})();
