// The album editor's "Audio and previews": while a preview or a download format is queued or being
// made, ask the store every two seconds where it stands and move the progress bars; reload the
// section's page once everything has finished (the previews' players then appear). Without
// JavaScript the page shows the state as it was when loaded.
(function () {
  "use strict";
  var section = document.getElementById("audio");
  if (!section || !window.fetch) { return; }
  var url = section.getAttribute("data-status-url");
  var busy = function (state) { return state === "queued" || state === "working"; };
  var words = { none: "no audio", queued: "queued", working: "working", ready: "ready", failed: "failed" };

  function show(element, item) {
    if (!element) { return; }
    var label = element.querySelector(".audio-state__label");
    var bar = element.querySelector(".audio-state__progress");
    if (label) { label.textContent = words[item.state] || item.state; label.setAttribute("data-state", item.state); }
    if (bar) { bar.value = item.progress; bar.hidden = item.state !== "working"; }
  }

  function anyBusy() {
    return Array.prototype.some.call(section.querySelectorAll(".audio-state__label"), function (label) {
      return busy(label.getAttribute("data-state"));
    });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status) { return; }
        var finished = false;
        status.tracks.forEach(function (item) {
          var row = document.getElementById("audio-track-" + item.id);
          var before = row && row.querySelector(".audio-state__label");
          if (before && busy(before.getAttribute("data-state")) && !busy(item.state)) { finished = true; }
          show(row, item);
        });
        status.formats.forEach(function (item) {
          show(section.querySelector('[data-format="' + item.format + '"]'), item);
        });
        if (finished && !anyBusy()) { window.location.reload(); return; }
        if (anyBusy()) { window.setTimeout(poll, 2000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }

  if (anyBusy()) { window.setTimeout(poll, 2000); }
})();
