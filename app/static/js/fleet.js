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
  // Client-side filter: free text over the row's text, and a status chip. Re-applied after live
  // updates, since a machine may move into or out of the chosen status.
  var search = document.getElementById("fleet-search");
  var shown = document.getElementById("fleet-shown");
  var statusFilter = "all";
  function matchesStatus(status) {
    if (statusFilter === "all") { return true; }
    if (statusFilter === "attention") { return status === "alarm" || status === "warning"; }
    return status === statusFilter;
  }
  function applyFilter() {
    var words = (search ? search.value : "").toLowerCase().split(/\s+/).filter(Boolean);
    var rows = document.querySelectorAll("#fleet-table tbody tr");
    var visible = 0;
    rows.forEach(function (row) {
      var text = row.textContent.toLowerCase();
      var keep = matchesStatus(row.dataset.status) && words.every(function (w) { return text.indexOf(w) >= 0; });
      row.classList.toggle("filtered-out", !keep);
      if (keep) { visible += 1; }
    });
    if (shown) { shown.textContent = visible === rows.length ? "" : visible + " of " + rows.length + " shown"; }
  }
  if (search) { search.addEventListener("input", applyFilter); }
  document.querySelectorAll("[data-status-filter]").forEach(function (chip) {
    chip.addEventListener("click", function () {
      statusFilter = chip.dataset.statusFilter;
      document.querySelectorAll("[data-status-filter]").forEach(function (c) { c.classList.toggle("active", c === chip); });
      applyFilter();
    });
  });
  document.addEventListener("ironwatch:machine_status", function () { window.setTimeout(function () { recount(); applyFilter(); }, 0); });
})();
