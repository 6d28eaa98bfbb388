// After a form comes back with a problem, take the keyboard (and a screen reader) to it: the page's
// message that says what went wrong (a declined card: [data-focus-first]), else the first field
// marked invalid. Without JavaScript the message is still first in the reading order (role="alert").
(function () {
  "use strict";
  var target = document.querySelector("[data-focus-first]") || document.querySelector('[aria-invalid="true"]');
  if (target) {
    if (!target.hasAttribute("tabindex") && !/^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(target.tagName)) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus();
  }
})();
