/* Patient list: keyboard movement between the search box and the results. */
(function () {
  "use strict";
  function links() { return Array.prototype.slice.call(document.querySelectorAll("#results .row-link")); }
  document.addEventListener("keydown", function (event) {
    var search = document.getElementById("id_search");
    var all = links();
    if (!all.length) return;
    var index = all.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && (document.activeElement === search || index >= 0)) {
      event.preventDefault();
      all[Math.min(index + 1, all.length - 1)].focus();
    } else if (event.key === "ArrowUp" && index >= 0) {
      event.preventDefault();
      if (index === 0) search.focus(); else all[index - 1].focus();
    } else if (event.key === "/" && document.activeElement !== search && !/input|textarea|select/i.test(document.activeElement.tagName)) {
      event.preventDefault();
      search.focus();
    }
  });
})();
