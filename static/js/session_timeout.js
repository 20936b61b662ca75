/* Session timeout that does not lose work (loaded on every signed-in page; CSP forbids inline scripts).

   - SESSION_TIMEOUT_WARNING seconds before the idle sign-out (SESSION_IDLE_TIMEOUT), a dialog counts down
     and offers "Stay signed in" (a keep-alive request). Before showing it the page asks the server how long
     the session really has left (another tab may have been busy); asking does not count as activity.
   - Typing in a form is activity: a keep-alive is sent at most every KEEPALIVE_EVERY seconds while typing.
   - When the session has ended: a page without unsaved input goes to the sign-in page (which says why).
     A page with a form being filled stays in this tab, covered (no PHI on screen), and its input is kept
     in memory only: never in sessionStorage, localStorage or on the server. The user signs in again in a
     new tab, comes back and chooses "Continue"; the form gets a fresh CSRF token and can be submitted.
     Closing the tab loses the input, and the dialog says so. */
(function () {
  "use strict";

  var body = document.body;
  var timeout = parseInt(body.dataset.idleTimeout || "", 10);
  if (!(timeout > 0)) return;
  var warning = parseInt(body.dataset.idleWarning || "", 10) || 0;
  var statusUrl = body.dataset.sessionUrl;
  var keepAliveUrl = body.dataset.keepaliveUrl;
  var KEEPALIVE_EVERY = Math.max(1, Math.min(30, Math.floor(timeout / 4)));

  var deadline = Date.now() + timeout * 1000; // the server recorded activity when it served this page
  var lastKeepAlive = Date.now();
  var warnTimer = null, endTimer = null, tickTimer = null;
  var ended = false;

  var warningDialog = document.getElementById("session-timeout");
  var endedDialog = document.getElementById("session-ended");
  var countdown = warningDialog && warningDialog.querySelector("[data-countdown]");

  function csrfToken() {
    try { return JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }
  function setCsrfToken(token) {
    if (!token) return;
    body.setAttribute("hx-headers", JSON.stringify({ "X-CSRFToken": token }));
    document.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach(function (input) { input.value = token; });
  }

  // The server's answer: {remaining, csrf_token} while signed in; 401 or a redirect to sign-in once not.
  function ask(method, url) {
    var options = { method: method, credentials: "same-origin", redirect: "manual", headers: { "Accept": "application/json" } };
    if (method === "POST") options.headers["X-CSRFToken"] = csrfToken();
    return fetch(url, options).then(function (response) {
      if (response.status !== 200) return null;
      return response.json();
    }).catch(function () { return { remaining: null }; }); // offline: decide at the deadline
  }

  function formatSeconds(seconds) {
    seconds = Math.max(0, Math.ceil(seconds));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function hideWarning() {
    clearInterval(tickTimer);
    if (warningDialog && !warningDialog.hidden) warningDialog.hidden = true;
  }

  function schedule() {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    if (ended) return;
    var untilWarning = deadline - warning * 1000 - Date.now();
    warnTimer = setTimeout(beforeWarning, Math.max(0, untilWarning));
    // A second after the deadline, so the server sees the session as expired and records why.
    endTimer = setTimeout(atDeadline, Math.max(0, deadline - Date.now() + 1000));
  }

  function activity(remaining) {
    deadline = Date.now() + (remaining == null ? timeout : remaining) * 1000;
    hideWarning();
    schedule();
  }

  function beforeWarning() {
    ask("GET", statusUrl).then(function (status) {
      if (status === null) return sessionEnded();
      if (status.remaining != null && status.remaining > warning + 1) return activity(status.remaining); // another tab was busy
      showWarning();
    });
  }

  function showWarning() {
    if (!warningDialog || ended) return;
    warningDialog.hidden = false;
    var stay = warningDialog.querySelector("[data-stay-signed-in]");
    if (stay) stay.focus();
    var tick = function () { if (countdown) countdown.textContent = formatSeconds((deadline - Date.now()) / 1000); };
    tick();
    clearInterval(tickTimer);
    tickTimer = setInterval(tick, 1000);
  }

  function atDeadline() {
    ask("GET", statusUrl).then(function (status) {
      if (status === null) return sessionEnded();
      if (status.remaining > 0) return activity(status.remaining);
      sessionEnded();
    });
  }

  function keepAlive() {
    lastKeepAlive = Date.now();
    return ask("POST", keepAliveUrl).then(function (status) {
      if (status === null) return sessionEnded();
      if (status.csrf_token) setCsrfToken(status.csrf_token);
      activity(status.remaining);
    });
  }

  function dirtyForms() {
    return Array.prototype.filter.call(document.querySelectorAll("form[data-dirty]"), function (form) { return form.isConnected; });
  }

  function sessionEnded() {
    if (ended) return;
    ended = true;
    hideWarning();
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    if (!dirtyForms().length || !endedDialog) {
      window.location.assign(body.dataset.idleUrl || "/");
      return;
    }
    endedDialog.hidden = false;
    var first = endedDialog.querySelector("[data-sign-in-again]");
    if (first) first.focus();
  }

  function resume() {
    var error = endedDialog.querySelector("[data-resume-error]");
    ask("GET", statusUrl).then(function (status) {
      if (status === null || !(status.remaining > 0)) {
        if (error) error.hidden = false;
        return;
      }
      if (error) error.hidden = true;
      setCsrfToken(status.csrf_token);
      ended = false;
      endedDialog.hidden = true;
      activity(status.remaining);
      var form = dirtyForms()[0];
      var field = form && form.querySelector("input:not([type=hidden]), select, textarea");
      if (field) field.focus();
      if (window.Spectrum) window.Spectrum.notify("You are signed in again. Your changes are still here: save them now.", "success");
    });
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-stay-signed-in]")) { event.preventDefault(); keepAlive(); }
    else if (event.target.closest("[data-resume]")) { event.preventDefault(); resume(); }
  });
  // Typing in a form is activity; the form now holds work that must not be silently lost.
  document.addEventListener("input", function (event) {
    var form = event.target.form || (event.target.closest && event.target.closest("form"));
    if (!form || ended) return;
    if ((form.method || "").toLowerCase() === "post") form.dataset.dirty = "1";
    if (Date.now() - lastKeepAlive >= KEEPALIVE_EVERY * 1000) keepAlive();
  });
  document.addEventListener("submit", function (event) {
    if (ended) { event.preventDefault(); return; } // the overlay is up: sign in again first
    delete event.target.dataset.dirty;
  });
  // Every htmx request is activity the server saw too.
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail && event.detail.xhr && event.detail.xhr.status === 200) { lastKeepAlive = Date.now(); activity(); }
  });
  // Leaving a page with unsaved input: the browser's own "Leave site?" question.
  window.addEventListener("beforeunload", function (event) {
    if (ended && dirtyForms().length) { event.preventDefault(); event.returnValue = ""; }
  });

  schedule();
})();
