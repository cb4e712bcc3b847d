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
