/* Job alerts (Web Push): says whether they are on, and asks for permission only when the
 * technician presses the button (never on load). The subscription goes to
 * POST /api/v1/push-subscriptions, the one endpoint every page uses (the console's profile page
 * too): the same push_subscription rows the alarm delivery and the job alerts send to. */
(function () {
  "use strict";
  var box = document.getElementById("push-box");
  if (!box) { return; }
  var state = document.getElementById("push-state");
  var button = document.getElementById("push-button");

  function say(text, on) {
    state.textContent = text;
    box.dataset.push = on ? "on" : "off";
  }

  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  function save(subscription) {
    return fetch(box.dataset.subscribeUrl, {
      method: "POST", credentials: "same-origin", body: JSON.stringify(subscription.toJSON()),
      headers: { "Content-Type": "application/json",
                 "X-CSRF-Token": document.querySelector("meta[name=csrf-token]").content } })
      .then(function (r) { if (!r.ok) { throw new Error("the server answered " + r.status); } });
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !box.dataset.vapidKey) {
    say("Job alerts are not available in this browser. Open the app to see new jobs.", false);
    return;
  }
  if (Notification.permission === "denied") {
    say("Job alerts are blocked in this phone's settings for this site.", false);
    return;
  }
  navigator.serviceWorker.ready.then(function (registration) {
    return registration.pushManager.getSubscription().then(function (existing) {
      if (existing && Notification.permission === "granted") {
        return save(existing).then(function () { say("Job alerts are on for this phone.", true); });
      }
      say("Job alerts are off. Turn them on to hear about new and changed jobs.", false);
      button.hidden = false;
      button.addEventListener("click", function () {
        button.disabled = true;
        Notification.requestPermission().then(function (permission) {
          if (permission !== "granted") { throw new Error("permission was not given"); }
          return registration.pushManager.subscribe({ userVisibleOnly: true,
                                                      applicationServerKey: keyBytes(box.dataset.vapidKey) });
        }).then(save).then(function () {
          button.hidden = true;
          say("Job alerts are on for this phone.", true);
        }).catch(function (error) {
          button.disabled = false;
          say("Job alerts could not be turned on: " + error.message + ".", false);
        });
      });
    });
  });
})();
