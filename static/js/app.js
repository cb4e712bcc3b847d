// Small glue for htmx: tell the user when a request fails instead of failing silently.
(function () {
  var messages = {
    400: "This form has expired. Reload the page and try again.",
    403: "You don't have permission to do that.",
    404: "That item no longer exists, or belongs to another company.",
    409: "Someone else changed this first. Reload to see the latest.",
    429: "Too many attempts. Wait a minute and try again.",
  };
  function say(text) {
    var box = document.getElementById("app-status");
    if (!box) return;
    box.textContent = text;
    clearTimeout(say.timer);
    say.timer = setTimeout(function () { box.textContent = ""; }, 8000);
  }
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    say(messages[status] || "Something went wrong (" + status + "). Please try again.");
  });
  // Server-side notices (HX-Trigger: {"komet:notice": "..."}), e.g. a Window overlap warning.
  document.body.addEventListener("komet:notice", function (event) { say(event.detail.value); });
  document.addEventListener("htmx:sendError", function () {
    say("The server could not be reached. Check your connection and try again.");
  });
})();
