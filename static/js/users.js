// E-commerce users (issue #10): the "already uses Komet" dialog (the picker is static/js/picker.js).
(function () {
  // A dialog the server sends open (data-auto-modal): modal, focus inside, Esc or Cancel
  // closes it and focus goes back to the button that submitted the form.
  function openDialogs(root) {
    root.querySelectorAll("dialog[data-auto-modal]").forEach(function (dialog) {
      if (dialog.open) return;
      dialog.showModal();
      var returnTo = document.querySelector(dialog.dataset.returnFocus || "");
      dialog.addEventListener("close", function () { if (returnTo) returnTo.focus(); });
      dialog.querySelectorAll("[data-close-dialog]").forEach(function (button) {
        button.addEventListener("click", function () { dialog.close(); });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { openDialogs(document); });
  document.addEventListener("htmx:load", function (event) { openDialogs(event.detail.elt); });
})();
