// Copy link: copies the invite link and says "Copied" in a polite live region, so keyboard
// and screen-reader users hear that it worked. Without the clipboard API the text is selected.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var input = document.querySelector(button.getAttribute("data-copy"));
  var status = document.querySelector(button.getAttribute("data-copied"));
  function done(text) { status.textContent = ""; window.setTimeout(function () { status.textContent = text; }, 50); }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(function () { done("Copied"); },
      function () { input.select(); done("Press Ctrl+C to copy"); });
  } else {
    input.select();
    done(document.execCommand && document.execCommand("copy") ? "Copied" : "Press Ctrl+C to copy");
  }
});

// Approve selected / Reject selected: "Select all on this page" ticks every request's box, and
// stays ticked only while all are; a live region says how many are selected. Without this
// script the server reads "Select all on this page" itself.
function bulkBoxes() { return document.querySelectorAll('input[name="selected"][form="bulk-form"]'); }
function bulkCount() {
  var status = document.getElementById("bulk-count");
  var all = document.querySelector("[data-select-all]");
  if (!status || !all) return;
  var boxes = bulkBoxes(), ticked = 0;
  boxes.forEach(function (box) { if (box.checked) ticked += 1; });
  all.checked = boxes.length > 0 && ticked === boxes.length;
  all.indeterminate = ticked > 0 && ticked < boxes.length;
  status.textContent = ticked ? ticked + " selected" : "";
}
document.addEventListener("change", function (event) {
  if (event.target.matches("[data-select-all]")) {
    bulkBoxes().forEach(function (box) { box.checked = event.target.checked; });
  }
  if (event.target.matches("[data-select-all], input[name='selected'][form='bulk-form']")) bulkCount();
});
// Enter on a request's box would submit the form: a tick is not a decision.
document.addEventListener("keydown", function (event) {
  if (event.key === "Enter" && event.target.matches("input[type='checkbox'][form='bulk-form'], #bulk-form input[type='checkbox']")) {
    event.preventDefault();
  }
});
document.addEventListener("htmx:afterSettle", bulkCount);
document.addEventListener("DOMContentLoaded", bulkCount);
