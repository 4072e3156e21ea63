/* Shared helpers of the machine page's plots (uPlot): JSON fetch that keeps the server's error
 * message, a width that follows the panel, and time axes in the page's zone (js/time.js). */
(function () {
  "use strict";
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) { throw new Error(body.message || ("HTTP " + response.status)); }
        return body;
      });
    });
  }
  function widthOf(box) { return Math.max(260, Math.floor(box.getBoundingClientRect().width || box.clientWidth || 600)); }
  /** uPlot's tzDate for the zone that applies to `node` (site, user or browser). */
  function tzDate(node) {
    var zone = window.ironwatchTime ? window.ironwatchTime.zoneFor(node) : "UTC";
    return function (seconds) { return uPlot.tzDate(new Date(seconds * 1e3), zone); };
  }
  var AXIS = { stroke: "#667085", grid: { stroke: "#eef1f5" }, ticks: { stroke: "#eef1f5" } };
  /** A time x axis in 24-hour clock, in the zone of `node`: times within a day, dates beyond. */
  function timeAxis(node) {
    var zone = window.ironwatchTime ? window.ironwatchTime.zoneFor(node) : "UTC";
    var clock = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    var day = new Intl.DateTimeFormat("en-GB", { timeZone: zone, day: "numeric", month: "short" });
    var dayClock = new Intl.DateTimeFormat("en-GB", { timeZone: zone, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    // Labels a good 100 px apart, so "4 Dec, 16:00" never runs into its neighbour.
    return Object.assign({}, AXIS, { space: 100, values: function (u, splits) {
      var span = u.scales.x.max - u.scales.x.min;
      var format = span <= 86400 ? clock : (span <= 31 * 86400 ? dayClock : day);
      return splits.map(function (s) { return format.format(new Date(s * 1000)); });
    } });
  }
  /** Re-size a uPlot instance with its box (phones rotate, panels collapse). */
  function follow(plot, box, height) {
    var last = widthOf(box);
    window.addEventListener("resize", function () {
      var now = widthOf(box);
      if (now !== last && plot && plot.root && plot.root.isConnected) { last = now; plot.setSize({ width: now, height: height }); }
    });
  }
  window.ironwatchPlots = { getJSON: getJSON, widthOf: widthOf, tzDate: tzDate, axis: AXIS, timeAxis: timeAxis, follow: follow };
})();
