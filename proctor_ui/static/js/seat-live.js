// The exam page's line from the server: told at once when the attempt is closed (a violation
// recorded by the proctor, the deadline), it raises "emtihan:closed" for attempt.js to lock
// the page. Reconnects with backoff; the saves and the status poll remain the fallback.
(function () {
  "use strict";

  var root = document.getElementById("attempt");
  if (!root || !window.WebSocket) return;
  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var url = scheme + window.location.host + "/exam/attempts/" + root.dataset.attempt + "/live";
  var delay = 500;
  var closed = false;

  function connect() {
    var socket = new WebSocket(url);
    socket.onopen = function () { delay = 500; };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "closed") {
        closed = true;
        window.dispatchEvent(new CustomEvent("emtihan:closed", { detail: message }));
      }
    };
    socket.onclose = function () {
      if (closed) return;
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }
  connect();
})();
