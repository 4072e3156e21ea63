/* The work-order board on a phone: one state column at a time, chosen in the picker above it
 * (nav.board-states, with each state's count; the CSS hides the picker on wider screens).
 *
 * Without script each state is a link (?state=...) and the server marks the chosen column. With
 * it, a tap switches columns in place and writes the state into the address (replaceState), so
 * board_live.js, which fetches this same address to redraw, keeps showing the chosen column, and
 * a reload or the back button returns to it. Listens on the document because a live redraw
 * replaces the picker and the columns.
 */
(function () {
  "use strict";
  function show(state) {
    document.querySelectorAll("[data-board-state]").forEach(function (chip) {
      var on = chip.getAttribute("data-board-state") === state;
      chip.classList.toggle("active", on);
      if (on) { chip.setAttribute("aria-current", "true"); } else { chip.removeAttribute("aria-current"); }
    });
    document.querySelectorAll(".board-column[data-state]").forEach(function (column) {
      column.classList.toggle("chosen", column.getAttribute("data-state") === state);
    });
    var url = new URL(window.location.href);
    url.searchParams.set("state", state);
    window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
  }

  document.addEventListener("click", function (event) {
    var chip = event.target.closest ? event.target.closest("[data-board-state]") : null;
    if (!chip || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) { return; }
    event.preventDefault();
    show(chip.getAttribute("data-board-state"));
  });

  // A phone that opened the board without ?state= pins the column the server chose, so a live
  // redraw does not jump to another one when the last order of this column moves away.
  var picker = document.querySelector(".board-states");
  var active = document.querySelector("[data-board-state].active");
  if (picker && active && picker.offsetParent !== null && !new URL(window.location.href).searchParams.has("state")) {
    show(active.getAttribute("data-board-state"));
  }
})();
