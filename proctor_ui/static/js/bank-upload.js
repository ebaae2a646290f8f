// Uploads a question bank with a progress bar. Without this script the form still works: the
// browser posts it and shows the preview page. With it, the preview replaces #upload-result.
(function () {
  "use strict";

  function start(form) {
    var bar = document.getElementById(form.dataset.progress);
    var result = document.getElementById(form.dataset.result);
    var button = form.querySelector("button[type=submit]");
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("HX-Request", "true");
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) {
        bar.max = event.total;
        bar.value = event.loaded;
      }
    });
    request.addEventListener("loadend", function () {
      bar.hidden = true;
      button.disabled = false;
      if (request.status === 0) {
        result.textContent = form.dataset.failed || "Upload failed.";
        return;
      }
      result.innerHTML = request.responseText;
      if (window.htmx) {
        window.htmx.process(result);
      }
      result.focus();
    });
    bar.value = 0;
    bar.hidden = false;
    button.disabled = true;
    request.send(new FormData(form));
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.id !== "bank-upload") {
      return;
    }
    event.preventDefault();
    start(form);
  });
})();
