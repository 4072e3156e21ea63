/* Profile page: subscribe this browser to Web Push (VAPID key from /api/v1/push/key) and register
 * the subscription with the server (POST /api/v1/push-subscriptions). */
(function () {
  "use strict";
  var button = document.getElementById("push-subscribe");
  var status = document.getElementById("push-status");
  if (!button) { return; }

  function say(text) { status.textContent = text; }

  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    button.disabled = true;
    say("This browser cannot receive Web Push (it needs HTTPS or localhost and a push service).");
    return;
  }

  button.addEventListener("click", function () {
    say("Asking for permission…");
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") { throw new Error("notifications are blocked for this site"); }
      return Promise.all([navigator.serviceWorker.register("/push-sw.js", { scope: "/" }),
                          fetch("/api/v1/push/key", { credentials: "same-origin" }).then(function (r) { return r.json(); })]);
    }).then(function (both) {
      var registration = both[0], key = both[1].public_key;
      return navigator.serviceWorker.ready.then(function () {
        return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
      });
    }).then(function (subscription) {
      return fetch("/api/v1/push-subscriptions", { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(subscription.toJSON()) });
    }).then(function (response) {
      if (!response.ok) { return response.json().then(function (b) { throw new Error(b.message); }); }
      say("This device will receive alarm notifications.");
      window.location.reload();
    }).catch(function (error) { say("Push not enabled: " + error.message); });
  });
})();
