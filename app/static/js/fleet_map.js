/* Fleet map: Leaflet (vendored from npm) on an offline basemap, markers coloured by status.
 *
 * The basemap is Natural Earth land and country borders (world-atlas TopoJSON, served by the app,
 * converted with topojson-client), so the map works on a site with no internet. An operator may
 * add street tiles with IRONWATCH_MAP_TILES_URL; they are drawn over the land when set.
 * Machines come from the tenant-scoped machines API; dense groups (a site's machines share its
 * position) cluster, and the cluster takes the colour of its worst machine.
 * Status changes arriving live (ironwatch:machine_status) recolour the marker in place. */
(function () {
  "use strict";
  var box = document.getElementById("fleet-map");
  if (!box || typeof L === "undefined") { return; }
  var note = document.getElementById("fleet-map-note");
  var RANK = { alarm: 4, warning: 3, watch: 2, ok: 1, unknown: 0 };
  var WORDS = { alarm: "alarm", warning: "warning", watch: "watch", ok: "healthy", unknown: "not diagnosed yet" };

  var map = L.map(box, { preferCanvas: true, worldCopyJump: true, minZoom: 2, maxZoom: 18,
                         zoomSnap: 0.5, attributionControl: true });
  map.attributionControl.setPrefix(false);
  map.setView([30, 0], 2);
  var renderer = L.canvas({ padding: 0.3 });

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error(url + ": HTTP " + r.status); }
      return r.json();
    });
  }

  // Offline basemap: land, then borders on top.
  Promise.all([getJSON(box.dataset.landUrl), getJSON(box.dataset.countriesUrl)]).then(function (atlas) {
    var land = topojson.feature(atlas[0], atlas[0].objects.land);
    var borders = topojson.mesh(atlas[1], atlas[1].objects.countries, function (a, b) { return a !== b; });
    L.geoJSON(land, { renderer: renderer, interactive: false,
                      style: { stroke: false, fillColor: "#f4f1ea", fillOpacity: 1 } }).addTo(map);
    L.geoJSON(borders, { renderer: renderer, interactive: false,
                         style: { color: "#a3a9b5", weight: 0.8, fill: false } }).addTo(map);
    map.attributionControl.addAttribution("Natural Earth");
    box.dataset.basemap = "ready";
  }).catch(function (error) { if (note) { note.textContent = "Basemap unavailable: " + error.message; } });

  if (box.dataset.tilesUrl) {
    L.tileLayer(box.dataset.tilesUrl, { maxZoom: 19, attribution: box.dataset.tilesAttribution || "" }).addTo(map);
  }

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
