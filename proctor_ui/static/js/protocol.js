/* The protocol's Print button prints the page itself. Without JavaScript the same button is a
 * link to the PDF, which prints the same protocol. */
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault();
      window.print();
    });
  });
})();
