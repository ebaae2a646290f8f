// The live proctor console: the websocket's hello with the last event seen, clocks on the
// cards, and the actions (admit, refuse, violation, move, incident) sent without a reload.
(function () {
  "use strict";

  const root = document.querySelector(".console");
  if (!root) return;
  const url = root.dataset.url;
  const status = document.getElementById("live-status");
  // Server time minus this browser's time, measured when the page was rendered.
  const offset = Number(root.dataset.serverMs) - Date.now();
  const startMs = Number(root.dataset.startMs);
  const now = () => Date.now() + offset;

  function cursors() {
    const after = {};
    document.querySelectorAll("span[id^=cursor-]").forEach((span) => {
      after[span.dataset.room] = Number(span.dataset.seq);
    });
    return after;
  }

  root.addEventListener("htmx:wsOpen", (event) => {
    event.detail.socketWrapper.send(JSON.stringify({ after: cursors() }));
    status.textContent = root.dataset.msgOnline;
    status.classList.remove("offline");
  });
  root.addEventListener("htmx:wsClose", () => {
    status.textContent = root.dataset.msgOffline;
    status.classList.add("offline");
  });
  // Emit-to-render latency of every live frame, read by the browser test and for diagnosis.
  const latencies = [];
  window.emtihanConsoleLatencies = latencies;
  root.addEventListener("htmx:wsAfterMessage", () => {
    document.querySelectorAll("span[id^=cursor-]").forEach((span) => {
      const first = Number(span.dataset.firstSeq);
      if (first > 0 && first === Number(span.dataset.seq) && span.dataset.measured !== "1") {
        span.dataset.measured = "1";
        // The raw clock: measured with browser and server on one machine (tests, benchmarks).
        latencies.push(Date.now() - Number(span.dataset.emittedMs));
      }
    });
    tick();
  });

  function two(n) {
    return String(n).padStart(2, "0");
  }

  function duration(ms) {
    const total = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    return (h ? h + ":" + two(m) : String(m)) + ":" + two(total % 60);
  }

  function tick() {
    const t = now();
    document.querySelectorAll(".time-left[data-deadline-ms]").forEach((el) => {
      el.textContent = duration(Number(el.dataset.deadlineMs) - t);
    });
    document.querySelectorAll(".ago[data-ms]").forEach((el) => {
      el.textContent = duration(t - Number(el.dataset.ms));
    });
  }
  tick();
  setInterval(tick, 1000);

  function fill(template, name) {
    return template.replace("{name}", name);
  }

  async function post(action, form) {
    const response = await fetch(action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (response.ok) return null;
    try {
      const body = await response.json();
      const fields = body.fields ? Object.values(body.fields).join(" ") : "";
      return [body.message, fields].filter(Boolean).join(" ");
    } catch (e) {
      return root.dataset.msgFailed;
    }
  }

  async function submit(form, action) {
    const error = form.querySelector(".error");
    error.hidden = true;
    let message;
    try {
      message = await post(action, form);
    } catch (e) {
      message = root.dataset.msgFailed;
    }
    if (message) {
      error.textContent = message;
      error.hidden = false;
      return false;
    }
    return true;
  }

  // Actions on a card: the buttons are re-rendered by every frame, so listen on the page.
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const attempt = button.dataset.attempt;
    const name = button.dataset.name;
    const action = button.dataset.action;
    if (action === "admit") {
      const late = now() > startMs;
      const question = late ? root.dataset.msgLate : root.dataset.msgAdmit;
      if (!window.confirm(fill(question, name))) return;
      const form = document.createElement("form");
      const csrf = document.querySelector("input[name=csrf_token]").cloneNode();
      form.appendChild(csrf);
      if (late) {
        const input = document.createElement("input");
        input.name = "late";
        input.value = "true";
        form.appendChild(input);
      }
      const message = await post(url + "/admit/" + attempt, form).catch(() => root.dataset.msgFailed);
      if (message) window.alert(message);
      return;
    }
    const dialog = document.getElementById(action + "-dialog");
    if (!dialog) return;
    const form = dialog.querySelector("form");
    form.reset();
    form.querySelector(".error").hidden = true;
    form.dataset.attempt = attempt;
    form.action = url + "/" + form.dataset.path + "/" + attempt;
    dialog.querySelector("[data-name]").textContent = name;
    dialog.showModal();
  });

  document.querySelectorAll("dialog [data-close]").forEach((button) => {
    button.addEventListener("click", () => button.closest("dialog").close());
  });

  document.querySelectorAll("form[data-console-form]").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const ok = await submit(form, form.action);
      if (!ok) return;
      const dialog = form.closest("dialog");
      if (dialog) dialog.close();
      else form.reset();
    });
  });
})();
