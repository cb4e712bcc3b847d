// When a pinned CDN script did not load (a corporate proxy, an outage), load the app's own copy
// of the same file, with the same integrity hash. Deferred scripts run in document order and a
// failed one is skipped, so this one, deferred and last, runs once the CDN scripts have run or
// failed. (Trix is loaded on demand by app.js, which falls back to its copy by itself.)
(function () {
  var copies = JSON.parse(document.currentScript.getAttribute("data-copies"));
  // htmx starts itself on DOMContentLoaded, or at once if the page has finished loading; a copy
  // run in between would never start, so the copy is added once the page has loaded.
  function whenLoaded(then) {
    if (document.readyState === "complete") then();
    else window.addEventListener("load", then);
  }
  document.querySelectorAll("script[src]").forEach(function (tag) {
    var copy = copies[tag.src];  // [the app's copy, the global it defines]
    if (!copy || !copy[1] || typeof window[copy[1]] !== "undefined") return;
    var script = document.createElement("script");
    script.src = copy[0];
    script.integrity = tag.integrity;
    whenLoaded(function () { document.head.appendChild(script); });
  });
})();
