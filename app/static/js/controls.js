/* Small controls shared by the console and portal pages.
 *   details[data-fold-on-phone]: open on a wide screen, folded on a phone (its summary says what
 *     is inside, e.g. which filters are on), so the page's main content starts near the top.
 *     Without this script it stays open, as the HTML says.
 *   button[data-copy-from="<id>"]: copies the text of that element (a client secret) in one tap,
 *     and says so on the button; where the clipboard API is refused (plain http off localhost) it
 *     selects the text and asks the browser to copy it. */
(function () {
  "use strict";
  var phone = window.matchMedia("(max-width: 760px)");
  var folds = document.querySelectorAll("details[data-fold-on-phone]");
  function fit() { folds.forEach(function (fold) { fold.open = !phone.matches; }); }
  if (folds.length) {
    if (phone.addEventListener) { phone.addEventListener("change", fit); } else { phone.addListener(fit); }
    fit();
  }

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copyBySelection(element) {
    selectText(element);
    return document.execCommand && document.execCommand("copy") ? Promise.resolve() : Promise.reject();
  }

  document.querySelectorAll("button[data-copy-from]").forEach(function (button) {
    var source = document.getElementById(button.dataset.copyFrom);
    if (!source) { return; }
    var label = button.textContent;
    button.addEventListener("click", function () {
      var text = source.textContent.trim();
      var copying = navigator.clipboard && window.isSecureContext
        ? navigator.clipboard.writeText(text).catch(function () { return copyBySelection(source); })
        : copyBySelection(source);
      copying.then(function () {
        button.textContent = "Copied";
        button.dataset.copied = "yes";
      }, function () {
        selectText(source);  // the browser would not copy: leave it selected for the user's own copy
        button.textContent = "Selected: copy it";
      }).then(function () {
        window.setTimeout(function () { button.textContent = label; delete button.dataset.copied; }, 4000);
      });
    });
  });
})();
