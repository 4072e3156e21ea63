/* Live redraw of the work-order board and the dispatch board.
 *
 * live.js re-dispatches every Socket.IO event as a DOM event "ironwatch:<name>". When a work order
 * changes ("work_order", "work_order_reassigned"; the server only sends those of the tenants this
 * user may see) or a week's dispatch proposal is stored again ("dispatch_proposal", after a lock), this script fetches the same page again (same filters, same sort) and swaps in the
 * parts marked data-live-region, so cards move to their new column and the counts follow. While a
 * form inside a region is being filled in (focus inside, or an open <details> with a form), the
 * swap waits until it is closed, so nobody loses what they were typing. Cards of the orders that
 * changed flash once. Only this site's own page is fetched; its HTML is parsed by DOMParser, not run.
 */
(function () {
  "use strict";
  var regions = document.querySelectorAll("[data-live-region]");
  if (!regions.length) { return; }
  var timer = null, pending = false, changed = {};

  function busy() {
    var active = document.activeElement;
    for (var i = 0; i < regions.length; i++) {
      if (active && active !== document.body && regions[i].contains(active) && active.form) { return true; }
      if (regions[i].querySelector("details[open] form")) { return true; }
    }
    var panel = document.getElementById("actions");
    return !!(panel && panel.contains(active) && active.form);
  }

  function redraw() {
    timer = null;
    if (busy()) { pending = true; return; }
    pending = false;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        regions.forEach(function (region) {
          var name = region.getAttribute("data-live-region");
          var replacement = fresh.querySelector('[data-live-region="' + name + '"]');
          if (replacement) { region.replaceWith(replacement); }
        });
        regions = document.querySelectorAll("[data-live-region]");
        Object.keys(changed).forEach(function (id) {
          document.querySelectorAll('.board-card[data-work-order="' + id + '"], .dispatch-job[data-work-order="' + id + '"]')
            .forEach(function (card) { card.classList.add("live-changed"); });
        });
        changed = {};
        if (window.ironwatchTime) { regions.forEach(function (r) { window.ironwatchTime.localise(r); }); }
        document.body.dataset.liveRedraws = String(Number(document.body.dataset.liveRedraws || 0) + 1);
        whileReplanning();
      })
      .catch(function () { pending = true; });
  }

  function schedule(event) {
    var p = (event && event.detail) || {};
    if (p.id !== undefined) { changed[p.id] = true; }
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(redraw, 400);  // a burst of events (a whole proposal accepted) redraws once
  }

  // The board says "re-planning" while a lock's re-plan runs in the background: its live event may
  // have gone out before this page's socket connected, so look again every 2 s until it is stored.
  function whileReplanning() {
    if (document.getElementById("replanning")) { setTimeout(function () { schedule(); }, 2000); }
  }
  whileReplanning();

  document.addEventListener("ironwatch:work_order", schedule);
  document.addEventListener("ironwatch:work_order_reassigned", schedule);
  // A week re-planned off the request (after a lock on the dispatch board): the new plan is stored.
  document.addEventListener("ironwatch:dispatch_proposal", schedule);
  // A form closed or left: apply what arrived meanwhile.
  document.addEventListener("toggle", function () { if (pending) { schedule(); } }, true);
  document.addEventListener("focusout", function () { if (pending) { setTimeout(function () { if (pending) { schedule(); } }, 50); } });
})();
