/* A job page: the small map, and the forms, which queue their action (queue.js) instead of posting,
 * so they work the same with or without signal. What the buttons offer follows the job's status
 * as it will be once the queued steps are sent (accept, then start, then finish, all offline).
 * A photo is shrunk on the phone (canvas, longest side 1280 px, JPEG) before it is queued. */
(function () {
  "use strict";
  var job = document.getElementById("job");
  if (!job) { return; }
  var orderId = parseInt(job.dataset.job, 10);
  var NEXT = { accept: ["assigned", "accepted"], decline: ["assigned", "open"], start: ["accepted", "in_progress"],
               hold: ["in_progress", "on_hold"], resume: ["on_hold", "in_progress"], complete: ["in_progress", "done"] };
  var WORDS = { open: "given back", assigned: "new for you", accepted: "accepted", in_progress: "working",
                on_hold: "paused", done: "completed", closed: "closed", cancelled: "cancelled" };
  var PHOTO_SIDE = 1280;
  var photoBlob = null;

  // --- map: the app's vendored Leaflet on the offline land outline, street tiles if configured
  var box = document.getElementById("job-map");
  if (box && typeof L !== "undefined") {
    var at = [parseFloat(box.dataset.lat), parseFloat(box.dataset.lon)];
    // on a touch screen one finger scrolls the page, not the map (a gloved swipe got stuck in it);
    // the map still zooms with two fingers and its buttons
    var map = L.map(box, { zoomControl: true, attributionControl: true, scrollWheelZoom: false,
                           dragging: !L.Browser.touch }).setView(at, 7);
    map.attributionControl.setPrefix(false);
    if (box.dataset.tilesUrl) { L.tileLayer(box.dataset.tilesUrl, { maxZoom: 18 }).addTo(map); }
    fetch(box.dataset.landUrl).then(function (r) { return r.json(); }).then(function (atlas) {
      L.geoJSON(topojson.feature(atlas, atlas.objects.land), { interactive: false,
        style: { stroke: true, color: "#6b7280", weight: 1, fillColor: "#f4f1ea", fillOpacity: 1 } })
        .addTo(map).bringToBack();  // it arrives after the marker and would cover the red dot
      map.attributionControl.addAttribution("Natural Earth");
      box.dataset.basemap = "ready";
    }).catch(function () { box.dataset.basemap = "missing"; });
    L.circleMarker(at, { radius: 11, color: "#111", weight: 3, fillColor: "#d92d20", fillOpacity: 1 })
      .addTo(map).bindTooltip(box.dataset.label, { permanent: true, direction: "top", offset: [0, -10] });
  }

  // --- what the buttons offer
  function effectiveStatus(entries) {
    var status = job.dataset.status;
    entries.filter(function (e) { return e.order_id === orderId && NEXT[e.action]; })
      .sort(function (a, b) { return a.seq - b.seq; })
      .forEach(function (e) { if (NEXT[e.action][0] === status) { status = NEXT[e.action][1]; } });
    return status;
  }

  function refresh() {
    IronQueue.pending().then(function (entries) {
      var status = effectiveStatus(entries);
      var waiting = entries.filter(function (e) { return e.order_id === orderId; }).length;
      var mine = job.dataset.mine === "yes";
      var shown = 0;
      document.querySelectorAll("#actions [data-when]").forEach(function (el) {
        var visible = mine && el.dataset.when === status;
        el.hidden = !visible;
        if (visible) { shown += 1; }
      });
      document.getElementById("no-actions").hidden = shown > 0;
      if (mine) {  // a job no longer mine keeps the server's words ("now Priya Raman's")
        document.getElementById("job-state").textContent = (WORDS[status] || status) + (waiting ? " (not sent yet)" : "");
      }
      job.dataset.effectiveStatus = status;
      var note = document.getElementById("pending-note");
      note.hidden = waiting === 0;
      note.textContent = waiting ? waiting + " step" + (waiting === 1 ? " is" : "s are") +
        " saved on this phone and will be sent when there is signal." : "";
    }, function () { /* the database is not reachable now (app.js says why): the buttons stay as they are */ });
  }

  // --- photo: shrink on the phone before queueing (a 12 MP photo would not fit a weak signal)
  // createImageBitmap decodes the file without an object URL (the CSP allows no blob: images)
  function shrink(file) {
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, PHOTO_SIDE / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      bitmap.close();
      return new Promise(function (resolve, reject) {
        canvas.toBlob(function (blob) { blob ? resolve(blob) : reject(new Error("could not encode")); },
                      "image/jpeg", 0.82);
      });
    }, function () { throw new Error("not a picture"); });
  }

  var photoInput = document.getElementById("photo");
  var preview = document.getElementById("photo-preview");
  // the photo as taken, small, on a canvas (the CSP allows no blob: images)
  var thumb = document.getElementById("photo-thumb");
  function showPhoto(blob) {
    photoBlob = blob;
    preview.textContent = "Photo ready (" + Math.round(blob.size / 1024) + " kB), sent with the job.";
    preview.dataset.ready = "yes";
    document.getElementById("photo-label").textContent = "Take the photo again";
    createImageBitmap(blob).then(function (bitmap) {
      var scale = Math.min(1, 320 / bitmap.width);
      thumb.width = Math.round(bitmap.width * scale);
      thumb.height = Math.round(bitmap.height * scale);
      thumb.getContext("2d").drawImage(bitmap, 0, 0, thumb.width, thumb.height);
      bitmap.close();
      thumb.hidden = false;
    }).catch(function () { thumb.hidden = true; });
  }
  if (photoInput) {
    photoInput.addEventListener("change", function () {
      var file = photoInput.files && photoInput.files[0];
      if (!file) { return; }
      preview.textContent = "Shrinking the photo…";
      shrink(file).then(function (blob) {
        showPhoto(blob);
        photoInput.form.dispatchEvent(new CustomEvent("ironwatch:photo"));  // into the draft
      }, function (error) {
        photoBlob = null;
        preview.textContent = "That photo could not be read (" + error.message + "). Take it again, or send without.";
      });
    });
  }

  // --- "was the predicted fault there?": another fault found brings that fault's code lists
  var found = document.getElementById("found_fault_mode");
  if (found) {
    var otherBox = document.getElementById("other-fault");
    var predicted = JSON.parse(found.dataset.predictedCodes);
    var others = {};
    JSON.parse(found.dataset.codes).forEach(function (f) { others[f.mode] = f.codes; });
    var LISTS = { problem_code: "problems", cause_code: "causes", remedy_code: "remedies" };

    var fillCodes = function (codes) {
      Object.keys(LISTS).forEach(function (id) {
        var select = document.getElementById(id);
        var keep = select.value;
        select.textContent = "";
        var first = document.createElement("option");
        first.value = ""; first.textContent = "Choose…";
        select.appendChild(first);
        Object.keys(codes[LISTS[id]]).forEach(function (code) {
          var option = document.createElement("option");
          var label = codes[LISTS[id]][code];
          option.value = code; option.textContent = label.charAt(0).toUpperCase() + label.slice(1);
          select.appendChild(option);
        });
        select.value = codes[LISTS[id]][keep] ? keep : "";
      });
    };
    var answer = function () {
      var checked = document.querySelector("input[name=fault_confirmed]:checked");
      return checked ? checked.value : "";
    };
    var onFaultAnswer = function () {
      var other = answer() === "other";
      otherBox.hidden = !other;
      found.required = other;
      if (!other) { found.value = ""; }
      fillCodes(other && others[found.value] ? others[found.value] : predicted);
      var problem = document.getElementById("problem_code");
      if (answer() === "no" && predicted.problems.no_fault_found) { problem.value = "no_fault_found"; }
      job.dataset.foundFault = other ? (found.value || "choose") : "";
    };
    document.querySelectorAll("input[name=fault_confirmed]").forEach(function (radio) {
      radio.addEventListener("change", onFaultAnswer);
    });
    found.addEventListener("change", onFaultAnswer);
    document.getElementById("complete-form").addEventListener("reset", function () {
      window.setTimeout(onFaultAnswer, 0);
    });
  }

  // --- forms queue their action
  function fieldsOf(form, action) {
    var data = new FormData(form);
    var fields = {};
    if (action === "complete") {
      var parts = [];
      data.forEach(function (value, key) {
        if (key.indexOf("part:") === 0) {
          var quantity = parseFloat(value);
          if (quantity > 0) { parts.push({ part_number: key.slice(5), quantity: quantity }); }
        } else if (key !== "photo" && key !== "extra_part" && key !== "extra_quantity") { fields[key] = value; }
      });
      var extra = data.get("extra_part"), many = parseFloat(data.get("extra_quantity"));
      if (extra && many > 0) {
        var same = parts.filter(function (p) { return p.part_number === extra; })[0];
        if (same) { same.quantity += many; } else { parts.push({ part_number: extra, quantity: many }); }
      }
      fields.parts_used = parts;
    } else if (action === "hold") {
      var details = (data.get("hold_details") || "").trim();
      fields.reason = data.get("hold_kind") + (details ? ": " + details : "");
    } else {
      data.forEach(function (value, key) { fields[key] = value; });
    }
    return fields;
  }

  // a job that is over, or gone to someone else, has no form to finish: drop its drafts
  var over = ["done", "closed", "cancelled"].indexOf(job.dataset.status) >= 0 || job.dataset.mine !== "yes";
  document.querySelectorAll("form.field-action").forEach(function (form) {
    form.noValidate = true;  // IronForms.explain says what to fix, in words that stay on screen
    if (over) {
      IronQueue.clearDraft(orderId, form.dataset.action).catch(function () {});
    } else {
      var hasPhoto = form.contains(photoInput);
      IronForms.keep(form, orderId, hasPhoto ? { get: function () { return photoBlob; }, set: showPhoto } : null);
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!IronForms.explain(form)) { return; }
      var action = form.dataset.action;
      var steps = [];
      if (action === "complete" && photoBlob) {
        steps.push(["photo", { caption: "taken on completion" }, photoBlob]);
      }
      steps.push([action, fieldsOf(form, action), null]);
      var chain = Promise.resolve();
      steps.forEach(function (step) {
        chain = chain.then(function () { return IronQueue.add(orderId, step[0], step[1], step[2]); });
      });
      chain.then(function () { return IronForms.forget(form, orderId); }).then(function () {
        if (action === "complete") {
          photoBlob = null; preview.textContent = "No photo yet."; delete preview.dataset.ready; thumb.hidden = true;
          document.getElementById("photo-label").textContent = "Take a photo";
        }
        form.reset();
        var details = form.closest("details");
        if (details) { details.open = false; }
        refresh();
        document.dispatchEvent(new CustomEvent("ironwatch:queued"));
      }, function () { /* not queued: the notice under the bars says to reload; the form keeps what was typed */ });
    });
  });

  // PM checklist ticks stay on the phone (per job) until the job is done
  document.querySelectorAll(".checklist input[data-task]").forEach(function (box) {
    var key = "ironwatch-task-" + orderId + "-" + box.dataset.task;
    box.checked = localStorage.getItem(key) === "1";
    box.addEventListener("change", function () { localStorage.setItem(key, box.checked ? "1" : "0"); });
  });

  document.addEventListener("ironwatch:queue", refresh);
  document.addEventListener("ironwatch:synced", function (event) {
    // the stored page is fresh now; show it if nothing of ours is still waiting
    if (event.detail.orders.indexOf(orderId) >= 0) {
      IronQueue.pending().then(function (entries) {
        if (!entries.some(function (e) { return e.order_id === orderId; })) { window.location.reload(); }
      });
    }
  });
  refresh();
})();
