// Small glue for htmx: tell the user when a request fails instead of failing silently.
(function () {
  var messages = {
    400: "This form has expired. Reload the page and try again.",
    403: "You don't have permission to do that.",
    404: "That item no longer exists, or belongs to another company.",
    409: "Someone else changed this first. Reload to see the latest.",
    429: "Too many attempts. Wait a minute and try again.",
  };
  // For the page, at once (this file is deferred: the page is parsed, and it runs before htmx,
  // which may still be on its way from the CDN, or never come), and for every fragment htmx
  // swaps in later (htmx.onLoad's event, whose first one is for the page itself).
  function onLoad(setUp) {
    setUp(document.body);
    document.addEventListener("htmx:load", function (event) {
      if (event.detail.elt !== document.body) setUp(event.detail.elt);
    });
  }

  // The rich-text editor (Trix, about 50 KB) loads only where one is shown: New Message, or an
  // inline Edit row swapped into Message History. Its stylesheet first (so the toolbar never
  // shows unstyled), then its script: the pinned CDN file, else the app's copy with the same
  // integrity hash. Once Trix is defined the browser upgrades every <trix-editor> by itself.
  var editorFiles = JSON.parse(document.currentScript.getAttribute("data-editor"));
  var editorRequested = false;
  function loadEditor() {
    if (editorRequested || window.customElements.get("trix-editor")) return;
    editorRequested = true;
    (function load(index) {
      var file = editorFiles[index];  // [CDN URL, integrity, the app's copy]
      if (!file) return;
      (function add(url, fallback) {
        var stylesheet = /\.css$/.test(url);
        var tag = document.createElement(stylesheet ? "link" : "script");
        if (stylesheet) { tag.rel = "stylesheet"; tag.href = url; } else tag.src = url;
        tag.integrity = file[1];
        tag.crossOrigin = "anonymous";
        tag.addEventListener("load", function () { load(index + 1); });
        tag.addEventListener("error", function () {
          tag.remove();
          if (fallback) add(fallback); else load(index + 1);
        });
        document.head.appendChild(tag);
      })(file[0], file[2]);
    })(0);
  }
  onLoad(function (root) { if (root.querySelector("trix-editor")) loadEditor(); });
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
    setTimeout(function () { describeImages(event.target); });  // once the editor holds it
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
        // No href: buyers get the picture, not a link to it. alt starts empty (decorative)
        // until staff describe it below the editor.
        attachment.setAttributes({ url: reply.url, alt: attachment.getAttribute("alt") || "" });
        describeImages(event.target);
      } else {
        attachment.remove();
        say(reply.error || (xhr.status === 413 ? "That image is too large." : "The image could not be uploaded."));
      }
    });
    xhr.send(body);
  });

  // Below the editor, one labelled field per image for its description (its alt text).
  function describeImages(trixEditor) {
    var panel = document.getElementById(trixEditor.id + "-images");
    if (!panel || !trixEditor.editor) return;
    var images = trixEditor.editor.getDocument().getAttachments().filter(function (attachment) {
      return /^image/.test(attachment.getContentType() || "");
    });
    var list = panel.querySelector("ol");
    list.textContent = "";
    images.forEach(function (attachment, index) {
      var id = trixEditor.id + "-alt-" + attachment.id;
      var item = document.createElement("li");
      if (attachment.getURL()) {
        var thumb = document.createElement("img");
        thumb.src = attachment.getURL();
        thumb.alt = "";
        item.appendChild(thumb);
      }
      var label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = "Description of image " + (index + 1);
      var input = document.createElement("input");
      input.id = id;
      input.type = "text";
      input.maxLength = 250;
      input.value = attachment.getAttribute("alt") || "";
      input.addEventListener("input", function () { attachment.setAttributes({ alt: input.value }); });
      item.append(label, input);
      list.appendChild(item);
    });
    panel.hidden = images.length === 0;
  }
  ["trix-initialize", "trix-attachment-remove"].forEach(function (name) {
    document.addEventListener(name, function (event) { describeImages(event.target); });
  });

  // Server-side notices (HX-Trigger: {"komet:notice": "..."}), e.g. a Window overlap warning.
  document.body.addEventListener("komet:notice", function (event) { say(event.detail.value); });
  document.addEventListener("htmx:sendError", function () {
    say("The server could not be reached. Check your connection and try again.");
  });

  // Times are typed in the company's zone: the help under each one says which abbreviation
  // applies on that date (EST in winter, EDT in summer), as the server did for the saved value.
  function zoneAbbreviation(value, zone) {
    var noon = new Date(value.slice(0, 10) + "T12:00:00Z");
    if (isNaN(noon)) return null;
    var parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "short" }).formatToParts(noon);
    var name = parts.filter(function (part) { return part.type === "timeZoneName"; })[0];
    return name ? name.value : null;
  }
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.dataset || !input.dataset.tz) return;
    var help = document.getElementById(input.id + "-help");
    var abbreviation = input.value && zoneAbbreviation(input.value, input.dataset.tz);
    if (help && abbreviation) help.textContent = input.dataset.tz + " time (" + abbreviation + ")";
  });

  // While Publish now is ticked, Publish On is not used: disable it and say why.
  function syncPublishNow(box) {
    var target = document.getElementById(box.getAttribute("aria-controls"));
    var help = target && document.getElementById(target.id + "-help");
    if (!target) return;
    target.disabled = box.checked;
    if (help) {
      if (!help.dataset.zoneText) help.dataset.zoneText = help.textContent;
      help.textContent = box.checked ? "Publish now is ticked: the message is published when you save."
                                     : help.dataset.zoneText;
    }
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-publish-now]")) syncPublishNow(event.target);
  });
  onLoad(function (root) { root.querySelectorAll("[data-publish-now]").forEach(syncPublishNow); });

  // The pop-up stack stays below the header, however many lines the header wraps to. The
  // stack is shown once this is known (static/css/app.css), before any message opens.
  function measureHeader() {
    var header = document.querySelector("body > header");
    var root = document.documentElement;
    if (header) root.style.setProperty("--header-bottom", Math.max(0, header.getBoundingClientRect().bottom) + "px");
    root.classList.add("header-measured");
  }
  window.addEventListener("resize", measureHeader);
  onLoad(measureHeader);

  // Shop messages are native <dialog>s; <form method="dialog"> closes one and htmx posts the
  // read on its `close` event. What is left here: open the first Window (modal) and announce
  // the newest pop-ups, which come open at the lower right, let Esc close a pop-up too (only a
  // modal dialog closes on Esc by itself), and open any of them again from the Messages menu.
  // A pop-up that arrives by itself is announced and does not take the focus (someone may be
  // typing a quantity); one the buyer opens does.
  // A message closed before htmx has started would not post its read (htmx listens for the
  // close): it is closed again for htmx once htmx has set the page up.
  var closedEarly = [];
  document.addEventListener("close", function (event) {
    if (typeof htmx === "undefined" && event.target.matches("dialog.message")) closedEarly.push(event.target);
  }, true);
  document.addEventListener("htmx:load", function (event) {
    if (event.detail.elt !== document.body) return;
    closedEarly.splice(0).forEach(function (dialog) { dialog.dispatchEvent(new Event("close")); });
  });
  onLoad(function (root) {
    var auto = root.querySelectorAll("dialog.message[data-auto]");
    var popups = [];
    auto.forEach(function (dialog) {
      if (dialog.dataset.kind === "window") dialog.showModal();
      else { dialog.setAttribute("open", ""); popups.push(dialog); }  // show() would move the focus
    });
    if (popups.length === 1) say("New message: " + popups[0].querySelector("h2").textContent);
    else if (popups.length > 1) say(popups.length + " new messages, at the lower right of the page.");
  });
  document.addEventListener("keydown", function (event) {
    var dialog = event.target.closest && event.target.closest("dialog.message[open]");
    if (event.key === "Escape" && dialog && !dialog.matches(":modal")) dialog.close();
  });
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open-message]");
    if (opener) {
      var dialog = document.getElementById(opener.dataset.openMessage);
      var menu = opener.closest("details");
      if (menu) menu.open = false;
      dialog.dataset.kind === "window" ? dialog.showModal() : dialog.show();
      dialog.querySelector("button.close").focus();
    }
    if (event.target.closest("[data-open-menu]")) {
      var messages = document.querySelector("#shop-messages .messages-menu");
      messages.open = true;
      messages.querySelector("summary").focus();
    }
  });
})();
