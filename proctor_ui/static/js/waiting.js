/* The waiting page: asks the server every five seconds or so whether the proctor has admitted
 * the student or the exam has started, and reloads into the next phase. The countdown to the
 * start uses the server's clock, like the exam page.
 *
 * The admission is shown in place, from the notice the page came with: the whole university is
 * admitted within the same minutes, and a reload of every waiting page then cost the server a
 * page each (docs/BENCHMARKS.md). Only if the start has moved since the page was made (its
 * notice names the start) does the page reload for it.
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
  var shownStartMs = startMs;  // the start the page's notices name
  var offsetMs = Number(root.dataset.serverMs) - Date.now();
  var connection = document.getElementById("connection");
  var startsIn = document.getElementById("starts-in");
  var notice = document.getElementById("phase-notice");
  var admittedNotice = document.getElementById("admitted-notice");
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

  /* Waiting -> admitted at the start the page names: the admitted notice replaces the waiting
   * one in the same live region, so a screen reader reads it out. */
  function admitInPlace(body) {
    if (phase !== "waiting" || body.phase !== "admitted" || body.start_ms !== shownStartMs || !admittedNotice) {
      return false;
    }
    phase = "admitted";
    notice.textContent = admittedNotice.content.textContent;
    notice.classList.add("ok");
    document.getElementById("starts-in-line").hidden = false;
    tick();
    return true;
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
        if (body.phase !== phase && !admitInPlace(body)) {
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
