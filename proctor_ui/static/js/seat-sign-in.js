/* The seat's sign-in form: derives the password's key here, on the workstation, and sends the key
 * instead of the password (docs/SECURITY.md, "Passwords").
 *
 * The key is argon2id of the password with the account's salt at its costs, which the server
 * gives for the ID code typed (`/seat/{token}/password-key`); the server keeps only the key's
 * SHA-256. At an exam's start the whole university signs in within a minute: each workstation
 * spends ~50 ms of its own CPU, and the server one SHA-256, instead of the server's two cores
 * doing every argon2id in turn.
 *
 * Whatever fails here (no WebAssembly, the server unreachable for the salt), the form is sent
 * with the password as it is, and the server derives the key itself: nobody is kept out. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-password-key]");
  if (!form || !window.hashwasm || !window.fetch || !window.TextEncoder) return;
  var password = form.elements.password;
  var key = form.elements.password_key;
  var button = form.querySelector("button[type=submit]");
  var deriving = false;

  function fromBase64(text) {
    var binary = window.atob(text);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function toBase64(bytes) {
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return window.btoa(binary);
  }

  function derive() {
    var url = form.dataset.passwordKey + "?id_code=" + encodeURIComponent(form.elements.id_code.value);
    return window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (reply) {
        if (!reply.ok) throw new Error("password-key " + reply.status);
        return reply.json();
      })
      .then(function (recipe) {
        if (recipe.algorithm !== "argon2id") throw new Error("password-key " + recipe.algorithm);
        return window.hashwasm.argon2id({
          password: password.value,
          salt: fromBase64(recipe.salt),
          parallelism: recipe.parallelism,
          iterations: recipe.time_cost,
          memorySize: recipe.memory_kib,
          hashLength: recipe.key_length,
          outputType: "binary",
        });
      });
  }

  function send(withKey) {
    key.value = withKey ? toBase64(withKey) : "";
    // A disabled field is not sent: with the key, the password never leaves the workstation.
    password.disabled = Boolean(withKey);
    form.submit();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (deriving) return;
    deriving = true;
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    derive().then(send, function () { send(null); });
  });

  // Back from the next page (the browser's page cache): the form as the student left it.
  window.addEventListener("pageshow", function () {
    deriving = false;
    button.disabled = false;
    password.disabled = false;
    key.value = "";
    form.removeAttribute("aria-busy");
  });
})();
