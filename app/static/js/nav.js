/* Top bar on a phone: the menu folds behind the button. Without this script the menu simply
 * stays open (the button says aria-expanded="true" in the HTML), so nothing is out of reach. */
(function () {
  "use strict";
  var button = document.querySelector(".nav-toggle");
  var menu = document.getElementById("topbar-menu");
  if (!button || !menu) { return; }
  var phone = window.matchMedia("(max-width: 760px)");
  function setOpen(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    menu.hidden = !open;
  }
  function fit() { setOpen(!phone.matches); }
  button.addEventListener("click", function () { setOpen(menu.hidden); });
  if (phone.addEventListener) { phone.addEventListener("change", fit); } else { phone.addListener(fit); }
  fit();
})();
