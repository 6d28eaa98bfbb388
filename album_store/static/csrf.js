/* Puts this visitor's CSRF token into the forms of pages that are cached for everyone.
   The token is the `csrf_token` cookie; a first-time visitor gets one from the store. */
(function () {
  "use strict";
  var inputs = document.querySelectorAll('input[name="csrf_token"]');
  if (!inputs.length) { return; }

  function fill(token) {
    for (var i = 0; i < inputs.length; i++) {
      if (!inputs[i].value) { inputs[i].value = token; }
    }
  }

  var match = document.cookie.match(/(?:^|;\s*)csrf_token=([^;]+)/);
  if (match) { fill(decodeURIComponent(match[1])); return; }
  var script = document.currentScript || document.querySelector("script[data-token-url]");
  fetch(script.getAttribute("data-token-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) { return response.json(); })
    .then(function (data) { fill(data.token); });
}());
