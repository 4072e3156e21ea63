/* Ironwatch live updates over Socket.IO.
 *
 * The server puts this socket into the rooms its signed-in user may see (checked on connect), and
 * publishes "diagnosis", "work_order" and "machine_status" events there. This script:
 *   - shows the connection state in the top bar,
 *   - prepends new alarms and work orders to the #live-events feed when the page has one,
 *   - updates the row of the machine concerned (tr[data-machine="<uid>"]) in place,
 *   - re-dispatches every event as a DOM event "ironwatch:<name>" for page-specific scripts.
 * Text is always inserted with textContent, never as HTML.
 */
(function () {
  "use strict";
  if (typeof io === "undefined") { return; }

  var dot = document.getElementById("live-status");
  var feed = document.getElementById("live-events");
  var MAX_FEED_ITEMS = 50;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function humanise(word) { return String(word || "").replace(/_/g, " "); }

  function timeOf(payload) {
    var raw = payload.time || payload.created_at || payload.updated_at;
    var when = raw ? new Date(raw) : new Date();
    if (isNaN(when.getTime())) { when = new Date(); }
    // Date, time and zone name (the viewer's zone, js/time.js), so an overnight event reads right.
    if (window.ironwatchTime) { return window.ironwatchTime.format(when, window.ironwatchTime.zoneFor(feed)); }
    return when.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  // Pages whose users may open machine pages set <body data-machine-link="/console/machines/">.
  var machineLinkBase = document.body.dataset.machineLink || "";

  function machineLink(uid) {
    if (!machineLinkBase) { return document.createTextNode(uid); }
    var a = el("a", "", uid);
    a.href = machineLinkBase + encodeURIComponent(uid);
    return a;
  }

  function describe(name, p) {
    // One line a person reads at a glance: what, where, how bad.
    var what = el("span", "what");
    if (p.machine) { var strong = el("strong"); strong.appendChild(machineLink(p.machine)); what.appendChild(strong); what.appendChild(document.createTextNode(" · ")); }
    if (name === "work_order") {
      what.appendChild(document.createTextNode((p.number ? p.number + " " : "Work order ") + (p.status ? "(" + humanise(p.status) + ") " : "") + "— " + (p.title || humanise(p.fault_mode))));
    } else {
      var text = p.summary || [humanise(p.component), humanise(p.fault_mode), p.location].filter(Boolean).join(" · ");
      what.appendChild(document.createTextNode(text));
    }
    return what;
  }

  function prependEvent(name, p) {
    if (!feed) { return; }
    var placeholder = feed.querySelector(".empty");
    if (placeholder) { placeholder.remove(); }
    var severity = p.severity || (name === "work_order" ? "warning" : "watch");
    var item = el("li", "new live-" + name + " severity-" + severity);
    item.dataset.event = name;
    if (p.machine) { item.dataset.machine = p.machine; }
    item.appendChild(el("span", "when", timeOf(p)));
    var kind = el("span", "pill " + severity, name === "work_order" ? "work order" : severity);
    item.appendChild(kind);
    item.appendChild(describe(name, p));
    feed.insertBefore(item, feed.firstChild);
    while (feed.children.length > MAX_FEED_ITEMS) { feed.removeChild(feed.lastChild); }
  }

  function setCell(row, field, text, className) {
    var cell = row.querySelector('[data-field="' + field + '"]');
    if (!cell) { return; }
    cell.textContent = "";
    if (className !== undefined) {
      cell.appendChild(el("span", className, text));
    } else {
      cell.textContent = text;
    }
  }

  function updateMachineRow(p) {
    if (!p.machine) { return; }
    var rows = document.querySelectorAll('tr[data-machine="' + CSS.escape(p.machine) + '"]');
    rows.forEach(function (row) {
      if (p.status) { setCell(row, "status", humanise(p.status), "pill " + p.status); row.dataset.status = p.status; }
      if (p.iso_zone !== undefined) { setCell(row, "iso_zone", p.iso_zone || "–", "zone " + (p.iso_zone || "none")); }
      if (p.health_index !== undefined && p.health_index !== null) { setCell(row, "health_index", Number(p.health_index).toFixed(2)); }
      if (p.open_work_orders !== undefined) { setCell(row, "open_work_orders", p.open_work_orders); }
      if (p.last_seen_at) {
        var seen = new Date(p.last_seen_at);
        setCell(row, "last_seen_at", window.ironwatchTime && !isNaN(seen.getTime())
          ? window.ironwatchTime.format(seen, window.ironwatchTime.zoneFor(row))
          : String(p.last_seen_at).replace("T", " ").slice(0, 16) + " UTC");
      }
      row.classList.remove("flash"); void row.offsetWidth; row.classList.add("flash");
    });
  }

  var socket = io({ transports: ["websocket", "polling"] });
  window.ironwatchSocket = socket;
  socket.on("connect", function () { if (dot) { dot.classList.add("on"); dot.title = "Live: connected"; } });
  socket.on("disconnect", function () { if (dot) { dot.classList.remove("on"); dot.title = "Live: reconnecting…"; } });
  socket.on("connect_error", function () { if (dot) { dot.classList.remove("on"); dot.title = "Live: not connected"; } });

  // "alarm" events are drawn by alarms.js (feed items with an acknowledge button, the alarm list).
  // "work_order_reassigned" and "dispatch_proposal" are only re-dispatched (the boards redraw, js/board_live.js).
  ["diagnosis", "work_order", "work_order_reassigned", "machine_status", "rul", "alarm", "dispatch_proposal"].forEach(function (name) {
    socket.on(name, function (payload) {
      payload = payload || {};
      if (name === "diagnosis") {
        // A healthy burst has no finding: it updates the machine's row but is not an alarm.
        var top = (payload.findings || [])[0];
        if (top) {
          prependEvent(name, Object.assign({}, payload, { severity: top.severity, summary: top.summary,
                                                           fault_mode: top.fault_mode, location: top.location }));
        }
      }
      if (name === "work_order") { prependEvent(name, payload); }
      if (name === "machine_status") { updateMachineRow(payload); }
      document.dispatchEvent(new CustomEvent("ironwatch:" + name, { detail: payload }));
    });
  });
})();
