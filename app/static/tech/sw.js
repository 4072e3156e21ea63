/* Service worker of the technicians' app (served as /tech/sw.js, scope /tech/).
 *
 * Workbox (vendored from npm into /static/vendor/workbox by `npm run build`) routes requests:
 *   - the app's pages (/tech/ and /tech/jobs/<id>): network first, the stored copy when there is
 *     no signal (4 s), so the day's jobs open on a quarry floor; only real 200 pages are stored
 *     (never a redirect to the sign-in page);
 *   - static files (CSS, JS, Leaflet, the offline basemap, icons): stale-while-revalidate;
 *   - evidence pictures and photos: cache first.
 * The shell is stored at install. Push messages show a notification; a tap opens the job. */
importScripts("/static/vendor/workbox/workbox-sw.js");
workbox.setConfig({ modulePathPrefix: "/static/vendor/workbox/", debug: false });

var routing = workbox.routing, strategies = workbox.strategies, expiration = workbox.expiration;
var SHELL_CACHE = "ironwatch-tech-static";
var PAGES_CACHE = "ironwatch-tech-pages";
var SHELL = ["/static/tech/tech.css", "/static/tech/js/queue.js", "/static/tech/js/app.js", "/static/tech/js/job.js",
             "/static/tech/js/form_help.js", "/static/tech/js/push.js", "/static/vendor/leaflet/leaflet.js", "/static/vendor/leaflet/leaflet.css",
             "/static/vendor/leaflet/topojson-client.min.js", "/static/vendor/world-atlas/land-50m.json",
             "/static/tech/icons/icon-192.png", "/static/tech/icons/icon-512.png", "/tech/manifest.webmanifest"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL_CACHE).then(function (cache) { return cache.addAll(SHELL); })
    .then(function () { return self.skipWaiting(); }));
});
workbox.core.clientsClaim();

var onlyWholePages = {
  cacheWillUpdate: function (args) {
    var response = args.response;
    return response && response.status === 200 && !response.redirected &&
      (response.headers.get("Content-Type") || "").indexOf("text/html") === 0 ? response : null;
  }
};
var PAGE = /^\/tech\/(jobs\/\d+)?$/;
routing.registerRoute(function (args) { return args.request.method === "GET" && PAGE.test(args.url.pathname); },
  new strategies.NetworkFirst({ cacheName: PAGES_CACHE, networkTimeoutSeconds: 4,
    plugins: [onlyWholePages, new expiration.ExpirationPlugin({ maxEntries: 80 })] }));
routing.registerRoute(function (args) { return args.url.pathname.indexOf("/static/") === 0 ||
                                               args.url.pathname === "/tech/manifest.webmanifest"; },
  new strategies.StaleWhileRevalidate({ cacheName: SHELL_CACHE }));
routing.registerRoute(function (args) { return /^\/tech\/(jobs\/\d+\/evidence\.png|photos\/\d+)$/.test(args.url.pathname); },
  new strategies.CacheFirst({ cacheName: "ironwatch-tech-pictures",
    plugins: [new expiration.ExpirationPlugin({ maxEntries: 60, maxAgeSeconds: 14 * 86400 })] }));

// A page never loaded before, with no signal: the day's list, which is stored.
routing.setCatchHandler(function (args) {
  if (args.request.destination === "document") {
    return caches.match("/tech/", { cacheName: PAGES_CACHE }).then(function (page) {
      return page || new Response("<h1>No signal</h1><p>This page was not stored on the phone yet.</p>",
                                  { headers: { "Content-Type": "text/html; charset=utf-8" } });
    });
  }
  return Response.error();
});

function jobUrl(data) {
  if (data && data.work_order_id) { return self.registration.scope + "jobs/" + data.work_order_id; }
  return (data && data.url) || self.registration.scope;
}

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { title: "Ironwatch", body: event.data.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || "Ironwatch", {
    body: data.body || "", tag: data.tag || undefined, renotify: Boolean(data.tag),
    icon: "/static/tech/icons/icon-192.png", badge: "/static/tech/icons/icon-192.png",
    data: { url: jobUrl(data) } }));
});

self.addEventListener("notificationclick", function (event) {
  var url = (event.notification.data && event.notification.data.url) || self.registration.scope;
  event.notification.close();
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    var open = windows.filter(function (w) { return w.url.indexOf(self.registration.scope) === 0; })[0];
    if (open) {
      return open.navigate(url).then(function (client) { return (client || open).focus(); });
    }
    return self.clients.openWindow(url);
  }));
});
