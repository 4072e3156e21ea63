/* Times in the viewer's zone. The server renders every time as <time datetime="<UTC ISO>"> with a
 * UTC text (correct without script); this rewrites the text into the zone that applies:
 *   1. the nearest ancestor's data-timezone (a site-specific page or panel: the site's zone),
 *   2. else the user's setting (<body data-user-timezone>),
 *   3. else the browser's own zone,
 * always with the zone named ("2026-11-25 11:00 CET"). window.ironwatchTime offers the same to
 * page scripts (live feed, plots). */
(function () {
  "use strict";
  function browserZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { return "UTC"; }
  }
  function validZone(zone) {
    if (!zone) { return false; }
    try { Intl.DateTimeFormat("en-GB", { timeZone: zone }); return true; } catch (e) { return false; }
  }
  function zoneFor(node) {
    var scoped = node && node.closest ? node.closest("[data-timezone]") : null;
    var candidates = [scoped && scoped.dataset.timezone, document.body.dataset.userTimezone, browserZone()];
    for (var i = 0; i < candidates.length; i++) { if (validZone(candidates[i])) { return candidates[i]; } }
    return "UTC";
  }
  var formatters = {};
  function parts(date, zone, seconds) {
    var key = zone + (seconds ? ":s" : "");
    if (!formatters[key]) {
      var options = { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
                      minute: "2-digit", hourCycle: "h23", timeZoneName: "short" };
      if (seconds) { options.second = "2-digit"; }
      formatters[key] = new Intl.DateTimeFormat("en-GB", options);
    }
    var out = {};
    formatters[key].formatToParts(date).forEach(function (p) { out[p.type] = p.value; });
    return out;
  }
  /** "YYYY-MM-DD HH:MM[:SS] ZONE" of a Date in an IANA zone. */
  function format(date, zone, seconds) {
    var p = parts(date, zone || zoneFor(null), seconds);
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute +
      (seconds ? ":" + p.second : "") + " " + p.timeZoneName;
  }
  function localise(root) {
    (root || document).querySelectorAll("time[datetime]").forEach(function (node) {
      var date = new Date(node.getAttribute("datetime"));
      if (isNaN(date.getTime())) { return; }
      var zone = zoneFor(node);
      node.textContent = format(date, zone, node.dataset.seconds === "1");
      node.title = date.toISOString().replace("T", " ").slice(0, 19) + " UTC";
      node.dataset.zone = zone;
    });
    (root || document).querySelectorAll("[data-zone-name]").forEach(function (node) {
      node.textContent = zoneFor(node);
    });
    (root || document).querySelectorAll("[data-browser-zone]").forEach(function (node) {
      node.textContent = browserZone();
    });
  }
  window.ironwatchTime = { format: format, zoneFor: zoneFor, localise: localise };
  localise(document);
})();
