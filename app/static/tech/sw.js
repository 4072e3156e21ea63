/* Service worker of the technicians' app (served as /tech/sw.js, scope /tech/).
 *
 * The server prepends SHELL_VERSION and SHELL_FILES (URL -> SHA-256; app/tech/shell.py): the app
 * shell (its CSS, scripts, icons, Leaflet, the offline basemap) as one versioned set.
 *   - install: every shell file is fetched and checked against its hash into the cache
 *     "ironwatch-tech-shell-<version>"; one missing or different file fails the install (the old
 *     set stays), so a cache never holds a mix of two deploys;
 *   - shell files are served from this worker's own set, never revalidated one by one: a page runs
 *     the scripts of one version together (stale-while-revalidate gave a new job.js beside an old
 *     queue.js after a deploy);
 *   - a new version waits until the technician presses "Reload" on the page's notice (message
 *     "skip-waiting"), or until every tab of the app is closed; activate deletes older sets.
 * Workbox (vendored from npm into /static/vendor/workbox by `npm run build`) routes the rest:
 *   - the app's pages (/tech/ and /tech/jobs/<id>): network first, the stored copy when there is
 *     no signal (4 s), so the day's jobs open on a quarry floor; only real 200 pages are stored
 *     (never a redirect to the sign-in page);
 *   - other static files (Leaflet's images) and the web app manifest: stale-while-revalidate;
 *   - evidence pictures and photos: cache first.
 * Push messages show a notification; a tap opens the job. */
importScripts("/static/vendor/workbox/workbox-sw.js");
workbox.setConfig({ modulePathPrefix: "/static/vendor/workbox/", debug: false });

var routing = workbox.routing, strategies = workbox.strategies, expiration = workbox.expiration;
var SHELL_PREFIX = "ironwatch-tech-shell-";
var SHELL_CACHE = SHELL_PREFIX + SHELL_VERSION;
var ASSETS_CACHE = "ironwatch-tech-assets";
var OLD_CACHES = ["ironwatch-tech-static"];  // before the versioned set: shell files revalidated one by one
var PAGES_CACHE = "ironwatch-tech-pages";
var PICTURES_CACHE = "ironwatch-tech-pictures";

function hex(buffer) {
  return Array.prototype.map.call(new Uint8Array(buffer), function (b) { return ("0" + b.toString(16)).slice(-2); })
    .join("");
}

/* One shell file from the network (past the HTTP cache's freshness), checked against its hash. */
function fetchChecked(url) {
  return fetch(url, { cache: "no-cache", credentials: "same-origin" }).then(function (response) {
    if (!response.ok) { throw new Error(url + " answered " + response.status); }
    return response.clone().arrayBuffer().then(function (bytes) { return crypto.subtle.digest("SHA-256", bytes); })
      .then(function (digest) {
        // the server changed the file after it named this version (a deploy in progress): this
        // install fails and the browser tries the next version at the next visit
        if (hex(digest) !== SHELL_FILES[url]) { throw new Error(url + " is not the one of version " + SHELL_VERSION); }
        return response;
      });
  });
}

function storeShell() {
  var urls = Object.keys(SHELL_FILES);
  // all files first, then the cache: a failed install leaves no half-filled set behind
  return Promise.all(urls.map(fetchChecked)).then(function (responses) {
    return caches.open(SHELL_CACHE).then(function (cache) {
      return Promise.all(urls.map(function (url, i) { return cache.put(url, responses[i]); }));
    });
  }).then(function () {
    return caches.open(ASSETS_CACHE).then(function (cache) { return cache.add("/tech/manifest.webmanifest"); });
  });
}

self.addEventListener("install", function (event) {
  event.waitUntil(storeShell().then(function () { return caches.has(OLD_CACHES[0]); }).then(function (legacy) {
    // a phone still on the worker before versioned sets: its pages never offer "Reload", so take
    // over at once (they ran scripts revalidated one by one anyway)
    if (legacy) { return self.skipWaiting(); }
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return (name.indexOf(SHELL_PREFIX) === 0 && name !== SHELL_CACHE) || OLD_CACHES.indexOf(name) >= 0;
    }).map(function (name) { return caches.delete(name); }));
  }));
});
workbox.core.clientsClaim();  // the first install takes the open page over (My day then stores the jobs)

// the page's "Reload" on "A new version of the app is ready"
self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "skip-waiting") { self.skipWaiting(); }
});

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
// this worker's own set, whole; the network only if the set lost a file (storage cleared)
routing.registerRoute(function (args) {
  return args.url.origin === self.location.origin && Object.prototype.hasOwnProperty.call(SHELL_FILES, args.url.pathname);
}, function (args) {
  return caches.open(SHELL_CACHE).then(function (cache) { return cache.match(args.url.pathname); })
    .then(function (stored) { return stored || fetch(args.request); });
});
routing.registerRoute(function (args) { return args.url.pathname.indexOf("/static/") === 0 ||
                                               args.url.pathname === "/tech/manifest.webmanifest"; },
  new strategies.StaleWhileRevalidate({ cacheName: ASSETS_CACHE }));
routing.registerRoute(function (args) { return /^\/tech\/(jobs\/\d+\/evidence\.png|photos\/\d+)$/.test(args.url.pathname); },
  new strategies.CacheFirst({ cacheName: PICTURES_CACHE,
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
