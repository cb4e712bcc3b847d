// The one way the app asks before a change (issue #18): an accessible dialog, never window.confirm.
//
// Any submit button (a plain form's, or one with hx-post) that carries
//   data-confirm="Disable Ada? She can no longer buy from your shop."
// (the `asks_first()` macro in templates/_macros.html writes it) asks first: the first sentence is the
// dialog's title, the rest its text, and the confirming button says what the button said
// (or data-confirm-yes). Focus moves to Cancel; Esc or Cancel closes it and gives the focus back.
// Without JavaScript the button is an ordinary form post, so the action still works.
//
// A dialog the server sends already written (<dialog data-auto-modal>, e.g. "This person already
// uses Komet") opens the same way, and gives the focus back to data-return-focus on closing.
(function () {
  var dialog, title, text, yes, opener, proceed;

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "confirm";
    dialog.id = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-title");
    dialog.setAttribute("aria-describedby", "confirm-dialog-text");
    title = document.createElement("h2");
    title.id = "confirm-dialog-title";
    text = document.createElement("p");
    text.id = "confirm-dialog-text";
    var actions = document.createElement("div");
    actions.className = "dialog-actions";
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = "Cancel";
    cancel.setAttribute("autofocus", "");
    cancel.addEventListener("click", function () { dialog.close(); });
    yes = document.createElement("button");
    yes.type = "button";
    yes.className = "danger";
    yes.addEventListener("click", function () {
      var go = proceed;
      proceed = null;  // closing now is not a cancel: the focus follows the action, not the opener
      dialog.close();
      if (go) go();
    });
    actions.append(cancel, yes);
    dialog.append(title, text, actions);
    dialog.addEventListener("close", function () {
      if (proceed !== null && opener && opener.isConnected) opener.focus();
      proceed = undefined;
    });
    document.body.appendChild(dialog);
  }

  function ask(button, go) {
    if (!dialog) build();
    var question = button.getAttribute("data-confirm");
    var split = question.search(/\?(\s|$)/);  // a title may hold a full stop; the question mark ends it
    if (split < 0) split = question.search(/[.!](\s|$)/);
    title.textContent = split < 0 ? question : question.slice(0, split + 1);
    text.textContent = split < 0 ? "" : question.slice(split + 1).trim();
    text.hidden = !text.textContent;
    yes.textContent = button.getAttribute("data-confirm-yes") || button.textContent.replace(/\s+/g, " ").trim();
    opener = button;
    proceed = go;
    dialog.showModal();
  }

  // After a confirmed htmx action replaces the row that held the button, the focus goes to the
  // same place in the new row (or to the page), not to the top of the document.
  function keepFocusNear(button) {
    var holder = button.closest("[id]");
    var id = holder && holder.id;
    document.addEventListener("htmx:afterSettle", function settled() {
      document.removeEventListener("htmx:afterSettle", settled);
      if (document.activeElement && document.activeElement !== document.body) return;
      var again = id && document.getElementById(id);
      var target = (again && (again.querySelector("button") || again.querySelector("a[href]"))) ||
                   document.getElementById("main");
      if (target) target.focus();
    });
  }

  // htmx asks before every request it sends; issueRequest(true) sends it once confirmed.
  document.addEventListener("htmx:confirm", function (event) {
    var trigger = event.detail.triggeringEvent;
    var button = event.detail.elt.closest("[data-confirm]") || (trigger && trigger.submitter);
    if (!button || !button.hasAttribute("data-confirm")) return;
    event.preventDefault();
    ask(button, function () { keepFocusNear(button); event.detail.issueRequest(true); });
  });

  // A plain form (or any form while htmx is missing): htmx, when it handles a submit, has
  // already prevented it by the time it bubbles here.
  var confirmed = null;
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (event.defaultPrevented || !button || !button.hasAttribute("data-confirm")) return;
    if (confirmed === button) { confirmed = null; return; }
    event.preventDefault();
    ask(button, function () { confirmed = button; event.target.requestSubmit(button); });
  });

  function openServerDialogs(root) {
    root.querySelectorAll("dialog[data-auto-modal]").forEach(function (sent) {
      if (sent.open) return;
      sent.showModal();
      var returnTo = document.querySelector(sent.dataset.returnFocus || "");
      sent.addEventListener("close", function () { if (returnTo) returnTo.focus(); });
      sent.querySelectorAll("[data-close-dialog]").forEach(function (button) {
        button.addEventListener("click", function () { sent.close(); });
      });
    });
  }
  openServerDialogs(document);
  document.addEventListener("htmx:load", function (event) {
    if (event.detail.elt !== document.body) openServerDialogs(event.detail.elt);
  });
})();
