// The group roster: "Mark all present" fills every unmarked row (then mark the exceptions), and choosing
// Present fills empty times with the session's. Nothing is saved until "Save attendance" is pressed:
// arrow keys only move between the choices of a row.
(function () {
  "use strict";
  var form = document.getElementById("roster-form");
  if (!form) return;
  var defaultIn = form.getAttribute("data-default-in");
  var defaultOut = form.getAttribute("data-default-out");

  function fillTimes(row) {
    var timeIn = row.querySelector('input[name^="time_in-"]');
    var timeOut = row.querySelector('input[name^="time_out-"]');
    if (timeIn && !timeIn.value) timeIn.value = defaultIn;
    if (timeOut && !timeOut.value) timeOut.value = defaultOut;
  }

  var markAll = form.querySelector("[data-mark-all]");
  if (markAll) {
    markAll.addEventListener("click", function () {
      var count = 0;
      form.querySelectorAll(".roster-row").forEach(function (row) {
        if (row.querySelector('input[type="radio"]:checked')) return;
        var present = row.querySelector('input[type="radio"][value="attended"]');
        if (present) {
          present.checked = true;
          fillTimes(row);
          count += 1;
        }
      });
      var summary = document.getElementById("roster-summary");
      if (summary) {
        summary.textContent = count + " marked present (not saved yet): mark the exceptions, then Save attendance.";
      }
    });
  }

  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target.type === "radio" && target.value === "attended") {
      fillTimes(target.closest(".roster-row"));
    }
  });
})();
