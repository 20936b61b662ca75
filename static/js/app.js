/* Spectrum shell behaviour: messages, navigation toggle, modals.
   Loaded as a file (CSP forbids inline scripts). */
(function () {
  "use strict";

  // --- Messages: every message can be closed; success messages leave after 5 seconds. ---
  function dismiss(message) {
    message.classList.add("is-leaving");
    setTimeout(function () { message.remove(); }, 300);
  }
  function wireMessages(root) {
    root.querySelectorAll(".message").forEach(function (message) {
      if (message.dataset.wired) return;
      message.dataset.wired = "1";
      var close = message.querySelector(".message-close");
      if (close) close.addEventListener("click", function () { dismiss(message); });
      var delay = parseInt(message.dataset.autodismiss || "", 10);
      if (delay > 0) setTimeout(function () { dismiss(message); }, delay);
    });
  }
  // Pages and htmx handlers add messages with Spectrum.notify(text, level).
  function notify(text, level) {
    var box = document.getElementById("messages");
    var message = document.createElement("div");
    message.className = "message message-" + (level || "info");
    message.setAttribute("role", level === "error" || level === "warning" ? "alert" : "status");
    if (level === "success") message.dataset.autodismiss = "5000";
    var span = document.createElement("span");
    span.className = "message-text";
    span.textContent = text;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "message-close";
    button.setAttribute("aria-label", "Close message");
    button.textContent = "\u00d7";
    message.append(span, button);
    box.append(message);
    wireMessages(box);
  }

  // --- Modals: [data-modal-open="id"] opens #id, [data-modal-close] or Escape closes. ---
  var lastFocus = null;
  function openModal(backdrop) {
    lastFocus = document.activeElement;
    backdrop.hidden = false;
    var first = backdrop.querySelector("[autofocus], input, select, textarea, button");
    if (first) first.focus();
  }
  function closeModal(backdrop) {
    backdrop.hidden = true;
    if (lastFocus) lastFocus.focus();
  }
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-modal-open]");
    if (opener) {
      var target = document.getElementById(opener.dataset.modalOpen);
      if (target) { event.preventDefault(); openModal(target); }
      return;
    }
    var closer = event.target.closest("[data-modal-close]");
    if (closer) {
      closeModal(closer.closest(".modal-backdrop"));
      return;
    }
    if (event.target.classList && event.target.classList.contains("modal-backdrop")) closeModal(event.target);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = Array.prototype.filter.call(document.querySelectorAll(".modal-backdrop"), function (m) { return !m.hidden; });
    if (open.length) closeModal(open[open.length - 1]);
  });

  // Inactivity (the timeout dialog, keeping unsaved input): static/js/session_timeout.js.

  document.addEventListener("DOMContentLoaded", function () {
    wireMessages(document);
    var toggle = document.querySelector(".nav-toggle");
    if (toggle) {
      toggle.addEventListener("click", function () {
        var nav = document.getElementById(toggle.getAttribute("aria-controls"));
        var open = nav.classList.toggle("is-open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) { wireMessages(event.target); });
  // Messages sent by the server in an HX-Trigger header: {"notify": {"text": "...", "level": "success"}}
  document.addEventListener("notify", function (event) {
    var detail = event.detail || {};
    notify(detail.text || detail.value || "", detail.level || "info");
  });

  window.Spectrum = { notify: notify, openModal: openModal, closeModal: closeModal };
})();
