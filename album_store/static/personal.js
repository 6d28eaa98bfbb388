/* The personal part of a shared page (home, catalog, album page: the same bytes for everyone, cached).
   Fetches this session's fragment (GET data-fragment-url, private, no-store) and fills in:
   - the nav: Admin (an owner), Library and a Sign out form, instead of Sign in / Register;
   - on an album page (?album=slug): "In your library" with the paid date and the receipt instead of
     the buy box when this buyer owns it; otherwise the buyer's email for checkout (data-email on the
     Checkout button or the pay-what-you-want form), and the guest-only email fields go;
   - the flash messages, in the layout's flash area (each popped by the store: shown once).
   Always fetched: the session cookie is HttpOnly, so this script cannot tell a signed-in visitor, or
   a guest with a message waiting, from anyone else; a visitor with no session costs the store no
   session and no SQL. Until the fragment is in, a press on the buy box waits for it (then goes on),
   so Checkout never opens without the buyer's email. Text only through textContent / DOM methods. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-fragment-url]");
  if (!script || typeof window.fetch !== "function") { return; }
  var article = document.querySelector("[data-album-slug]");
  var slug = article ? article.getAttribute("data-album-slug") : null;
  var url = script.getAttribute("data-fragment-url") + (slug ? "?album=" + encodeURIComponent(slug) : "");

  // The buy box waits for the fragment: a click or submit meanwhile is held, then replayed.
  var buyBox = document.getElementById("buy-box");
  var ready = false;
  var held = null;
  function hold(event) {
    if (ready) { return; }
    event.preventDefault();
    event.stopPropagation();
    held = event.target;  // the button pressed, or the form submitted (Enter in a field)
  }
  if (buyBox) {
    buyBox.addEventListener("click", hold, true);
    buyBox.addEventListener("submit", hold, true);
    buyBox.setAttribute("aria-busy", "true");
  }
  function release() {
    ready = true;
    if (!buyBox) { return; }
    buyBox.removeAttribute("aria-busy");
    var target = held;
    held = null;
    if (!target || !document.body.contains(target)) { return; }
    if (target.tagName === "FORM") {
      if (typeof target.requestSubmit === "function") { target.requestSubmit(); }
    } else if (typeof target.click === "function") {
      target.click();
    }
  }

  function link(href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  function fillNav(data) {
    var nav = document.getElementById("personal-nav");
    if (!nav || !data.signed_in) { return; }
    while (nav.firstChild) { nav.removeChild(nav.firstChild); }
    if (data.links.admin) { nav.appendChild(link(data.links.admin, "Admin")); }
    nav.appendChild(link(data.links.library, "Library"));
    var form = document.createElement("form");
    form.method = "post";
    form.action = data.links.sign_out;
    form.className = "site-nav__form";
    var token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrf_token";
    token.value = data.csrf_token || "";
    form.appendChild(token);
    var button = document.createElement("button");
    button.type = "submit";
    button.className = "link-button";
    button.textContent = "Sign out";
    form.appendChild(button);
    nav.appendChild(form);
  }

  function fillOwned(data) {
    var owned = data.owned;
    var box = document.createElement("div");
    box.className = "buy-box buy-box--owned";
    var title = document.createElement("p");
    title.className = "buy-box__owned";
    title.textContent = "In your library";
    box.appendChild(title);
    var text = document.createElement("p");
    text.appendChild(document.createTextNode("You bought this album on " + owned.paid_on + ". "));
    text.appendChild(link(data.links.library, "Go to your library"));
    text.appendChild(document.createTextNode(" to download it, or see "));
    text.appendChild(link(owned.receipt, "the receipt"));
    text.appendChild(document.createTextNode("."));
    box.appendChild(text);
    buyBox.parentNode.replaceChild(box, buyBox);
    buyBox = null;
  }

  function fillBuyer(data) {
    if (!data.signed_in) { return; }
    if (buyBox && data.owned) { fillOwned(data); return; }
    var guestOnly = document.querySelectorAll("[data-guest-only]");
    for (var i = 0; i < guestOnly.length; i++) { guestOnly[i].parentNode.removeChild(guestOnly[i]); }
    // Read when Buy is pressed: the Checkout button's script element, the pay-what-you-want form.
    var targets = document.querySelectorAll("script.stripe-button, #choose-price");
    for (var j = 0; j < targets.length; j++) { targets[j].setAttribute("data-email", data.email); }
  }

  function fillFlash(data) {
    var area = document.getElementById("flash");
    if (!area || !data.flash) { return; }
    for (var i = 0; i < data.flash.length; i++) {
      var p = document.createElement("p");
      p.className = "alert alert--info";
      p.setAttribute("role", "status");
      p.textContent = data.flash[i];
      area.appendChild(p);
    }
  }

  fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
    .then(function (response) { return response.ok ? response.json() : { signed_in: false }; })
    .then(function (data) {
      fillNav(data);
      fillBuyer(data);
      fillFlash(data);
    })
    .catch(function () { /* the page stays the guest's: the store still knows who pays */ })
    .then(release);
}());
