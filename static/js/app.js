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
  function csrfToken() {
    return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  }

  // Trix: images go to the server as they are added; the editor keeps only their URL.
  document.addEventListener("trix-file-accept", function (event) {
    if (!/^image\/(jpeg|png|gif|webp)$/.test(event.file.type)) {
      event.preventDefault();
      say("Only JPEG, PNG, GIF or WebP images can be added.");
    }
  });
  document.addEventListener("trix-attachment-add", function (event) {
    var attachment = event.attachment;
    if (!attachment.file) return;
    var body = new FormData();
    body.append("image", attachment.file);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", event.target.dataset.uploadUrl);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) attachment.setUploadProgress((e.loaded / e.total) * 100);
    });
    xhr.addEventListener("load", function () {
      var reply = {};
      try { reply = JSON.parse(xhr.responseText); } catch (ignored) {}
      if (xhr.status === 201) {
        attachment.setAttributes({ url: reply.url, href: reply.url });
      } else {
        attachment.remove();
        say(reply.error || (xhr.status === 413 ? "That image is too large." : "The image could not be uploaded."));
      }
    });
    xhr.send(body);
  });

  // Server-side notices (HX-Trigger: {"komet:notice": "..."}), e.g. a Window overlap warning.
  document.body.addEventListener("komet:notice", function (event) { say(event.detail.value); });
  document.addEventListener("htmx:sendError", function () {
    say("The server could not be reached. Check your connection and try again.");
  });

  // Shop messages: native <dialog>s. The Window is modal (focus moves in, Esc closes, focus
  // returns); pop-ups stack at the lower right. Closing one in any way records the read.
  function setUpMessages(root) {
    var dialogs = root.querySelectorAll("dialog.message");
    dialogs.forEach(function (dialog) {
      dialog.addEventListener("close", function () {
        if (dialog.dataset.read || !dialog.dataset.readUrl) return;  // no URL: a staff preview
        dialog.dataset.read = "1";
        htmx.ajax("POST", dialog.dataset.readUrl, { source: dialog, swap: "none" });
      });
      dialog.querySelector("form.close-message").addEventListener("submit", function (event) {
        event.preventDefault();
        dialog.close();
      });
      dialog.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && !dialog.matches(":modal")) dialog.close();
      });
    });
    root.querySelectorAll("[data-open-message]").forEach(function (button) {
      button.addEventListener("click", function () {
        var dialog = document.getElementById(button.dataset.openMessage);
        delete dialog.dataset.read;
        dialog.dataset.kind === "window" ? dialog.showModal() : dialog.show();
        dialog.querySelector("button.close").focus();
      });
    });
    var auto = Array.prototype.filter.call(dialogs, function (d) { return d.hasAttribute("data-auto"); });
    auto.forEach(function (d) { if (d.dataset.kind === "popup") d.show(); });
    var window_ = auto.filter(function (d) { return d.dataset.kind === "window"; })[0];
    if (window_) window_.showModal();
    else if (auto.length) auto[0].querySelector("button.close").focus();
  }
  document.addEventListener("DOMContentLoaded", function () {
    var region = document.getElementById("shop-messages");
    if (region) setUpMessages(region);
  });
  document.addEventListener("htmx:load", function (event) {
    if (event.detail.elt.id === "shop-messages" && document.readyState === "complete") setUpMessages(event.detail.elt);
  });
})();
