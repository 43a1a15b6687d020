// The console's only script: dialogs, the copy button, and forgetting a
// shown secret when its dialog closes. Pages work without it: every dialog
// button is also a link to a page, and secrets are plain text.
(function () {
  "use strict";

  // Show the copy buttons: they need JavaScript and the clipboard API.
  function reveal(root) {
    if (!navigator.clipboard) { return; }
    root.querySelectorAll("[data-copy][hidden]").forEach(function (b) { b.hidden = false; });
  }

  // Forget a secret once its dialog closes: it never shows again.
  function forgetOnClose(root) {
    root.querySelectorAll("dialog[data-secret]").forEach(function (d) {
      d.addEventListener("close", function () { d.remove(); }, { once: true });
    });
  }

  function ready(root) { reveal(root); forgetOnClose(root); }

  // A dialog's opener is a link to the same question as a page. The click
  // is caught on its way down (capture), before htmx, which boosts the
  // link, would load that page instead of opening the dialog.
  document.addEventListener("click", function (e) {
    var opener = e.target.closest("[data-dialog]");
    if (!opener) { return; }
    var dialog = document.getElementById(opener.getAttribute("data-dialog"));
    if (dialog && typeof dialog.showModal === "function") {
      e.preventDefault();
      e.stopPropagation();
      if (dialog.open) { dialog.close(); }
      dialog.showModal();
    }
  }, true);

  document.addEventListener("click", function (e) {
    var copy = e.target.closest("[data-copy]");
    if (copy) {
      var source = document.getElementById(copy.getAttribute("data-copy"));
      if (!source) { return; }
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        var label = copy.textContent;
        copy.textContent = copy.getAttribute("data-copied") || label;
        copy.setAttribute("data-done", "true");
        setTimeout(function () { copy.textContent = label; }, 2000);
      });
    }
  });

  document.addEventListener("DOMContentLoaded", function () { ready(document); });
  // htmx swaps in pages (hx-boost): prepare what it brought.
  document.addEventListener("htmx:load", function (e) { ready(e.target); });
})();
