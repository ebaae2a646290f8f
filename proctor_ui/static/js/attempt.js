/* The exam page at the seat.
 *
 * What it promises the student:
 * - "Saved" appears only after the server has answered that it committed the answer.
 * - Every change is kept in this browser (localStorage) until the server confirms it, so a lost
 *   connection, a reload or a crash of the browser loses nothing; unsent answers are re-sent
 *   when the connection returns, with the moment they were made.
 * - The countdown is the server's deadline read with the server's clock: the offset between the
 *   two clocks is measured on every exchange, and the remaining time is recomputed from the
 *   wall clock on every tick, so a background tab or a sleeping laptop cannot stretch it.
 *
 * Saves carry a per-attempt sequence number; the server applies the highest number per question
 * and acknowledges a repeated one without applying it twice.
 *
 * Answers by question kind (the section's data-kind; shapes in server/seat/answers.py):
 * choice: [option numbers, 1..n in the paper's order]; text (short answer, numerical): {text} as typed, saved 600 ms after the
 * last keystroke and when the field loses focus; matching: {pairs: [[stem, choice], ...]};
 * ordering: {order: [entry ids]}, empty until the student moves an entry or keeps the order shown.
 * The single-key shortcuts are off while the focus is in a text field or a select.
 */
(function () {
  "use strict";

  var root = document.getElementById("attempt");
  if (!root) return;

  var MESSAGES = JSON.parse(document.getElementById("seat-messages").textContent);
  var attemptId = root.dataset.attempt;
  var csrf = root.dataset.csrf;
  var deadlineMs = Number(root.dataset.deadlineMs);
  var storageKey = "emtihan.attempt." + attemptId + ".pending";
  var questions = Array.prototype.slice.call(root.querySelectorAll(".question"));
  var navButtons = Array.prototype.slice.call(root.querySelectorAll("[data-goto]"));

  var offsetMs = Number(root.dataset.serverMs) - Date.now();
  // The clock and the deadline come back with every save; the page asks for the status only
  // after CLOCK_SYNC_MS without an answer from the server (and so does the bench's examinee).
  var CLOCK_SYNC_MS = 15000;
  var lastExchangeAt = Date.now();
  var bestRtt = Infinity;
  var client = null;
  var seq = 0;
  var pending = loadPending();
  var inFlight = false;
  var retryDelay = 1000;
  var retryTimer = null;
  var online = true;
  var stopped = false;
  var timeOver = false;
  var warned = { 10: false, 5: false };
  var current = 0;
  var confirmed = {};
  var TYPING_PAUSE_MS = 600;
  var typing = {}; // question -> { timer, at }: a typed answer waiting for the pause
  var lastRecorded = {}; // question -> the state last recorded, so a repeat is not sent again

  // ---- clock ---------------------------------------------------------------------------
  function serverNow() {
    return Date.now() + offsetMs;
  }

  function measure(sentAt, serverMs) {
    var receivedAt = Date.now();
    lastExchangeAt = receivedAt;
    var rtt = receivedAt - sentAt;
    // The sample with the shortest round trip is the most exact; a clock jump (sleep, manual
    // change) makes old samples worthless, so a much later sample may replace a better one.
    if (rtt <= bestRtt * 1.5 || rtt < 200) {
      bestRtt = Math.min(bestRtt, rtt);
      offsetMs = serverMs - (sentAt + receivedAt) / 2;
    }
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function tick() {
    var left = Math.max(0, deadlineMs - serverNow());
    var seconds = Math.floor(left / 1000);
    var text = pad(Math.floor(seconds / 60)) + ":" + pad(seconds % 60);
    var countdown = document.getElementById("countdown");
    if (countdown.textContent !== text) countdown.textContent = text;
    [10, 5].forEach(function (minutes) {
      if (!warned[minutes] && left <= minutes * 60000 && left > 0) {
        warned[minutes] = true;
        banner(MESSAGES["warn" + minutes], "warning");
        countdown.classList.add("low");
      }
    });
    if (left === 0 && !timeOver) onTimeOver();
  }

  // ---- pending saves -------------------------------------------------------------------
  function loadPending() {
    try {
      var stored = JSON.parse(window.localStorage.getItem(storageKey) || "[]");
      return Array.isArray(stored) ? stored : [];
    } catch (e) {
      return [];
    }
  }

  function storePending() {
    try {
      window.localStorage.setItem(storageKey, JSON.stringify(pending));
    } catch (e) {
      /* storage full or disabled: the in-memory queue still re-sends while the page lives */
    }
  }

  function answerOf(section) {
    var kind = section.dataset.kind;
    if (kind === "text") return { text: section.querySelector(".answer-text").value };
    if (kind === "matching") {
      var pairs = [];
      section.querySelectorAll(".match-choice").forEach(function (select) {
        if (select.value !== "") pairs.push([Number(select.dataset.stem), Number(select.value)]);
      });
      return { pairs: pairs };
    }
    if (kind === "ordering") {
      var list = section.querySelector(".entries");
      if (list.dataset.ordered !== "1") return { order: [] };
      return {
        order: Array.prototype.map.call(list.querySelectorAll(".entry"), function (item) {
          return Number(item.dataset.entry);
        }),
      };
    }
    return Array.prototype.slice
      .call(section.querySelectorAll(".option input:checked"))
      .map(function (input) { return Number(input.value); });
  }

  function hasAnswer(answer) {
    if (Array.isArray(answer)) return answer.length > 0;
    if (typeof answer.text === "string") return answer.text.trim() !== "";
    return (answer.pairs || answer.order || []).length > 0;
  }

  function stateOf(section) {
    return { answer: answerOf(section), flagged: section.querySelector(".flag-toggle").checked };
  }

  function placeEntries(list, ids) {
    ids.forEach(function (id) {
      var item = list.querySelector('[data-entry="' + id + '"]');
      if (item) list.appendChild(item);
    });
  }

  function startOrder(list) {
    return list.dataset.start.split(" ").filter(Boolean).map(Number);
  }

  // Put an answer (from this browser's unsent saves) back into the question's controls.
  function applyAnswer(section, answer) {
    if (Array.isArray(answer)) {
      section.querySelectorAll(".option input").forEach(function (input) {
        input.checked = answer.indexOf(Number(input.value)) !== -1;
      });
    } else if (typeof answer.text === "string") {
      var field = section.querySelector(".answer-text");
      if (field) field.value = answer.text;
    } else if (answer.pairs) {
      var chosen = {};
      answer.pairs.forEach(function (pair) { chosen[pair[0]] = String(pair[1]); });
      section.querySelectorAll(".match-choice").forEach(function (select) {
        select.value = chosen[select.dataset.stem] || "";
      });
    } else if (answer.order) {
      var list = section.querySelector(".entries");
      if (!list) return;
      placeEntries(list, answer.order.length ? answer.order : startOrder(list));
      list.dataset.ordered = answer.order.length ? "1" : "0";
    }
  }

  function clearAnswer(section) {
    section.querySelectorAll(".option input").forEach(function (input) { input.checked = false; });
    section.querySelectorAll(".answer-text, .match-choice").forEach(function (field) { field.value = ""; });
    var list = section.querySelector(".entries");
    if (list) applyAnswer(section, { order: [] });
  }

  // A typed answer is saved once the student pauses, stamped with their last keystroke.
  function typed(section) {
    if (stopped || timeOver) return;
    var q = Number(section.dataset.q);
    if (typing[q]) window.clearTimeout(typing[q].timer);
    var at = serverNow();
    typing[q] = {
      at: at,
      timer: window.setTimeout(function () { record(section, at); }, TYPING_PAUSE_MS),
    };
  }

  function flushTyping() {
    Object.keys(typing).forEach(function (q) { record(questions[Number(q) - 1], typing[q].at); });
  }

  function record(section, at) {
    var q = Number(section.dataset.q);
    var waiting = typing[q];
    if (waiting) {
      window.clearTimeout(waiting.timer);
      delete typing[q];
    }
    if (stopped || timeOver) return;
    var state = stateOf(section);
    var key = JSON.stringify(state);
    if (lastRecorded[q] === key) return; // a blur after the pause, or the same choice again
    lastRecorded[q] = key;
    var madeAt = at !== undefined ? at : waiting ? waiting.at : serverNow();
    // A newer change of the same question replaces the unsent older one.
    pending = pending.filter(function (entry) { return entry.question !== q; });
    seq += 1;
    pending.push({
      seq: seq,
      question: q,
      answer: state.answer,
      flagged: state.flagged,
      answered_at_ms: Math.round(madeAt),
    });
    storePending();
    showQuestionState(q);
    pump();
  }

  function showQuestionState(q) {
    var section = questions[q - 1];
    var label = section.querySelector(".save-state");
    var waiting = pending.some(function (entry) { return entry.question === q; });
    var state = stateOf(section);
    if (waiting) label.textContent = online ? MESSAGES.saving : MESSAGES.kept;
    else if (hasAnswer(state.answer) || state.flagged || confirmed[q]) label.textContent = MESSAGES.saved;
    else label.textContent = "";
    label.classList.toggle("unsaved", waiting);
    var button = navButtons[q - 1];
    button.classList.toggle("answered", hasAnswer(state.answer));
    button.classList.toggle("flagged", state.flagged);
    button.classList.toggle("unsaved", waiting);
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: JSON.stringify(body),
      cache: "no-store",
    });
  }

  function pump() {
    if (inFlight || stopped || client === null || pending.length === 0) return;
    var entry = pending.reduce(function (a, b) { return a.seq <= b.seq ? a : b; });
    inFlight = true;
    var sentAt = Date.now();
    post(root.dataset.saveUrl, {
      client: client,
      seq: entry.seq,
      question: entry.question,
      answer: entry.answer,
      flagged: entry.flagged,
      answered_at_ms: entry.answered_at_ms,
    })
      .then(function (response) {
        return response.json().then(
          function (body) { return { status: response.status, body: body }; },
          function () { return { status: response.status, body: {} }; }
        );
      })
      .then(function (result) {
        inFlight = false;
        if (result.status === 200) {
          measure(sentAt, result.body.server_ms);
          if (result.body.deadline_ms) deadlineMs = result.body.deadline_ms;
          acknowledge(entry);
          setOnline(true);
          pump();
        } else if (result.status >= 500 || result.status === 429) {
          retryLater();
        } else {
          refused(entry, result.status, result.body);
        }
      })
      .catch(function () {
        inFlight = false;
        retryLater();
      });
  }

  function acknowledge(entry) {
    pending = pending.filter(function (other) { return other.seq !== entry.seq; });
    confirmed[entry.question] = true;
    storePending();
    showQuestionState(entry.question);
  }

  function retryLater() {
    setOnline(false);
    if (retryTimer !== null) return;
    retryTimer = window.setTimeout(function () {
      retryTimer = null;
      pump();
    }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 5000);
  }

  function refused(entry, status, body) {
    var code = body.code || "";
    if (status === 401) {
      stopped = true;
      banner(MESSAGES.signed_out, "error");
      return;
    }
    if (status === 403 && !code) {
      // The CSRF cookie was lost (a restarted browser): a reload fetches a new one and keeps
      // the unsent answers, which live in localStorage.
      window.location.reload();
      return;
    }
    if (code === "window_replaced") {
      stopped = true;
      banner(MESSAGES.window_replaced, "error");
      disableAnswering();
      return;
    }
    if (code === "time_over" || code === "closed") {
      acknowledge(entry);
      onClosed();
      return;
    }
    if (code === "replayed") {
      // Another window used this number: take the next free one and send again.
      seq = Math.max(seq, entry.seq) + 1;
      entry.seq = seq;
      storePending();
      pump();
      return;
    }
    if (code === "clock" && !entry.restamped) {
      entry.restamped = true;
      entry.answered_at_ms = Math.min(entry.answered_at_ms, Math.round(serverNow()));
      syncClock().then(pump, pump);
      return;
    }
    if (code === "stale") {
      acknowledge(entry); // a newer answer to this question is already saved
      pump();
      return;
    }
    acknowledge(entry);
    banner(MESSAGES.refused + " " + (body.message || status), "error");
    pump();
  }

  function setOnline(value) {
    if (value) retryDelay = 1000;
    if (online === value && value) return;
    online = value;
    var state = document.getElementById("link-state");
    if (value) {
      state.textContent = MESSAGES.saved;
      state.className = "link-state ok";
      if (pending.length === 0) banner(MESSAGES.back_online, "ok", 4000);
    } else {
      state.textContent = MESSAGES.pending + " " + pending.length;
      state.className = "link-state offline";
      banner(MESSAGES.offline, "error");
    }
    questions.forEach(function (section) { showQuestionState(Number(section.dataset.q)); });
  }

  // ---- the window, status and end ------------------------------------------------------
  function takeWindow() {
    var sentAt = Date.now();
    return post(root.dataset.windowUrl, {})
      .then(function (response) {
        return response.json().then(function (body) { return { status: response.status, body: body }; });
      })
      .then(function (result) {
        if (result.status !== 200) {
          if (result.body.code === "closed") onClosed();
          else if (result.status === 401) banner(MESSAGES.signed_out, "error");
          else banner(result.body.message || String(result.status), "error");
          return;
        }
        measure(sentAt, result.body.server_ms);
        deadlineMs = result.body.deadline_ms;
        client = result.body.client;
        // Unsent answers from before a reload are numbered after everything the server has.
        seq = result.body.last_seq;
        pending.sort(function (a, b) { return a.seq - b.seq; });
        pending.forEach(function (entry) {
          seq += 1;
          entry.seq = seq;
        });
        storePending();
        setOnline(true);
        document.getElementById("link-state").textContent = MESSAGES.saved;
        pump();
      })
      .catch(function () {
        setOnline(false);
        window.setTimeout(takeWindow, 2000);
      });
  }

  function syncClock() {
    var sentAt = Date.now();
    return fetch(root.dataset.statusUrl, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (body) {
        measure(sentAt, body.server_ms);
        deadlineMs = body.deadline_ms;
        if (body.phase === "closed" && pending.length === 0) onClosed();
        if (client === null && !stopped) takeWindow();
        else if (!online) pump();
      });
  }

  function onTimeOver() {
    flushTyping(); // typed before the deadline: stamped with the last keystroke, so it counts
    timeOver = true;
    disableAnswering();
    banner(MESSAGES.time_over, "warning");
    // The server closes the attempt after the transport grace; keep sending what is unsent
    // until then, and watch for the close.
    window.setInterval(function () {
      syncClock().catch(function () {});
    }, 2000);
  }

  // The server says so at once over the page's websocket (seat-live.js): a violation the
  // proctor recorded, or the deadline sweep.
  window.addEventListener("emtihan:closed", function () { onClosed(); });

  function onClosed() {
    if (stopped) return;
    stopped = true;
    disableAnswering();
    banner(MESSAGES.closed, "ok");
    window.setTimeout(function () { window.location.assign("/exam"); }, 1500);
  }

  function disableAnswering() {
    root.querySelectorAll("#paper input, #paper button, #paper select").forEach(function (el) { el.disabled = true; });
  }

  function banner(text, kind, hideAfterMs) {
    var node = document.getElementById("banner");
    node.textContent = text;
    node.className = "notice " + (kind === "ok" ? "ok" : kind === "error" ? "error" : "warning");
    node.hidden = false;
    if (hideAfterMs) {
      window.setTimeout(function () {
        if (node.textContent === text) node.hidden = true;
      }, hideAfterMs);
    }
  }

  // ---- navigation and keyboard ---------------------------------------------------------
  function show(index, focus) {
    if (index < 0 || index >= questions.length) return;
    questions[current].hidden = true;
    navButtons[current].removeAttribute("aria-current");
    current = index;
    questions[current].hidden = false;
    navButtons[current].setAttribute("aria-current", "step");
    if (focus) questions[current].querySelector("h2").focus();
  }

  navButtons.forEach(function (button, index) {
    button.addEventListener("click", function () { show(index, true); });
  });
  document.getElementById("prev").addEventListener("click", function () { show(current - 1, true); });
  document.getElementById("next").addEventListener("click", function () { show(current + 1, true); });

  function moveEntry(section, button) {
    var list = section.querySelector(".entries");
    var item = button.closest(".entry");
    var up = button.classList.contains("move-up");
    var neighbour = up ? item.previousElementSibling : item.nextElementSibling;
    if (!neighbour) return;
    if (up) list.insertBefore(item, neighbour);
    else list.insertBefore(neighbour, item);
    list.dataset.ordered = "1";
    button.focus(); // moving the item took the focus away; keep it on the same button
    var items = Array.prototype.slice.call(list.children);
    section.querySelector(".moved").textContent = MESSAGES.moved
      .replace("{n}", String(items.indexOf(item) + 1))
      .replace("{total}", String(items.length));
    record(section);
  }

  // Enter in a text field would submit the paper form (and reload the page): never.
  document.getElementById("paper").addEventListener("submit", function (event) { event.preventDefault(); });

  questions.forEach(function (section) {
    section.addEventListener("change", function () { record(section); });
    section.addEventListener("input", function (event) {
      if (event.target.classList.contains("answer-text")) typed(section);
    });
    section.addEventListener("focusout", function (event) {
      if (event.target.classList.contains("answer-text")) record(section);
    });
    section.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && event.target.classList.contains("answer-text")) {
        event.preventDefault();
        record(section);
      }
    });
    section.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button || button.disabled || stopped || timeOver) return;
      if (button.classList.contains("move-up") || button.classList.contains("move-down")) {
        moveEntry(section, button);
      } else if (button.classList.contains("keep-order")) {
        section.querySelector(".entries").dataset.ordered = "1";
        record(section);
      }
    });
    section.querySelector(".clear").addEventListener("click", function () {
      clearAnswer(section);
      record(section);
    });
  });

  // The single-key shortcuts stay out of the way while the student types or picks in a list.
  function takesKeys(target) {
    if (!target || !target.tagName) return false;
    if (target.isContentEditable || target.tagName === "SELECT" || target.tagName === "TEXTAREA") return true;
    return target.tagName === "INPUT" && !/^(checkbox|radio|button|submit|reset)$/.test(target.type);
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || stopped) return;
    if (takesKeys(event.target)) return;
    var section = questions[current];
    var digit = /^Digit([1-9])$/.exec(event.code) || /^Numpad([1-9])$/.exec(event.code);
    if (digit) {
      var input = section.querySelectorAll(".option input")[Number(digit[1]) - 1];
      if (input && !input.disabled) {
        input.checked = input.type === "checkbox" ? !input.checked : true;
        input.focus();
        record(section);
        event.preventDefault();
      }
    } else if (event.code === "KeyF") {
      var flag = section.querySelector(".flag-toggle");
      if (!flag.disabled) {
        flag.checked = !flag.checked;
        record(section);
      }
      event.preventDefault();
    } else if (event.code === "KeyN" || event.code === "PageDown") {
      show(current + 1, true);
      event.preventDefault();
    } else if (event.code === "KeyP" || event.code === "PageUp") {
      show(current - 1, true);
      event.preventDefault();
    }
  });

  document.getElementById("finish").addEventListener("click", function (event) {
    flushTyping();
    if (pending.length > 0) {
      event.preventDefault();
      banner(MESSAGES.unsaved_finish, "error");
    }
  });

  // ---- integrity signals: for the proctor, never a verdict -----------------------------
  var lastSignal = {};
  function signal(kind, detail) {
    var now = Date.now();
    if (lastSignal[kind] && now - lastSignal[kind] < 5000) return;
    lastSignal[kind] = now;
    post(root.dataset.signalUrl, { client: client || "", kind: kind, detail: detail || "" }).catch(function () {});
  }

  window.addEventListener("blur", function () { signal("focus_lost"); });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) signal("focus_lost", "hidden");
    else syncClock().catch(function () {});
  });
  document.addEventListener("fullscreenchange", function () {
    if (!document.fullscreenElement) signal("fullscreen_left");
  });
  document.addEventListener("copy", function () { signal("copy"); });
  document.addEventListener("paste", function () { signal("paste"); });
  document.getElementById("fullscreen").addEventListener("click", function () {
    if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen().catch(function () {});
  });

  if ("BroadcastChannel" in window) {
    var channel = new BroadcastChannel("emtihan.attempt." + attemptId);
    channel.onmessage = function (event) {
      if (event.data === "hello") channel.postMessage("here");
      signal("second_tab");
      banner(MESSAGES.second_tab, "error");
    };
    channel.postMessage("hello");
  }

  window.addEventListener("online", function () { pump(); syncClock().catch(function () {}); });
  window.addEventListener("offline", function () { setOnline(false); });
  window.addEventListener("beforeunload", function (event) {
    flushTyping();
    if (pending.length > 0 && !stopped) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // Questions answered in this browser but not yet confirmed show as such after a reload.
  pending.forEach(function (entry) {
    var section = questions[entry.question - 1];
    if (!section) return;
    applyAnswer(section, entry.answer);
    section.querySelector(".flag-toggle").checked = entry.flagged;
  });
  questions.forEach(function (section) {
    var q = Number(section.dataset.q);
    lastRecorded[q] = JSON.stringify(stateOf(section));
    showQuestionState(q);
  });
  show(0, false);
  tick();
  window.setInterval(tick, 250);
  window.setInterval(function () {
    if (Date.now() - lastExchangeAt < CLOCK_SYNC_MS) return;
    lastExchangeAt = Date.now(); // a sync that fails waits its turn like one that answers
    syncClock().catch(function () { setOnline(false); });
  }, 1000);
  takeWindow();
})();
