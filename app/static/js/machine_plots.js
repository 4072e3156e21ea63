/* Machine page plots: the RUL fan chart, the interactive spectrum and envelope spectrum with
 * defect-line cursors, the waterfall of a sensor's last spectra and the kurtogram.
 * Data from the plot API (app/plot_api.py); uPlot for the zoomable plots, a plain canvas for the
 * two image-like ones. Text is inserted with textContent only. */
(function () {
  "use strict";
  var P = window.ironwatchPlots;
  if (!P || typeof uPlot === "undefined") { return; }
  var COLOURS = ["#c5221f", "#1a56db", "#1e8e3e", "#9c27b0", "#d9570a", "#00838f", "#6d4c41"];
  var HARMONICS = 5;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  // ---- RUL fan chart --------------------------------------------------------------------------
  var rulBox = document.getElementById("rul-plot");
  var rulNote = document.getElementById("rul-note");
  var rulPlot = null;
  function drawRul(component) {
    if (!rulBox) { return; }
    rulNote.textContent = "Loading…";
    P.getJSON(rulBox.dataset.url + "?days=30&component=" + encodeURIComponent(component)).then(function (body) {
      if (rulPlot) { rulPlot.destroy(); rulPlot = null; }
      rulBox.dataset.points = String(body.times.length);
      if (!body.times.length) {
        rulBox.classList.add("empty-plot");
        rulNote.textContent = "No estimate for the " + body.component_label + " yet: " + body.note + ".";
        return;
      }
      rulBox.classList.remove("empty-plot");
      var last = body.times.length - 1;
      rulNote.textContent = "Latest: P50 " + Math.round(body.p50_h[last]) + " h, 80 % interval " +
        Math.round(body.p10_h[last]) + "–" + Math.round(body.p90_h[last]) + " h (P10–P90) · model " +
        body.model_version + (body.model_versions.length > 1 ? " (earlier points: " + body.model_versions.join(", ") + ")" : "") +
        " · dashed: planning horizon " + Math.round(body.horizon_h) + " h, below it the P10 opens a work order.";
      var horizon = body.horizon_h;
      var opts = {
        width: P.widthOf(rulBox), height: 260, tzDate: P.tzDate(rulBox),
        // One estimate (or several at one time) gives uPlot no span: show the day around it, not years.
        scales: { x: { time: true, range: function (u, min, max) { return max - min < 3600 ? [min - 43200, max + 43200] : [min, max]; } }, y: { range: function (u, min, max) { return [0, Math.max(max, horizon) * 1.1]; } } },
        axes: [P.timeAxis(rulBox), Object.assign({ size: 60, label: "hours", values: function (u, v) { return v.map(function (x) { return x + " h"; }); } }, P.axis)],
        series: [{},
          { label: "P90", stroke: "rgba(26,86,219,.35)", width: 1, points: { show: false } },
          { label: "P50 (median)", stroke: "#1a56db", width: 2, points: { show: true, size: 4 } },
          { label: "P10", stroke: "rgba(26,86,219,.35)", width: 1, points: { show: false } }],
        bands: [{ series: [1, 3], fill: "rgba(26,86,219,.14)" }],
        hooks: { draw: [function (u) {
          var y = u.valToPos(horizon, "y", true);
          var ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = "#d9570a"; ctx.setLineDash([6, 4]); ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke();
          ctx.fillStyle = "#d9570a"; ctx.font = (11 * devicePixelRatio) + "px system-ui";
          ctx.textAlign = "left"; ctx.textBaseline = "alphabetic";  // not uPlot's last axis alignment
          ctx.fillText("planning horizon", u.bbox.left + 6 * devicePixelRatio, y - 4 * devicePixelRatio);
          ctx.restore();
        }] }
      };
      rulPlot = new uPlot(opts, [body.times, body.p90_h, body.p50_h, body.p10_h], rulBox);
    }).catch(function (error) { rulNote.textContent = "Remaining life unavailable: " + error.message; });
  }
  document.querySelectorAll("[data-rul-component]").forEach(function (tab) {
    tab.addEventListener("click", function (event) {
      event.preventDefault();
      document.querySelectorAll("[data-rul-component]").forEach(function (t) { t.classList.toggle("active", t === tab); });
      drawRul(tab.dataset.rulComponent);
    });
  });
  var firstRul = document.querySelector("[data-rul-component].active") || document.querySelector("[data-rul-component]");
  if (firstRul) { drawRul(firstRul.dataset.rulComponent); }

  // ---- spectra with defect-line cursors --------------------------------------------------------
  var spectraBox = document.getElementById("spectra");
  var shownFamilies = {};
  // Families a person switched on or off: kept from burst to burst (the defaults follow each burst's findings).
  var chosenFamilies = {};
  var spectrumPlots = [];
  var LABEL_ROWS = 3;  // rows of defect-line labels above the trace
  var LABEL_ROW_PX = 13;
  // Which fundamentals to label, and where: sorted by position, each label goes into the first
  // row where it clears the label before it (flipped to the line's left at the right edge). One
  // that fits nowhere is left out of the picture; the readout names it when the cursor (or a
  // tap) is on its line, see lineNear. Positions in canvas pixels.
  function placeLabels(ctx, items, left, right) {
    var gap = 6 * devicePixelRatio, rowEnds = [], placed = [];
    items.sort(function (a, b) { return a.x - b.x; });
    items.forEach(function (item) {
      var width = ctx.measureText(item.text).width;
      var x = item.x + 3 * devicePixelRatio;
      if (x + width > right) { x = item.x - 3 * devicePixelRatio - width; }
      if (x < left) { return; }
      for (var row = 0; row < LABEL_ROWS; row++) {
        if (rowEnds[row] === undefined || x > rowEnds[row] + gap) {
          rowEnds[row] = x + width;
          placed.push({ text: item.text, colour: item.colour, x: x, row: row, width: width });
          return;
        }
      }
    });
    return placed;
  }
  function linesHook(families) {
    return function (u) {
      var ctx = u.ctx, xmin = u.scales.x.min, xmax = u.scales.x.max;
      var labels = [];
      ctx.save();
      ctx.lineWidth = devicePixelRatio;
      ctx.font = (10 * devicePixelRatio) + "px system-ui";
      // uPlot leaves the alignment of its last axis label on the context: labels start at their x.
      ctx.textAlign = "left"; ctx.textBaseline = "alphabetic";
      families.forEach(function (family, i) {
        if (!shownFamilies[family.key]) { return; }
        ctx.strokeStyle = COLOURS[i % COLOURS.length];
        family.lines.forEach(function (line) {
          for (var h = 1; h <= (line.harmonics || HARMONICS); h++) {
            var hz = line.hz * h;
            if (hz < xmin || hz > xmax) { continue; }
            var x = u.valToPos(hz, "x", true);
            ctx.globalAlpha = h === 1 ? 0.9 : 0.45;
            ctx.setLineDash(h === 1 ? [] : [4, 3]);
            ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
            if (h === 1) { labels.push({ text: line.label, colour: COLOURS[i % COLOURS.length], x: x }); }
          }
        });
      });
      ctx.globalAlpha = 1;
      var rowPx = LABEL_ROW_PX * devicePixelRatio, boxes = [];
      placeLabels(ctx, labels, u.bbox.left, u.bbox.left + u.bbox.width).forEach(function (label) {
        // Below the row of matched-peak dots at the top edge.
        var baseline = u.bbox.top + (22 + label.row * LABEL_ROW_PX) * devicePixelRatio;
        // A pale backing keeps the words legible over the grid and the trace.
        ctx.fillStyle = "rgba(255,255,255,.85)";
        ctx.fillRect(label.x - devicePixelRatio, baseline - rowPx + 3 * devicePixelRatio, label.width + 2 * devicePixelRatio, rowPx - devicePixelRatio);
        ctx.fillStyle = label.colour;
        ctx.fillText(label.text, label.x, baseline);
        boxes.push([label.x, baseline - rowPx + 3 * devicePixelRatio, label.width, rowPx - devicePixelRatio].map(function (v) {
          return Math.round(v / devicePixelRatio);
        }));
      });
      ctx.restore();
      // Where each label went, in CSS pixels: the browser test checks that none overlap.
      u.root.dataset.labelBoxes = JSON.stringify(boxes);
      u.root.dataset.labelsWanted = String(labels.length);
    };
  }
  // The shown defect line (or harmonic) within a few pixels of `hz`, in words, or "".
  function lineNear(u, families, hz) {
    var best = "", bestPx = 6, at = u.valToPos(hz, "x");
    families.forEach(function (family) {
      if (!shownFamilies[family.key]) { return; }
      family.lines.forEach(function (line) {
        for (var h = 1; h <= (line.harmonics || HARMONICS); h++) {
          var px = Math.abs(u.valToPos(line.hz * h, "x") - at);
          if (px < bestPx) { bestPx = px; best = line.label + (h > 1 ? " " + h + "×" : "") + " " + (line.hz * h).toFixed(1) + " Hz"; }
        }
      });
    });
    return best;
  }
  function spectrumPlot(box, freqs, amps, families, label, yLabel, maxHz, evidence) {
    var matched = (evidence || []).map(function (e) { return e.matched_hz; }).filter(function (v) { return v; });
    var opts = {
      width: P.widthOf(box), height: 230,
      scales: { x: { time: false, min: 0, max: maxHz } },
      axes: [Object.assign({ label: "Hz" }, P.axis), Object.assign({ size: 60, label: yLabel }, P.axis)],
      series: [{ label: "Hz", value: function (u, v) {
                 if (v === null) { return "–"; }
                 var near = lineNear(u, families, v);
                 return v.toFixed(1) + " Hz" + (near ? " · " + near : "");
               } },
               { label: label, stroke: "#14213d", width: 1, points: { show: false } }],
      cursor: { drag: { x: true, y: false } },
      hooks: { draw: [linesHook(families), function (u) {
        var ctx = u.ctx;
        ctx.save(); ctx.fillStyle = "#c5221f";
        matched.forEach(function (hz) {
          if (hz < u.scales.x.min || hz > u.scales.x.max) { return; }
          var x = u.valToPos(hz, "x", true);
          ctx.beginPath(); ctx.arc(x, u.bbox.top + 4 * devicePixelRatio, 3.5 * devicePixelRatio, 0, 2 * Math.PI); ctx.fill();
        });
        ctx.restore();
      }] }
    };
    var plot = new uPlot(opts, [freqs, amps], box);
    // Double-click goes back to the initial range (uPlot's default would show the whole spectrum).
    box.addEventListener("dblclick", function () { plot.setScale("x", { min: 0, max: maxHz }); });
    P.follow(plot, box, 230);
    return plot;
  }
  function familyChips(families) {
    var chips = document.getElementById("families");
    chips.textContent = "";
    families.forEach(function (family, i) {
      // What the server says this burst's findings concern, unless the person chose otherwise.
      shownFamilies[family.key] = chosenFamilies[family.key] !== undefined ? chosenFamilies[family.key]
        : (family.shown !== undefined ? family.shown : family.key !== "electrical");
      var chip = el("button", "chip family" + (shownFamilies[family.key] ? " active" : ""));
      chip.type = "button";
      chip.dataset.family = family.key;
      var swatch = el("i", "swatch"); swatch.style.background = COLOURS[i % COLOURS.length];
      chip.appendChild(swatch);
      // A bearing's or gear's lines are expected lines; whether this burst has a finding there is said.
      var part = family.key.indexOf(":") > 0;
      chip.appendChild(document.createTextNode(family.label + (family.finding ? " · " + family.finding + " finding"
        : (part && family.finding === null ? " · no finding" : ""))));
      chip.title = family.lines.map(function (l) { return l.label + " " + l.hz.toFixed(1) + " Hz"; }).join(", ") + " and harmonics" +
        (part && family.finding === null ? "; expected lines only, no finding on this burst" : "");
      chip.addEventListener("click", function () {
        shownFamilies[family.key] = chosenFamilies[family.key] = !shownFamilies[family.key];
        chip.classList.toggle("active", shownFamilies[family.key]);
        spectrumPlots.forEach(function (p) { p.redraw(false); });
      });
      chips.appendChild(chip);
    });
  }
  function drawSpectra(url) {
    if (!spectraBox) { return; }
    var note = document.getElementById("spectra-note");
    note.textContent = "Loading the spectra…";
    P.getJSON(url).then(function (body) {
      spectrumPlots.forEach(function (p) { p.destroy(); });
      spectrumPlots = [];
      familyChips(body.families);
      var spec = body.spectrum, env = body.envelope;
      var evidence = body.evidence || [];
      var envEvidence = evidence.filter(function (e) { return e.domain === "envelope"; });
      var specEvidence = evidence.filter(function (e) { return e.domain === "spectrum"; });
      var top = 0;
      body.families.forEach(function (f) { f.lines.forEach(function (l) { if (l.label.indexOf("mesh") < 0) { top = Math.max(top, l.hz); } }); });
      var specMax = Math.min(spec.freqs_hz[spec.freqs_hz.length - 1], Math.max(1000, top * 4));
      var envMax = env.freqs_hz[env.freqs_hz.length - 1];
      spectrumPlots.push(spectrumPlot(document.getElementById("spectrum-plot"), spec.freqs_hz, spec.amplitude_m_s2,
                                      body.families, "acceleration", "m/s²", specMax, specEvidence));
      spectrumPlots.push(spectrumPlot(document.getElementById("envelope-plot"), env.freqs_hz, env.amplitude,
                                      body.families, "squared envelope", "", envMax, envEvidence));
      document.getElementById("envelope-band").textContent = "demodulated " + Math.round(env.band_hz[0]) + "–" +
        Math.round(env.band_hz[1]) + " Hz (" + env.view + ")";
      var when = body.time ? (window.ironwatchTime ? window.ironwatchTime.format(new Date(body.time), window.ironwatchTime.zoneFor(spectraBox)) : body.time) : "";
      note.textContent = body.component_label + " · " + when + " · " + Math.round(body.shaft_rpm) +
        " rpm · solid lines: defect frequencies, dashed: their harmonics up to " + HARMONICS + "×, red dots: matched peaks; a line without room for its label is named in the readout when you point at (or tap) it.";
      spectraBox.dataset.rendered = body.burst_id;
      drawKurtogram(body.kurtogram);
    }).catch(function (error) { note.textContent = "Spectra unavailable: " + error.message; });
  }
  if (spectraBox) { drawSpectra(spectraBox.dataset.url); }
  document.querySelectorAll("[data-show-burst]").forEach(function (link) {
    link.addEventListener("click", function () { drawSpectra(link.dataset.url); });
  });

  // ---- kurtogram (canvas heat map) ------------------------------------------------------------
  function heat(t) {  // 0..1 → dark blue .. yellow
    var stops = [[20, 24, 64], [60, 40, 130], [190, 60, 90], [245, 160, 40], [250, 240, 120]];
    var x = Math.max(0, Math.min(1, t)) * (stops.length - 1), i = Math.floor(x), f = x - i;
    var a = stops[i], b = stops[Math.min(i + 1, stops.length - 1)];
    return "rgb(" + [0, 1, 2].map(function (k) { return Math.round(a[k] + f * (b[k] - a[k])); }).join(",") + ")";
  }
  function sizeCanvas(canvas, height) {
    var width = P.widthOf(canvas.parentNode) - 2;
    canvas.width = width * devicePixelRatio; canvas.height = height * devicePixelRatio;
    canvas.style.width = width + "px"; canvas.style.height = height + "px";
    var ctx = canvas.getContext("2d");
    ctx.setTransform(devicePixelRatio, 0, 0, devicePixelRatio, 0, 0);
    return { ctx: ctx, width: width, height: height };
  }
  function drawKurtogram(kg) {
    var canvas = document.getElementById("kurtogram");
    if (!canvas || !kg || !kg.windows.length) { return; }
    var c = sizeCanvas(canvas, 230), ctx = c.ctx;
    var left = 64, bottom = 28, plotW = c.width - left - 10, plotH = c.height - bottom - 8;
    var fmax = 0, skmax = 0;
    kg.freqs_hz.forEach(function (row) { fmax = Math.max(fmax, row[row.length - 1]); });
    kg.sk.forEach(function (row) { row.forEach(function (v) { skmax = Math.max(skmax, v); }); });
    var rowH = plotH / kg.windows.length;
    ctx.font = "11px system-ui"; ctx.fillStyle = "#667085";
    kg.windows.forEach(function (window, r) {
      ctx.fillStyle = window === kg.chosen_window ? "#14213d" : "#667085";
      ctx.fillText(window + " pts", 4, 8 + r * rowH + rowH / 2 + 4);
    });
    ctx.save();
    ctx.beginPath(); ctx.rect(left, 0, plotW, c.height); ctx.clip();  // wide cells stop at the axis
    kg.windows.forEach(function (window, r) {
      var freqs = kg.freqs_hz[r], sk = kg.sk[r];
      var cell = freqs.length > 1 ? (freqs[1] - freqs[0]) : fmax;
      var y = 8 + r * rowH;
      for (var i = 0; i < freqs.length; i++) {
        ctx.fillStyle = heat(skmax > 0 ? Math.max(0, sk[i]) / skmax : 0);
        var x0 = left + (freqs[i] - cell / 2) / fmax * plotW;
        ctx.fillRect(Math.max(left, x0), y, Math.max(1, cell / fmax * plotW + 0.5), rowH - 1);
      }
    });
    var chosenRow = kg.windows.indexOf(kg.chosen_window);
    var bx0 = left + kg.band_hz[0] / fmax * plotW, bx1 = left + kg.band_hz[1] / fmax * plotW;
    ctx.strokeStyle = "#ffffff"; ctx.lineWidth = 2;
    ctx.strokeRect(bx0, 8 + Math.max(0, chosenRow) * rowH, bx1 - bx0, rowH - 1);
    ctx.restore();
    ctx.fillStyle = "#667085";
    for (var k = 0; k <= 4; k++) {
      var hz = fmax * k / 4, x = left + plotW * k / 4;
      var text = (hz / 1000).toFixed(1) + " kHz";
      ctx.fillText(text, Math.max(left - 4, Math.min(x - ctx.measureText(text).width / 2, c.width - ctx.measureText(text).width - 4)), c.height - 10);
    }
    document.getElementById("kurtogram-note").textContent = "Spectral kurtosis per STFT length (rows) and frequency. " +
      "The " + kg.chosen_window + "-point row chose the band " + Math.round(kg.band_hz[0]) + "–" + Math.round(kg.band_hz[1]) +
      " Hz (outlined, kurtosis " + kg.max_sk.toFixed(1) + "), which the envelope spectrum is demodulated from. " +
      "Only that row is searched, its cells about half the band wide; the other rows show the same burst finer and coarser.";
    canvas.dataset.rendered = "1";
  }

  // ---- waterfall (canvas, offset lines, newest in front) ----------------------------------------
  var fall = document.getElementById("waterfall");
  function drawWaterfall() {
    if (!fall) { return; }
    var component = document.getElementById("waterfall-component").value;
    var count = document.getElementById("waterfall-count").value;
    var note = document.getElementById("waterfall-note");
    note.textContent = "Loading…";
    P.getJSON(fall.dataset.url + "?component=" + encodeURIComponent(component) + "&n=" + count).then(function (body) {
      var c = sizeCanvas(fall, 300), ctx = c.ctx;
      if (!body.rows.length) { note.textContent = "No stored burst of the " + body.component_label + " yet."; return; }
      var left = 8, right = 150, bottom = 24, depth = 0.55;
      var plotW = c.width - left - right, rows = body.rows.length;
      var step = (c.height - bottom - 20) * depth / Math.max(1, rows - 1), rowH = (c.height - bottom - 20) * (1 - depth);
      var peak = 0;
      body.rows.forEach(function (row) { row.amplitude_m_s2.forEach(function (a) { peak = Math.max(peak, a); }); });
      var zone = window.ironwatchTime ? window.ironwatchTime.zoneFor(fall) : "UTC";
      // Oldest at the back (top), newest in front (bottom); each row hides what lies behind it.
      body.rows.forEach(function (row, r) {
        var base = 20 + rowH + r * step, shift = (rows - 1 - r) * 6;
        ctx.beginPath(); ctx.moveTo(left + shift, base);
        row.freqs_hz.forEach(function (f, i) {
          ctx.lineTo(left + shift + f / body.max_hz * plotW, base - (peak ? row.amplitude_m_s2[i] / peak : 0) * rowH);
        });
        ctx.lineTo(left + shift + plotW, base); ctx.closePath();
        ctx.fillStyle = "rgba(255,255,255,.92)"; ctx.fill();
        ctx.strokeStyle = r === rows - 1 ? "#c5221f" : "#14213d"; ctx.lineWidth = r === rows - 1 ? 1.4 : 0.8; ctx.stroke();
        ctx.fillStyle = "#667085"; ctx.font = "10.5px system-ui";
        var label = window.ironwatchTime ? window.ironwatchTime.format(new Date(row.time), zone) : row.time;
        ctx.fillText(label.slice(5), left + shift + plotW + 6, base);
      });
      ctx.fillStyle = "#667085"; ctx.font = "11px system-ui";
      for (var k = 0; k <= 4; k++) { ctx.fillText(Math.round(body.max_hz * k / 4) + " Hz", left + plotW * k / 4 - (k ? 18 : 0), c.height - 6); }
      note.textContent = body.rows.length + " spectra of the " + body.component_label + " sensor, 0–" + body.max_hz +
        " Hz, newest in front (red); times in " + zone + "." + (body.skipped ? " " + body.skipped + " older burst(s) past the raw retention." : "");
      fall.dataset.rendered = String(body.rows.length);
    }).catch(function (error) { note.textContent = "Waterfall unavailable: " + error.message; });
  }
  if (fall) {
    drawWaterfall();
    document.getElementById("waterfall-component").addEventListener("change", drawWaterfall);
    document.getElementById("waterfall-count").addEventListener("change", drawWaterfall);
  }
})();
