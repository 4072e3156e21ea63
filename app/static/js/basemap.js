/* The offline basemap shared by the app's Leaflet maps (the fleet map, the geofence editor):
 * Natural Earth land and country borders (world-atlas TopoJSON served by the app, converted with
 * topojson-client), so a map works on a site with no internet; street tiles on top only when an
 * operator sets IRONWATCH_MAP_TILES_URL. `box` carries the data-* URLs; `note` shows a failure. */
(function () {
  "use strict";

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error(url + ": HTTP " + r.status); }
      return r.json();
    });
  }

  function addBasemap(map, box, note) {
    var renderer = L.canvas({ padding: 0.3 });
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
  }

  window.IronwatchMap = { getJSON: getJSON, addBasemap: addBasemap };
})();
