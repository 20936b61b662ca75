/* Calendar pages: the booking dialog's patient picker and repeat options, filters that apply at once,
   service colours (set through the DOM: the CSP allows no inline styles). */
(function () {
  "use strict";

  function syncRecurrence(form) {
    var frequency = form.querySelector("[name=frequency]");
    var block = form.querySelector("[data-recurrence]");
    if (frequency && block) block.hidden = !frequency.value;
  }

  function choosePatient(form, id, label) {
    form.querySelector("[name=patient]").value = id;
    var chosen = form.querySelector("[data-patient-chosen]");
    chosen.querySelector("[data-patient-label]").textContent = label;
    chosen.hidden = false;
    var search = form.querySelector("#patient-search");
    search.hidden = true;
    search.value = "";
    form.querySelector("#patient-results").innerHTML = "";
    var next = form.querySelector("[name=date]");
    if (next) next.focus();
  }

  document.addEventListener("click", function (event) {
    var option = event.target.closest(".picker-option");
    if (option) {
      choosePatient(option.closest("form"), option.dataset.patientId, option.dataset.patientLabel);
      return;
    }
    var clear = event.target.closest("[data-patient-clear]");
    if (clear) {
      var form = clear.closest("form");
      form.querySelector("[name=patient]").value = "";
      form.querySelector("[data-patient-chosen]").hidden = true;
      var search = form.querySelector("#patient-search");
      search.hidden = false;
      search.focus();
    }
  });

  document.addEventListener("keydown", function (event) {
    // Down arrow from the patient search moves into the options; Enter on an option chooses it (a button).
    if (event.target.id === "patient-search" && event.key === "ArrowDown") {
      var first = document.querySelector("#patient-results .picker-option");
      if (first) { event.preventDefault(); first.focus(); }
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-autosubmit]")) event.target.form.submit();
    if (event.target.name === "frequency") syncRecurrence(event.target.form);
  });

  function paint(root) {
    root.querySelectorAll("[data-color]").forEach(function (dot) { dot.style.backgroundColor = dot.dataset.color; });
    root.querySelectorAll("#booking-form").forEach(syncRecurrence);
  }
  document.addEventListener("DOMContentLoaded", function () { paint(document); });
  document.addEventListener("htmx:afterSwap", function (event) { paint(event.target.closest("form") || event.target); });
  document.addEventListener("htmx:afterSettle", function (event) {
    // A booking form that came back with errors: open the dialog on it.
    var dialog = document.getElementById("booking-dialog");
    if (dialog && dialog.hidden && event.target.id === "booking-form") window.Spectrum.openModal(dialog);
  });
})();
