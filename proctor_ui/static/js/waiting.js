/* The waiting page: asks the server every two seconds whether the proctor has admitted the
 * student or the exam has started, and reloads into the next phase. The countdown to the start
 * uses the server's clock, like the exam page. */
(function () {
  "use strict";
  var root = document.getElementById("waiting");
  if (!root) return;
  var phase = root.dataset.phase;
  var startMs = Number(root.dataset.startMs);
  var offsetMs = Number(root.dataset.serverMs) - Date.now();
  var connection = document.getElementById("connection");
  var startsIn = document.getElementById("starts-in");

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    if (!startsIn) return;
    var left = Math.max(0, Math.floor((startMs - (Date.now() + offsetMs)) / 1000));
    startsIn.textContent = pad(Math.floor(left / 60)) + ":" + pad(left % 60);
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
        if (body.phase !== phase) window.location.reload();
      })
      .catch(function () { connection.hidden = false; });
  }

  tick();
  window.setInterval(tick, 500);
  window.setInterval(poll, 2000);
})();
