/* Machine page: operating-data trend (uPlot, from /api/v1/machines/<uid>/trend) and a notice when
 * a new diagnosis or work order for this machine arrives live. */
(function () {
  "use strict";
  var box = document.getElementById("trend");
  var note = document.getElementById("trend-note");
  var plot = null;

  function draw(field, label) {
    if (!box || !field || typeof uPlot === "undefined") { return; }
    var url = "/api/v1/machines/" + encodeURIComponent(box.dataset.machine) + "/trend?hours=24&field=" + encodeURIComponent(field);
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json().then(function (b) { return [r, b]; }); })
      .then(function (pair) {
        var response = pair[0], body = pair[1];
        if (!response.ok) { note.textContent = body.message || "Trend unavailable."; return; }
        var values = body.values.map(function (v) { return v === null ? null : Number(v); });
        var present = values.filter(function (v) { return v !== null; }).length;
        note.textContent = present ? ("Mean per " + Math.round(body.every_s / 60) + " min over the last 24 h, UTC.") : "No operating data in the last 24 h.";
        var opts = {
          width: box.clientWidth || 800, height: 220,
          scales: { x: { time: true } },
          axes: [{ stroke: "#667085", grid: { stroke: "#eef1f5" } }, { stroke: "#667085", grid: { stroke: "#eef1f5" }, size: 60 }],
          series: [{}, { label: label || field, stroke: "#14213d", width: 1.5, spanGaps: false, points: { show: false } }],
          legend: { show: true }
        };
        if (plot) { plot.destroy(); }
        plot = new uPlot(opts, [body.times, values], box);
      })
      .catch(function () { note.textContent = "Trend unavailable (network)."; });
  }

  document.querySelectorAll("[data-trend-field]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      document.querySelectorAll("[data-trend-field]").forEach(function (l) { l.classList.remove("active"); });
      link.classList.add("active");
      draw(link.dataset.trendField, link.textContent);
    });
  });
  var first = document.querySelector("[data-trend-field]");
  if (first) { draw(first.dataset.trendField, first.textContent); }

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
