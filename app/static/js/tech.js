/* Technician page: when one of this technician's orders changes (assigned, escalated, ...),
 * say so and offer a reload; the list itself is rendered on the server. */
(function () {
  "use strict";
  var list = document.getElementById("tech-orders");
  if (!list) { return; }
  var me = list.dataset.technician;
  document.addEventListener("ironwatch:work_order", function (event) {
    var order = event.detail || {};
    if (!me || (order.technician !== me && order.proposed_technician !== me)) { return; }
    var bar = document.getElementById("live-notice");
    if (!bar) {
      bar = document.createElement("div");
      bar.id = "live-notice";
      bar.className = "flash-msg";
      list.parentNode.insertBefore(bar, list);
    }
    bar.textContent = (order.number || "A work order") + " was " + (order.change || "updated") + ". ";
    var reload = document.createElement("a");
    reload.href = window.location.pathname + window.location.search;
    reload.textContent = "Show it";
    bar.appendChild(reload);
  });
})();
