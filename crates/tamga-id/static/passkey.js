// Passkeys on Tamga's sign-in pages: progressive enhancement only. The sections stay hidden
// where the browser has no WebAuthn; everything else on the pages works without JavaScript.
(function () {
  "use strict";
  function enc(buf) {
    var s = "";
    new Uint8Array(buf).forEach(function (b) { s += String.fromCharCode(b); });
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function dec(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    return Uint8Array.from(atob(s), function (c) { return c.charCodeAt(0); });
  }
  function status(el, text) {
    var out = document.getElementById(el.dataset.status);
    if (out) { out.textContent = text; out.hidden = false; out.focus(); }
  }
  if (!window.PublicKeyCredential || !navigator.credentials) return;
  document.querySelectorAll("[data-passkey-section]").forEach(function (s) { s.hidden = false; });

  var signIn = document.getElementById("passkey-signin");
  if (signIn) {
    signIn.addEventListener("click", function () {
      var d = signIn.dataset;
      navigator.credentials.get({ publicKey: {
        challenge: dec(d.challenge), rpId: d.rpId, userVerification: "required", timeout: 120000
      } }).then(function (cred) {
        return fetch(d.action, { method: "POST", headers: { "content-type": "application/json" },
          body: JSON.stringify({ tx: d.tx, id: cred.id,
            clientDataJSON: enc(cred.response.clientDataJSON),
            authenticatorData: enc(cred.response.authenticatorData),
            signature: enc(cred.response.signature) }) });
      }).then(function (r) { return r.json(); }).then(function (j) {
        if (j.next) { location.assign(j.next); } else { status(signIn, d.failed); }
      }).catch(function () { status(signIn, d.failed); });
    });
  }

  var reg = document.getElementById("passkey-register");
  if (reg) {
    reg.addEventListener("click", function () {
      var d = reg.dataset;
      var exclude = d.exclude ? d.exclude.split(",") : [];
      navigator.credentials.create({ publicKey: {
        challenge: dec(d.challenge), rp: { id: d.rpId, name: "Tamga" },
        user: { id: dec(d.userId), name: d.userName, displayName: d.displayName },
        pubKeyCredParams: [{ type: "public-key", alg: -7 }],
        authenticatorSelection: { residentKey: "required", userVerification: "required" },
        excludeCredentials: exclude.map(function (id) { return { type: "public-key", id: dec(id) }; }),
        attestation: "none", timeout: 120000
      } }).then(function (cred) {
        return fetch(d.action, { method: "POST", headers: { "content-type": "application/json" },
          body: JSON.stringify({ clientDataJSON: enc(cred.response.clientDataJSON),
            attestationObject: enc(cred.response.attestationObject) }) });
      }).then(function (r) {
        status(reg, r.ok ? d.done : d.failed);
      }).catch(function () { status(reg, d.failed); });
    });
  }
})();
