/* Geofence editor (site_security.html): the circle on the offline basemap (js/basemap.js), kept in
 * step with the form. Clicking the map moves the centre and fills in the coordinates; typing the
 * coordinates or the radius redraws the circle. The form is the truth: without scripts it still
 * works, and the server checks every field again. */
(function () {
  "use strict";
  var box = document.getElementById("fence-map");
  if (!box || typeof L === "undefined" || !window.IronwatchMap) { return; }
  var note = document.getElementById("fence-map-note");
  var lat = document.getElementById("fence-lat");
  var lon = document.getElementById("fence-lon");
  var radius = document.getElementById("fence-radius");
  var enabled = document.getElementById("fence-enabled");
  var site = [parseFloat(box.dataset.siteLat), parseFloat(box.dataset.siteLon)];

  var map = L.map(box, { worldCopyJump: true, minZoom: 2, maxZoom: 18, zoomSnap: 0.5 });
  map.attributionControl.setPrefix(false);
  window.IronwatchMap.addBasemap(map, box, note);

  L.circleMarker(site, { radius: 5, color: "#1f2a44", weight: 2, fillColor: "#fff", fillOpacity: 1 })
    .bindTooltip("Site location").addTo(map);
  var circle = L.circle(site, { radius: 500, color: "#c0392b", weight: 2, fillColor: "#c0392b", fillOpacity: 0.12 })
    .addTo(map);
  var centre = L.circleMarker(site, { radius: 6, color: "#c0392b", weight: 2, fillColor: "#c0392b", fillOpacity: 1 })
    .bindTooltip("Centre of the geofence").addTo(map);

  function current() {
    var la = parseFloat(lat.value), lo = parseFloat(lon.value), r = parseFloat(radius.value);
    var valid = isFinite(la) && isFinite(lo) && la >= -90 && la <= 90 && lo >= -180 && lo <= 180;
    return { centre: valid ? [la, lo] : null, radius: isFinite(r) && r > 0 ? r : null };
  }

  function redraw(fit) {
    var now = current();
    if (now.centre) { circle.setLatLng(now.centre); centre.setLatLng(now.centre); }
    if (now.radius) { circle.setRadius(now.radius); }
    circle.setStyle({ dashArray: enabled.checked ? null : "6 6", fillOpacity: enabled.checked ? 0.12 : 0.03 });
    box.dataset.radius = String(now.radius || "");
    box.dataset.centre = now.centre ? now.centre.join(",") : "";
    if (fit && now.centre && now.radius) { map.fitBounds(circle.getBounds(), { padding: [36, 36], maxZoom: 17 }); }
    else if (fit && now.centre) { map.setView(now.centre, 15); }  // a refused radius: show where the centre is
  }

  function moveTo(latlng) {
    lat.value = latlng.lat.toFixed(6);
    lon.value = L.Util.wrapNum(latlng.lng, [-180, 180], true).toFixed(6);
    redraw(false);
  }

  L.control.scale({ imperial: false }).addTo(map);

  // The site's machines at their last reported positions, so the circle can be drawn around them
  // (the offline basemap has no streets at this scale). Not clickable: a click moves the centre.
  window.IronwatchMap.getJSON(box.dataset.machinesUrl).then(function (body) {
    var shown = 0;
    (body.machines || []).forEach(function (m) {
      if (m.site !== box.dataset.siteName || m.lat === null || m.lon === null || m.lat === undefined) { return; }
      L.marker([m.lat, m.lon], { icon: L.divIcon({ className: "map-marker " + (m.status || "unknown"),
                                                   iconSize: [14, 14], iconAnchor: [7, 7] }),
                                 interactive: false, keyboard: false, title: m.uid }).addTo(map);
      shown += 1;
    });
    box.dataset.machines = String(shown);
  }).catch(function (error) { if (note) { note.textContent = "Machines unavailable: " + error.message; } });

  map.on("click", function (event) { moveTo(event.latlng); });
  [lat, lon, radius].forEach(function (input) { input.addEventListener("input", function () { redraw(false); }); });
  [lat, lon, radius].forEach(function (input) { input.addEventListener("change", function () { redraw(true); }); });
  enabled.addEventListener("change", function () { redraw(false); });
  document.getElementById("fence-to-site").addEventListener("click", function () {
    moveTo(L.latLng(site[0], site[1]));
    redraw(true);
  });
  map.setView(site, 15);
  redraw(true);
  box.dataset.ready = "true";
})();
