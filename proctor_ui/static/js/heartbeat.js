/* The workstation's heartbeat: POST /seat/heartbeat every 15 seconds, so the proctor's seats
 * page shows the seat online, with its browser and whether Safe Exam Browser is set up.
 *
 * The server knows the seat by the seat link's token (sent in the body) or, on an enrolled PC,
 * by its seat cookie. The sign-in page gives the token (or "" when it was opened through the
 * cookie); the token is kept in sessionStorage so the waiting and exam pages of the same tab
 * can send it too.
 *
 * Pages start it by including this file with data-heartbeat="auto", data-csrf and, on the
 * sign-in page, data-token (data-reload-on-refusal reloads the page when the server says the
 * seat was replaced or is unknown). Any other script can start it instead:
 *
 *   var beat = window.EmtihanHeartbeat.start({ csrf: csrfToken });
 *   // options: csrf (required), token (string; omitted = the one kept by the sign-in page),
 *   //          intervalMs (15000), onRefused(code) called once the server refuses the seat.
 *   beat.stop(); beat.beat();  // beat() sends one now and returns a Promise of the HTTP status
 *
 * start() is idempotent: a second call returns the running heartbeat. A refused seat
 * (seat_replaced, unknown_seat, not_enrolled) stops the heartbeat; network errors do not. */
(function () {
  "use strict";
  var TOKEN_KEY = "emtihan.seatToken";
  var STOP_CODES = ["seat_replaced", "unknown_seat", "not_enrolled"];
  var running = null;

  function keptToken() {
    try { return window.sessionStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; }
  }

  function keepToken(token) {
    try {
      if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
      else window.sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage disabled: the cookie still identifies an enrolled seat */ }
  }

  function start(options) {
    if (running) return running;
    options = options || {};
    if (typeof options.token === "string") keepToken(options.token);
    var token = typeof options.token === "string" ? options.token : keptToken();
    var every = options.intervalMs || 15000;
    var timer = null;

    function stop() {
      if (timer !== null) window.clearInterval(timer);
      timer = null;
      running = null;
    }

    function beat() {
      return fetch("/seat/heartbeat", {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": options.csrf || "", Accept: "application/json" },
        body: JSON.stringify(token ? { token: token } : {})
      })
        .then(function (response) {
          if (response.ok) return response.status;
          return response.json().then(
            function (body) {
              if (body && STOP_CODES.indexOf(body.code) >= 0) {
                stop();
                if (typeof options.onRefused === "function") options.onRefused(body.code);
              }
              return response.status;
            },
            function () { return response.status; }
          );
        })
        .catch(function () { return 0; });
    }

    timer = window.setInterval(beat, every);
    running = { beat: beat, stop: stop };
    beat();
    return running;
  }

  window.EmtihanHeartbeat = { start: start };

  var script = document.currentScript;
  if (script && script.dataset.heartbeat === "auto") {
    var reload = script.hasAttribute("data-reload-on-refusal");
    start({
      csrf: script.dataset.csrf,
      token: script.hasAttribute("data-token") ? script.dataset.token : undefined,
      onRefused: reload ? function () { window.location.reload(); } : undefined
    });
  }
})();
