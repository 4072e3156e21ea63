/* Machine page: operating-data trend (uPlot, from /api/v1/machines/<uid>/trend) for any range,
 * and a notice when a new diagnosis or work order for this machine arrives live.
 *
 * The server downsamples (about 600 bucket means from the 1-minute or 1-hour continuous-query
 * series), so a year loads like an hour. Drag across the plot to zoom: the zoomed range is fetched
 * again at a finer bucket; "earlier"/"later" pan by half the range. */
(function () {
  "use strict";
  var box = document.getElementById("trend");
  var note = document.getElementById("trend-note");
  var P = window.ironwatchPlots;
  var plot = null;
  var state = { field: box ? box.dataset.field : "", label: "", start: null, end: null };

  function bucketWords(seconds) {
    if (seconds % 86400 === 0) { return seconds / 86400 + " d"; }
    if (seconds % 3600 === 0) { return seconds / 3600 + " h"; }
    return Math.round(seconds / 60) + " min";
  }

  function draw() {
    if (!box || !state.field || typeof uPlot === "undefined" || !P) { return; }
    var url = "/api/v1/machines/" + encodeURIComponent(box.dataset.machine) + "/trend?field=" +
      encodeURIComponent(state.field) + "&start=" + Math.floor(state.start) + "&end=" + Math.ceil(state.end);
    note.textContent = "Loading…";
    P.getJSON(url).then(function (body) {
      var values = body.values.map(function (v) { return v === null ? null : Number(v); });
      var present = values.filter(function (v) { return v !== null; }).length;
      var zone = window.ironwatchTime ? window.ironwatchTime.zoneFor(box) : "UTC";
      note.textContent = present
        ? "Mean per " + bucketWords(body.every_s) + " · times in " + zone + " · drag to zoom in."
        : "No operating data in this range.";
      var opts = {
        width: P.widthOf(box), height: 240, tzDate: P.tzDate(box),
        scales: { x: { time: true, min: body.start, max: body.end } },
        axes: [P.timeAxis(box), Object.assign({ size: 60 }, P.axis)],
        series: [{}, { label: state.label || state.field, stroke: "#14213d", width: 1.5, spanGaps: false, points: { show: false } }],
        cursor: { drag: { x: true, y: false, setScale: false } },
        hooks: { setSelect: [function (u) {
          if (u.select.width < 5) { return; }
          var from = u.posToVal(u.select.left, "x"), to = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
          if (to - from >= 120) { state.start = from; state.end = to; setActiveRange(null); draw(); }
        }] },
        legend: { show: true }
      };
      if (plot) { plot.destroy(); }
      plot = new uPlot(opts, [body.times, values], box);
      box.dataset.points = String(present);
    }).catch(function (error) { note.textContent = "Trend unavailable: " + error.message; });
  }

  function setActiveRange(hours) {
    document.querySelectorAll("[data-trend-hours]").forEach(function (b) {
      b.classList.toggle("active", String(hours) === b.dataset.trendHours);
    });
  }
  function lastHours(hours) {
    state.end = Date.now() / 1000;
    state.start = state.end - hours * 3600;
    setActiveRange(hours);
    draw();
  }

  document.querySelectorAll("[data-trend-field]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      document.querySelectorAll("[data-trend-field]").forEach(function (l) { l.classList.remove("active"); });
      link.classList.add("active");
      state.field = link.dataset.trendField;
      state.label = link.textContent;
      draw();
    });
  });
  document.querySelectorAll("[data-trend-hours]").forEach(function (button) {
    button.addEventListener("click", function () { lastHours(Number(button.dataset.trendHours)); });
  });
  document.querySelectorAll("[data-trend-pan]").forEach(function (button) {
    button.addEventListener("click", function () {
      var span = state.end - state.start;
      var shift = Number(button.dataset.trendPan) * span / 2;
      var now = Date.now() / 1000;
      if (state.end + shift > now) { shift = now - state.end; }
      state.start += shift; state.end += shift;
      setActiveRange(null);
      draw();
    });
  });
  var first = document.querySelector("[data-trend-field]");
  if (first) { state.field = first.dataset.trendField; state.label = first.textContent; }
  if (box) { lastHours(24); }
  window.addEventListener("resize", function () { if (plot) { plot.setSize({ width: P.widthOf(box), height: 240 }); } });

  var heading = document.getElementById("machine-heading");
  function notice(kind, payload) {
    if (!heading || payload.machine !== heading.dataset.machine) { return; }
    var id = "live-notice";
    var bar = document.getElementById(id);
    if (!bar) {
      bar = document.createElement("div");
      bar.id = id;
      bar.className = "flash-msg";
      heading.parentNode.insertBefore(bar, heading.nextSibling);
    }
    bar.textContent = "New " + (kind === "work_order" ? "work order update" : "diagnosis") + " for this machine. ";
    var reload = document.createElement("a");
    reload.href = window.location.pathname;
    reload.textContent = "Show it";
    bar.appendChild(reload);
  }
  document.addEventListener("ironwatch:diagnosis", function (e) { notice("diagnosis", e.detail); });
  document.addEventListener("ironwatch:work_order", function (e) { notice("work_order", e.detail); });
})();
