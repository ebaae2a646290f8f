/* The waiting page: asks the server every five seconds or so whether the proctor has admitted
 * the student or the exam has started, and reloads into the next phase. The countdown to the
 * start uses the server's clock, like the exam page.
 *
 * Every student of every lab waits on this page at once, so the polls are spread: each page
 * polls at a random moment of each 4-6 s, and an admitted student's page does not wait for its
 * next poll to open the paper: it reloads at the start itself, at a random moment of the first
 * START_SPREAD_MS, so the whole university does not ask for its papers in the same millisecond.
 * The deadline is the same for everyone whenever the paper opens. */
(function () {
  "use strict";
  var POLL_MS = 4000;
  var POLL_JITTER_MS = 2000;
  var START_SPREAD_MS = 2000;
  var root = document.getElementById("waiting");
  if (!root) return;
  var phase = root.dataset.phase;
  var startMs = Number(root.dataset.startMs);
  var offsetMs = Number(root.dataset.serverMs) - Date.now();
  var connection = document.getElementById("connection");
  var startsIn = document.getElementById("starts-in");
  var startTimer = null;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function serverNow() { return Date.now() + offsetMs; }

  function tick() {
    if (!startsIn) return;
    var left = Math.max(0, Math.floor((startMs - serverNow()) / 1000));
    startsIn.textContent = pad(Math.floor(left / 60)) + ":" + pad(left % 60);
  }

  function scheduleStart() {
    if (phase !== "admitted") return;
    if (startTimer !== null) window.clearTimeout(startTimer);
    var wait = Math.max(0, startMs - serverNow()) + Math.random() * START_SPREAD_MS;
    startTimer = window.setTimeout(function () { window.location.reload(); }, wait);
  }

  function poll() {
    var sentAt = Date.now();
    fetch(root.dataset.statusUrl, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (body) {
        connection.hidden = true;
        offsetMs = body.server_ms - (sentAt + Date.now()) / 2;
        if (body.phase !== phase) {
          window.location.reload();
          return;
        }
        if (body.start_ms !== startMs) startMs = body.start_ms;  // the registrar moved the start
        scheduleStart();
      })
      .catch(function () { connection.hidden = false; })
      .then(function () { window.setTimeout(poll, POLL_MS + Math.random() * POLL_JITTER_MS); });
  }

  tick();
  scheduleStart();
  window.setInterval(tick, 500);
  window.setTimeout(poll, Math.random() * (POLL_MS + POLL_JITTER_MS));
})();
