/* Alarms on the console pages (alarm list, machine page, fleet feed): acknowledge through the JSON
 * API without leaving the page, and apply live "alarm" events (raised, acknowledged, cleared, ...)
 * that live.js re-dispatches as "ironwatch:alarm". Text is inserted with textContent only. */
(function () {
  "use strict";
  var table = document.getElementById("alarm-list");
  var feed = document.getElementById("live-events");
  var SEVERITY_RANK = { watch: 0, warning: 1, alarm: 2 };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  // Date, time and zone name in the viewer's zone (js/time.js); UTC, named, if that script is missing.
  function when(iso, node, seconds) {
    if (!iso) { return "never"; }
    var date = new Date(iso);
    if (window.ironwatchTime && !isNaN(date.getTime())) {
      return window.ironwatchTime.format(date, window.ironwatchTime.zoneFor(node || null), seconds);
    }
    return String(iso).replace("T", " ").slice(0, seconds ? 19 : 16) + " UTC";
  }
  function humanise(word) { return String(word || "").replace(/_/g, " "); }

  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
                        body: JSON.stringify(body || {}) })
      .then(function (r) { return r.json().then(function (b) { if (!r.ok) { throw new Error(b.message || "refused"); } return b; }); });
  }

  function acknowledge(id, comment, errorBox) {
    return post("/api/v1/alarms/" + encodeURIComponent(id) + "/acknowledge", { comment: comment || "" })
      .then(apply).catch(function (error) { if (errorBox) { errorBox.textContent = error.message; } });
  }

  // --- rendering one alarm in the list ----------------------------------------------------------
  function stateCell(a) {
    var cell = el("td");
    cell.dataset.label = "State";
    cell.dataset.field = "alarm-state";
    cell.appendChild(el("span", "pill alarm-state " + a.state, a.state));
    if (a.state === "acknowledged") {
      cell.appendChild(el("br"));
      cell.appendChild(el("span", "note ack-by", "by " + a.acknowledged_by + (a.ack_comment ? ": “" + a.ack_comment + "”" : "")));
    } else if (a.state === "cleared") {
      cell.appendChild(el("br"));
      cell.appendChild(el("span", "note", humanise(a.clear_reason) + (a.cleared_by ? " by " + a.cleared_by : "")));
    }
    return cell;
  }

  function actionsCell(a) {
    var cell = el("td", "alarm-actions");
    cell.dataset.label = "";
    if (a.state !== "active") { return cell; }
    var form = el("form", "ack-form");
    form.method = "post";
    form.action = "/console/alarms/" + a.id + "/acknowledge";
    form.dataset.alarmId = a.id;
    var input = el("input");
    input.type = "text"; input.name = "comment"; input.placeholder = "Comment (optional)"; input.maxLength = 500;
    input.setAttribute("aria-label", "Comment for " + a.number);
    var button = el("button", "ack-button", "Acknowledge");
    button.type = "submit";
    form.appendChild(input); form.appendChild(button);
    cell.appendChild(form);
    return cell;
  }

  function buildRow(a, showMachine) {
    var row = el("tr", "alarm-row state-" + a.state + " flash");
    row.dataset.alarmId = a.id; row.dataset.state = a.state; row.dataset.machine = a.machine;
    var sev = el("td"); sev.dataset.label = "Severity"; sev.appendChild(el("span", "pill " + a.severity, a.severity));
    row.appendChild(sev);
    if (showMachine) {
      var m = el("td"); m.dataset.label = "Machine";
      var link = el("a"); link.href = "/console/machines/" + encodeURIComponent(a.machine); link.appendChild(el("strong", "", a.machine));
      m.appendChild(link);
      if (a.component) { m.appendChild(document.createTextNode(" ")); m.appendChild(el("span", "kind part", a.component_label || humanise(a.component))); }
      row.appendChild(m);
    }
    var what = el("td"); what.dataset.label = "Alarm";
    what.appendChild(el("span", "alarm-title", a.title)); what.appendChild(el("br"));
    if (a.detail && a.detail.verdict) {  // a bearing's other fault mode in the same burst
      what.appendChild(el("span", "alarm-verdict", a.detail.verdict)); what.appendChild(el("br"));
    }
    what.appendChild(el("span", "kind", a.source_label + " · " + a.number + (a.count > 1 ? " · seen " + a.count + "×" : "")));
    row.appendChild(what);
    var first = el("td", "", when(a.first_seen_at)); first.dataset.label = "First seen"; row.appendChild(first);
    var last = el("td", "", when(a.last_seen_at)); last.dataset.label = "Last seen"; row.appendChild(last);
    row.appendChild(stateCell(a));
    row.appendChild(actionsCell(a));
    return row;
  }

  function wanted(a) {
    var filter = table.dataset.stateFilter || "open";
    var machine = table.dataset.machineFilter;
    if (machine && machine !== a.machine) { return false; }
    if (filter === "all") { return true; }
    if (filter === "open") { return a.state === "active" || a.state === "acknowledged"; }
    return filter === a.state;
  }

  function applyToTable(a) {
    if (!table) { return; }
    var body = table.tBodies[0];
    var row = body.querySelector('tr[data-alarm-id="' + a.id + '"]');
    var showMachine = !table.dataset.machineFilter;
    if (!wanted(a)) { if (row) { row.remove(); } }
    else if (row) { body.replaceChild(buildRow(a, showMachine), row); }
    else { body.insertBefore(buildRow(a, showMachine), body.firstChild); }
    var rows = body.querySelectorAll("tr[data-alarm-id]");
    var empty = document.getElementById("alarm-list-empty");
    if (empty) { empty.hidden = rows.length > 0; }
    ["active", "acknowledged"].forEach(function (state) {
      var counter = document.getElementById("alarm-count-" + state);
      if (counter) { counter.textContent = body.querySelectorAll('tr[data-state="' + state + '"]').length; }
    });
    var all = document.querySelector(".ack-all");
    if (all && !body.querySelector('tr[data-state="active"]')) { all.remove(); }
  }

  // --- the fleet page's feed ----------------------------------------------------------------------
  function feedAck(a) {
    var span = el("span", "feed-ack");
    if (a.state === "active") {
      var button = el("button", "chip ack-button", "Acknowledge");
      button.type = "button"; button.dataset.alarmId = a.id;
      span.appendChild(button);
    } else {
      span.appendChild(el("span", "note ack-by", a.state === "acknowledged" ? "acknowledged by " + a.acknowledged_by : "cleared"));
    }
    return span;
  }

  function applyToFeed(a) {
    if (!feed) { return; }
    var item = feed.querySelector('li[data-alarm-id="' + a.id + '"]');
    if (!item && a.change !== "raised") { return; }
    if (!item) {
      var placeholder = feed.querySelector(".empty");
      if (placeholder) { placeholder.remove(); }
      item = el("li", "new live-alarm severity-" + a.severity);
      item.dataset.event = "alarm"; item.dataset.machine = a.machine; item.dataset.alarmId = a.id;
      item.appendChild(el("span", "when", when(a.last_seen_at || new Date().toISOString(), feed, true)));
      item.appendChild(el("span", "pill " + a.severity, a.severity));
      var what = el("span", "what");
      var strong = el("strong"); var link = el("a", "", a.machine); link.href = "/console/machines/" + encodeURIComponent(a.machine);
      strong.appendChild(link); what.appendChild(strong);
      what.appendChild(document.createTextNode(" · " + a.number + " — " + a.title + " "));
      what.appendChild(feedAck(a));
      item.appendChild(what);
      feed.insertBefore(item, feed.firstChild);
    } else {
      item.dataset.state = a.state;
      var old = item.querySelector(".feed-ack");
      if (old) { old.replaceWith(feedAck(a)); }
    }
  }

  function apply(a) {
    if (!a || a.id === undefined) { return; }
    applyToTable(a);
    applyToFeed(a);
  }

  document.addEventListener("ironwatch:alarm", function (event) { apply(event.detail); });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.classList.contains("ack-form")) {
      event.preventDefault();
      var box = form.querySelector(".ack-error") || form.appendChild(el("span", "ack-error"));
      acknowledge(form.dataset.alarmId, form.elements.comment ? form.elements.comment.value : "", box);
    } else if (form.classList.contains("ack-all")) {
      event.preventDefault();
      post("/api/v1/machines/" + encodeURIComponent(form.dataset.machine) + "/alarms/acknowledge", {})
        .then(function (b) { b.acknowledged.forEach(apply); });
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.ack-button[data-alarm-id]") : null;
    if (!button || button.closest("form")) { return; }
    button.disabled = true;
    acknowledge(button.dataset.alarmId, "", null).then(function () { button.disabled = false; });
  });

  window.ironwatchAlarms = { apply: apply, rank: SEVERITY_RANK };
})();
