/* Fleet map: Leaflet (vendored from npm) on an offline basemap, markers coloured by status.
 *
 * The basemap is js/basemap.js: Natural Earth land and borders served by the app (works with no
 * internet), street tiles only when IRONWATCH_MAP_TILES_URL is set.
 * Machines come from the tenant-scoped machines API; dense groups (a site's machines share its
 * position) cluster, and the cluster takes the colour of its worst machine.
 * Status changes arriving live (ironwatch:machine_status) recolour the marker in place. */
(function () {
  "use strict";
  var box = document.getElementById("fleet-map");
  if (!box || typeof L === "undefined" || !window.IronwatchMap) { return; }
  var note = document.getElementById("fleet-map-note");
  var RANK = { alarm: 4, warning: 3, watch: 2, ok: 1, unknown: 0 };
  var WORDS = { alarm: "alarm", warning: "warning", watch: "watch", ok: "healthy", unknown: "not diagnosed yet" };

  var map = L.map(box, { preferCanvas: true, worldCopyJump: true, minZoom: 2, maxZoom: 18,
                         zoomSnap: 0.5, attributionControl: true });
  map.attributionControl.setPrefix(false);
  map.setView([30, 0], 2);
  var getJSON = window.IronwatchMap.getJSON;
  window.IronwatchMap.addBasemap(map, box, note);

  function icon(status) {
    return L.divIcon({ className: "map-marker " + status, iconSize: [16, 16], iconAnchor: [8, 8] });
  }

  var markers = {};
  var cluster = L.markerClusterGroup({
    maxClusterRadius: 40, showCoverageOnHover: false, spiderfyOnMaxZoom: true,
    iconCreateFunction: function (group) {
      var worst = "unknown";
      group.getAllChildMarkers().forEach(function (m) {
        if (RANK[m.options.status] > RANK[worst]) { worst = m.options.status; }
      });
      return L.divIcon({ html: "<span>" + group.getChildCount() + "</span>", className: "map-cluster " + worst,
                         iconSize: [34, 34] });
    }
  });
  map.addLayer(cluster);

  function popup(machine) {
    var wrap = document.createElement("div");
    var link = document.createElement(box.dataset.machineLink ? "a" : "strong");
    link.textContent = machine.uid;
    if (box.dataset.machineLink) { link.href = box.dataset.machineLink + encodeURIComponent(machine.uid); }
    wrap.appendChild(link);
    wrap.appendChild(document.createTextNode(" · " + (machine.model || machine.kind || "")));
    var line = document.createElement("div");
    line.textContent = WORDS[machine.status] + (machine.site ? " · " + machine.site : "") +
      (machine.open_work_orders ? " · " + machine.open_work_orders + " open work order(s)" : "");
    wrap.appendChild(line);
    return wrap;
  }

  getJSON(box.dataset.machinesUrl).then(function (body) {
    var placed = [];
    var missing = 0;
    (body.machines || []).forEach(function (machine) {
      if (machine.lat === null || machine.lon === null || machine.lat === undefined) { missing += 1; return; }
      var status = RANK[machine.status] !== undefined ? machine.status : "unknown";
      var marker = L.marker([machine.lat, machine.lon], { icon: icon(status), status: status,
                                                          title: machine.uid + " (" + WORDS[status] + ")",
                                                          alt: machine.uid, keyboard: true });
      marker.bindPopup(popup(machine));
      markers[machine.uid] = marker;
      placed.push([machine.lat, machine.lon]);
      cluster.addLayer(marker);
    });
    if (placed.length) { map.fitBounds(placed, { padding: [30, 30], maxZoom: 9 }); }
    box.dataset.machines = String(placed.length);
    if (note) {
      note.textContent = placed.length + " machine" + (placed.length === 1 ? "" : "s") + " on the map" +
        (missing ? ", " + missing + " without a position" : "");
    }
  }).catch(function (error) { if (note) { note.textContent = "Machines unavailable: " + error.message; } });

  document.addEventListener("ironwatch:machine_status", function (event) {
    var p = event.detail || {};
    var marker = markers[p.machine];
    if (!marker || !p.status || RANK[p.status] === undefined) { return; }
    marker.options.status = p.status;
    marker.setIcon(icon(p.status));
    cluster.refreshClusters(marker);
  });
})();
