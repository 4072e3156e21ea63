/* The portal machine page's usage charts: working and idle hours per day (stacked bars) and fuel
 * per day (bars) with fuel per working hour (line, right axis), from /api/v1/machines/<uid>/usage.
 * Text is inserted with textContent only. */
(function () {
  "use strict";
  var P = window.ironwatchPlots;
  var panel = document.getElementById("usage");
  if (!P || !panel || typeof uPlot === "undefined") { return; }
  var usageBox = document.getElementById("usage-plot");
  var fuelBox = document.getElementById("fuel-plot");
  var note = document.getElementById("usage-note");
  var form = document.getElementById("usage-range");
  var plots = [];
  var bars = uPlot.paths.bars({ size: [0.7, 60] });

  function dayToSeconds(day) { return Date.UTC(+day.slice(0, 4), +day.slice(5, 7) - 1, +day.slice(8, 10)) / 1e3; }
  function unit(suffix) { return function (u, values) { return values.map(function (v) { return v == null ? "" : v + " " + suffix; }); }; }
  var utcDate = function (seconds) { return uPlot.tzDate(new Date(seconds * 1e3), "UTC"); };
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  // Days as an owner writes them ("24 Nov"), not the US month/day; the days are the viewer's local days.
  function dayWords(seconds) { var d = new Date(seconds * 1e3); return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()]; }
  var dayAxis = Object.assign({}, P.axis, { incrs: [86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400],
    values: function (u, splits) { return splits.map(dayWords); } });
  var daySeries = { label: "Day", value: function (u, v) { return v == null ? "" : dayWords(v) + " " + new Date(v * 1e3).getUTCFullYear(); } };

  function row(cells) {
    var tr = document.createElement("tr");
    cells.forEach(function (cell) {
      var td = document.createElement("td");
      td.textContent = cell[1];
      td.dataset.label = cell[0];
      if (cell[2]) { td.className = cell[2]; }
      tr.appendChild(td);
    });
    return tr;
  }

  function draw(body) {
    plots.forEach(function (p) { p.destroy(); });
    plots = [];
    var x = body.days.map(function (d) { return dayToSeconds(d.day); });
    var working = body.days.map(function (d) { return d.working_h; });
    var idleTop = body.days.map(function (d) { return Math.round((d.working_h + d.idle_h) * 100) / 100; });
    var fuel = body.days.map(function (d) { return d.fuel_l; });
    var perHour = body.days.map(function (d) { return d.fuel_l_per_working_h; });
    var t = body.totals;
    note.textContent = body.first + " to " + body.last + " (" + body.timezone + "): " + t.working_h + " h working, " +
      t.idle_h + " h idling (" + t.idle_pct + " % of engine hours), " + t.fuel_l + " L fuel" +
      (t.fuel_l_per_working_h != null ? ", " + t.fuel_l_per_working_h + " L per working hour." : ".");
    var common = { width: P.widthOf(usageBox), height: 240, tzDate: utcDate, scales: { x: { time: true } } };
    plots.push(new uPlot(Object.assign({}, common, {
      axes: [dayAxis, Object.assign({ size: 56, values: unit("h") }, P.axis)],
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max) * 1.1]; } } },
      series: [daySeries,
        { label: "Engine hours (working + idling)", fill: "rgba(217,87,10,.55)", stroke: "#d9570a", paths: bars, points: { show: false }, value: function (u, v) { return v == null ? "" : v + " h"; } },
        { label: "Working", fill: "rgba(30,142,62,.85)", stroke: "#1e8e3e", paths: bars, points: { show: false }, value: function (u, v) { return v == null ? "" : v + " h"; } }]
    }), [x, idleTop, working], usageBox));
    plots.push(new uPlot(Object.assign({}, common, {
      axes: [dayAxis, Object.assign({ size: 56, values: unit("L"), scale: "L" }, P.axis),
        Object.assign({ side: 1, size: 64, values: unit("L/h"), scale: "Lh", grid: { show: false } }, P.axis)],
      scales: { x: { time: true }, L: { range: function (u, min, max) { return [0, Math.max(1, max) * 1.1]; } },
        Lh: { range: function (u, min, max) { return [0, Math.max(1, max || 1) * 1.2]; } } },
      series: [daySeries,
        { label: "Fuel used", scale: "L", fill: "rgba(26,86,219,.6)", stroke: "#1a56db", paths: bars, points: { show: false }, value: function (u, v) { return v == null ? "" : v + " L"; } },
        { label: "Per working hour", scale: "Lh", stroke: "#c5221f", width: 2, points: { show: true, size: 5 }, value: function (u, v) { return v == null ? "–" : v + " L/h"; } }]
    }), [x, fuel, perHour], fuelBox));
    plots.forEach(function (p, i) { P.follow(p, i ? fuelBox : usageBox, 240); });
    usageBox.dataset.points = String(x.length);
    fuelBox.dataset.points = String(x.length);
    var tbody = document.querySelector("#usage-table tbody");
    tbody.textContent = "";
    body.days.slice().reverse().forEach(function (d) {
      tbody.appendChild(row([["Day", d.day, "card-title"], ["Working", d.working_h + " h", "num"], ["Idling", d.idle_h + " h", "num"],
        ["Utilization", d.utilization_pct + " %", "num"], ["Fuel", d.fuel_l + " L", "num"],
        ["Fuel per working hour", d.fuel_l_per_working_h == null ? "–" : d.fuel_l_per_working_h + " L/h", "num"]]));
    });
  }

  function load() {
    var query = [];
    var first = document.getElementById("usage-from").value;
    var last = document.getElementById("usage-to").value;
    if (first) { query.push("from=" + encodeURIComponent(first)); }
    if (last) { query.push("to=" + encodeURIComponent(last)); }
    note.textContent = "Loading…";
    P.getJSON(panel.dataset.usageUrl + (query.length ? "?" + query.join("&") : "")).then(function (body) {
      document.getElementById("usage-from").value = body.first;
      document.getElementById("usage-to").value = body.last;
      draw(body);
    }).catch(function (error) { note.textContent = "Could not load the usage: " + error.message; });
  }
  form.addEventListener("submit", function (event) { event.preventDefault(); load(); });
  load();
})();
