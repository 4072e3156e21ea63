/* Fleet page: keep the status counters in step with the rows that live.js updates. */
(function () {
  "use strict";
  var STATUSES = ["alarm", "warning", "watch", "ok"];
  function recount() {
    var counts = {};
    document.querySelectorAll("#fleet-table tbody tr").forEach(function (row) {
      counts[row.dataset.status] = (counts[row.dataset.status] || 0) + 1;
    });
    STATUSES.forEach(function (status) {
      var node = document.getElementById("kpi-" + status);
      if (node) { node.textContent = counts[status] || 0; }
    });
    var orders = 0;
    document.querySelectorAll('#fleet-table [data-field="open_work_orders"]').forEach(function (cell) {
      orders += parseInt(cell.textContent, 10) || 0;
    });
    var total = document.getElementById("kpi-orders");
    if (total) { total.textContent = orders; }
  }
  document.addEventListener("ironwatch:machine_status", function () { window.setTimeout(recount, 0); });
})();
