/* Ironwatch service worker: shows alarm push messages and opens the machine page on a tap.
 * The payload (decrypted by the browser) is {"title", "body", "url", "alarm_id", "severity", "tag"}. */
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { title: "Ironwatch", body: event.data && event.data.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || "Ironwatch alarm", {
    body: data.body || "", tag: data.tag, renotify: true, requireInteraction: data.severity === "alarm",
    data: { url: data.url || "/" }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(self.clients.matchAll({ type: "window" }).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      if (windows[i].url === url && "focus" in windows[i]) { return windows[i].focus(); }
    }
    return self.clients.openWindow(url);
  }));
});
