/* The evidence picture in a viewer on the job page, instead of the bare PNG in a new tab (which
 * left the app, and on a phone had no way back but the browser's). A link with data-viewer="<id>"
 * opens the <dialog id="<id>">: the picture across the whole screen, + and - buttons (48 px, for
 * gloves), two-finger pinch and one-finger drag on the picture, a double tap to zoom in and back,
 * the + and - keys, and Close or Escape to go back to the job where it was. The picture comes
 * through the service worker, which stores it with the job (cache first), so it opens with no
 * signal too; when it is not on the phone the viewer says so. */
(function () {
  "use strict";
  var ZOOMS = [1, 1.5, 2, 3, 4];  // 1: the whole picture fits the screen

  function setUp(link) {
    var dialog = document.getElementById(link.dataset.viewer);
    if (!dialog || typeof dialog.showModal !== "function") { return; }  // the plain link then
    var frame = dialog.querySelector(".viewer-frame");
    var picture = dialog.querySelector(".viewer-picture");
    var scaleText = dialog.querySelector(".viewer-scale");
    var missing = dialog.querySelector(".viewer-missing");
    var zoom = 1;

    /* The picture's width at "whole picture" (contained in the frame), in CSS px. */
    function fitWidth() {
      if (!picture.naturalWidth) { return frame.clientWidth; }
      var aspect = picture.naturalWidth / picture.naturalHeight;
      return Math.min(frame.clientWidth, frame.clientHeight * aspect);
    }

    /* Zoom to `next`, keeping the point under (x, y) of the frame (its centre by default) still. */
    function setZoom(next, x, y) {
      next = Math.max(ZOOMS[0], Math.min(ZOOMS[ZOOMS.length - 1], next));
      x = x === undefined ? frame.clientWidth / 2 : x;
      y = y === undefined ? frame.clientHeight / 2 : y;
      var fx = (frame.scrollLeft + x) / Math.max(1, frame.scrollWidth);
      var fy = (frame.scrollTop + y) / Math.max(1, frame.scrollHeight);
      zoom = next;
      var fit = zoom <= 1.001;
      picture.classList.toggle("fit", fit);
      picture.style.width = fit ? "" : Math.round(fitWidth() * zoom) + "px";
      frame.scrollLeft = fx * frame.scrollWidth - x;
      frame.scrollTop = fy * frame.scrollHeight - y;
      scaleText.textContent = fit ? "Whole picture" : Math.round(zoom * 100) + " %";
      dialog.dataset.zoom = String(Math.round(zoom * 100) / 100);
    }

    function step(direction) {
      var larger = ZOOMS.filter(function (z) { return z > zoom + 0.01; });
      var smaller = ZOOMS.filter(function (z) { return z < zoom - 0.01; });
      setZoom(direction > 0 ? (larger[0] || zoom) : (smaller[smaller.length - 1] || 1));
    }

    function show() {
      missing.hidden = true;
      picture.hidden = false;
      if (dialog.dataset.picture === "missing") { picture.removeAttribute("src"); }  // try again
      if (!picture.getAttribute("src")) { dialog.dataset.picture = "loading"; picture.src = link.href; }
      dialog.showModal();
      document.documentElement.classList.add("viewer-open");  // the job behind stays where it was
      setZoom(1);
      dialog.querySelector(".viewer-close").focus();
      document.body.dataset.viewer = "open";
    }

    picture.addEventListener("load", function () { dialog.dataset.picture = "ready"; setZoom(zoom); });
    picture.addEventListener("error", function () {
      dialog.dataset.picture = "missing";
      picture.hidden = true;
      missing.hidden = false;
    });
    link.addEventListener("click", function (event) { event.preventDefault(); show(); });
    dialog.querySelector(".viewer-close").addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () {  // Close, Escape (the dialog's own cancel), or the back gesture
      document.documentElement.classList.remove("viewer-open");
      document.body.dataset.viewer = "closed";
      link.focus();
    });
    dialog.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () { step(parseInt(button.dataset.zoom, 10)); });
    });
    dialog.addEventListener("keydown", function (event) {
      if (event.key === "+" || event.key === "=") { step(1); event.preventDefault(); }
      if (event.key === "-") { step(-1); event.preventDefault(); }
    });
    window.addEventListener("resize", function () { if (dialog.open) { setZoom(zoom); } });
    followFingers(frame, function () { return zoom; }, setZoom);
  }

  /* Touch and pen on the frame: one finger drags the picture, two pinch it, a double tap zooms in
   * (or back to the whole picture). The frame has touch-action: none, so the page itself neither
   * scrolls nor zooms under the fingers. */
  function followFingers(frame, currentZoom, setZoom) {
    var points = {};
    var pinch = null, lastTap = 0;

    function spread() {
      var p = Object.keys(points).map(function (id) { return points[id]; });
      var box = frame.getBoundingClientRect();
      return { distance: Math.hypot(p[0].x - p[1].x, p[0].y - p[1].y),
               x: (p[0].x + p[1].x) / 2 - box.left, y: (p[0].y + p[1].y) / 2 - box.top };
    }

    frame.addEventListener("pointerdown", function (event) {
      if (event.pointerType === "mouse" && event.button !== 0) { return; }
      frame.setPointerCapture(event.pointerId);
      points[event.pointerId] = { x: event.clientX, y: event.clientY };
      var count = Object.keys(points).length;
      if (count === 2) { var s = spread(); pinch = { distance: s.distance, zoom: currentZoom() }; }
      if (count === 1 && event.pointerType !== "mouse") {
        if (event.timeStamp - lastTap < 300) {
          var box = frame.getBoundingClientRect();
          setZoom(currentZoom() > 1 ? 1 : 2, event.clientX - box.left, event.clientY - box.top);
          lastTap = 0;
        } else { lastTap = event.timeStamp; }
      }
    });
    frame.addEventListener("pointermove", function (event) {
      var before = points[event.pointerId];
      if (!before) { return; }
      var now = { x: event.clientX, y: event.clientY };
      points[event.pointerId] = now;
      if (pinch && Object.keys(points).length === 2) {
        var s = spread();
        if (pinch.distance > 0) { setZoom(pinch.zoom * s.distance / pinch.distance, s.x, s.y); }
      } else if (!pinch) {
        frame.scrollLeft -= now.x - before.x;
        frame.scrollTop -= now.y - before.y;
      }
    });
    function lift(event) {
      delete points[event.pointerId];
      if (Object.keys(points).length < 2) { pinch = null; }
    }
    frame.addEventListener("pointerup", lift);
    frame.addEventListener("pointercancel", lift);
  }

  document.querySelectorAll("a[data-viewer]").forEach(setUp);
})();
