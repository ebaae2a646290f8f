/* The enrolment page of a workstation: while its code waits for the proctor, asks the server
 * every two seconds whether it was confirmed. The answer that says so also sets the seat
 * cookie; the page then opens the seat's sign-in page. An expired code reloads the page, which
 * offers a new one. */
(function () {
  "use strict";
  var root = document.getElementById("enrolment");
  if (!root || root.dataset.state !== "pending") return;
  var connection = document.getElementById("connection");
  var timer = null;

  function poll() {
    fetch(root.dataset.statusUrl, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (body) {
        connection.hidden = true;
        if (body.state === "confirmed") {
          window.clearInterval(timer);
          window.location.assign(body.redirect || "/seat");
        } else if (body.state !== "pending") {
          window.clearInterval(timer);
          window.location.reload();
        }
      })
      .catch(function () { connection.hidden = false; });
  }

  timer = window.setInterval(poll, 2000);
})();
