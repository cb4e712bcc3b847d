// The customer picker (templates/_picker.html): ticked matches become chips, unticked chips go,
// the arrow keys move between the search box and the matches, and a screen reader hears what
// changed. Without this file the picker still keeps its chips and submits them.
(function () {
  function pickerOf(element) { return element.closest && element.closest(".picker"); }
  function say(picker, text) {
    var status = picker.querySelector(".picker-status");
    status.textContent = "";
    setTimeout(function () { status.textContent = text; }, 50);  // a change a screen reader notices
  }
  function nameOf(item) { return item.querySelector("label").textContent.trim(); }
  function syncNone(picker) {
    picker.querySelector(".picker-none").hidden = !!picker.querySelector(".picker-chosen li");
  }

  document.addEventListener("change", function (event) {
    var box = event.target, picker = pickerOf(box);
    if (!picker || !box.matches("input[type=checkbox]")) return;
    var item = box.closest("li"), search = picker.querySelector(".picker-search");
    if (box.closest(".picker-matches") && box.checked) {
      var matches = item.parentNode;
      picker.querySelector(".picker-chosen").appendChild(item);
      if (!matches.querySelector("li")) matches.remove();
      say(picker, nameOf(item) + " added.");
      search.focus();
    } else if (box.closest(".picker-chosen") && !box.checked) {
      var next = item.nextElementSibling || item.previousElementSibling;
      item.remove();
      say(picker, nameOf(item) + " removed.");
      (next ? next.querySelector("input") : search).focus();
    }
    syncNone(picker);
  });

  // New matches: the chosen ones are not offered again; say how many there are.
  document.addEventListener("htmx:afterSwap", function (event) {
    var picker = pickerOf(event.detail.target);
    if (!picker || !event.detail.target.matches(".picker-results")) return;
    var chosen = {};
    picker.querySelectorAll(".picker-chosen input:checked").forEach(function (b) { chosen[b.value] = true; });
    var boxes = picker.querySelectorAll(".picker-matches input");
    boxes.forEach(function (b) { if (chosen[b.value]) b.closest("li").remove(); });
    var count = picker.querySelectorAll(".picker-matches li").length;
    say(picker, count ? count + (count === 1 ? " match" : " matches") + ": press the down arrow to reach them."
                      : event.detail.target.textContent.trim());
  });

  // Keys: Enter in the search box searches (it must not submit the whole form); the down arrow
  // goes to the matches, the arrows move between them, Escape goes back to the search box.
  document.addEventListener("keydown", function (event) {
    var target = event.target, picker = pickerOf(target);
    if (!picker) return;
    var search = picker.querySelector(".picker-search");
    var boxes = Array.prototype.slice.call(picker.querySelectorAll(".picker-matches input"));
    var at = boxes.indexOf(target);
    if (target === search && event.key === "Enter") {
      event.preventDefault();
    } else if (target === search && event.key === "ArrowDown" && boxes.length) {
      event.preventDefault();
      boxes[0].focus();
    } else if (at >= 0 && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      var to = at + (event.key === "ArrowDown" ? 1 : -1);
      (to < 0 ? search : boxes[Math.min(to, boxes.length - 1)]).focus();
    } else if (at >= 0 && event.key === "Escape") {
      event.preventDefault();
      search.focus();
    }
  });

  // A picker that belongs to one choice of a radio group (New Message's "Chosen customers")
  // shows only while that choice is made.
  function syncShown(root) {
    root.querySelectorAll(".picker[data-shown-when-name]").forEach(function (picker) {
      var form = picker.closest("form") || document;
      var radio = form.querySelector('input[type=radio][name="' + picker.dataset.shownWhenName + '"]:checked');
      picker.hidden = !radio || radio.value !== picker.dataset.shownWhenValue;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("input[type=radio]")) syncShown(event.target.closest("form") || document);
  });
  document.addEventListener("DOMContentLoaded", function () { syncShown(document); });
  // What was typed before htmx started (it may still be on its way from the CDN) asked the
  // server nothing: ask once htmx has set the page up (its first htmx:load is for the body).
  document.addEventListener("htmx:load", function (event) {
    if (event.detail.elt !== document.body) return;
    document.querySelectorAll(".picker-search").forEach(function (search) {
      if (search.value) htmx.trigger(search, "search");
    });
  });
  document.addEventListener("htmx:load", function (event) { syncShown(event.detail.elt); });
})();
