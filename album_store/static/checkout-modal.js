// While Checkout's window is open over the album page, the page behind it is `inert` (no focus, no
// clicks, and hidden from screen readers), and the window's frame says it is a modal dialog. Checkout
// (Stripe's checkout.js, or the local stand-in's) draws its frame itself: this watches for it to
// appear, show or go, for the button integration and the custom one alike.
(function () {
  "use strict";
  var FRAMES = "iframe.stripe_checkout_app, iframe.stripe-standin-checkout-app";
  var own = ["body > .skip-link", "body > .site-header", "body > main", "body > .site-footer"];

  function openFrame() {
    var frames = document.querySelectorAll(FRAMES);
    for (var i = 0; i < frames.length; i++) {
      var style = window.getComputedStyle(frames[i]);
      if (style.display !== "none" && style.visibility !== "hidden" && frames[i].getBoundingClientRect().width > 0) {
        return frames[i];
      }
    }
    return null;
  }

  var wasOpen = false;
  var returnTo = null;  // what had the focus when the window opened (the Buy button): it gets it back
  function update() {
    var frame = openFrame();
    if (!!frame === wasOpen) { return; }
    wasOpen = !!frame;
    if (frame) { returnTo = document.activeElement; }
    own.forEach(function (selector) {
      var element = document.querySelector(selector);
      if (!element) { return; }
      if (frame) { element.setAttribute("inert", ""); } else { element.removeAttribute("inert"); }
    });
    if (frame) {
      frame.setAttribute("role", "dialog");
      frame.setAttribute("aria-modal", "true");
    } else if (returnTo && returnTo.focus && (!document.activeElement || document.activeElement === document.body)) {
      returnTo.focus();  // Checkout gives it back too, but the page was still inert when it tried
    }
  }

  if (window.MutationObserver) {
    new MutationObserver(update).observe(document.body, { childList: true, subtree: true, attributes: true,
                                                         attributeFilter: ["style", "class"] });
  }
})();
