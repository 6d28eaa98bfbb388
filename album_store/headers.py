"""The headers every answer carries: the Content-Security-Policy for the payment flow in use, and
the usual hardening (no sniffing, no framing, a strict referrer, HSTS behind HTTPS).

The policy follows ``store.payment_flow`` (the flow names are settings.py's constants): only the
store's own origin, plus what that flow's page needs from Stripe.
"""

from urllib.parse import urlsplit

from pyramid.settings import asbool

from .settings import CHECKOUT_SESSION, PAYMENT_INTENTS


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


STRIPE_JS_ORIGIN = "https://js.stripe.com"


def content_security_policy(settings):
    """Only the store's own origin, plus what the album page's payment flow needs from Stripe.

    ``checkout_js``: Checkout's origin (its script, its modal's frame and what it fetches).
    ``payment_intents``: Stripe.js's origin (its script and its frames: the Payment Element and the
    3-D Secure check) and the Stripe API it calls (``stripe.api_base``, or Stripe's own). With Stripe's
    own Stripe.js, exactly Stripe's documented policy for it: ``script-src``/``frame-src``
    js.stripe.com and *.js.stripe.com, ``frame-src`` hooks.stripe.com (3-D Secure), ``connect-src``
    api.stripe.com; nothing for the page's styles or images (the element draws in its own frame), and
    nothing of maps.googleapis.com (only the Address Element's autocomplete needs it).
    ``checkout_session``: nothing of Stripe's on the page; the Buy form may lead to Stripe's hosted page.
    """
    form_targets = []
    if settings.get("store.payment_flow") == CHECKOUT_SESSION:
        # No Stripe script on our pages at all: the Buy form posts here, and the answer redirects
        # to Stripe's hosted page, which form-action must allow (browsers check a form's redirects).
        hosted = _origin(settings.get("stripe.api_base") or "") or "https://checkout.stripe.com"
        scripts, frames, connects, form_targets = [], [], [], [hosted]
        styles, images = "'self'", "'self' data:"
    elif settings.get("store.payment_flow") == PAYMENT_INTENTS:
        stripe_js = _origin(settings["stripe.js_url"])
        api = _origin(settings.get("stripe.api_base") or "") or "https://api.stripe.com"
        scripts, frames, connects = [stripe_js], [stripe_js], [api]
        if stripe_js == STRIPE_JS_ORIGIN:  # Stripe's documented needs for Stripe.js (3-D Secure pages too)
            scripts.append("https://*.js.stripe.com")
            frames += ["https://*.js.stripe.com", "https://hooks.stripe.com"]
        styles, images = "'self'", "'self' data:"
    else:
        checkout = _origin(settings["stripe.checkout_js_url"])
        scripts = frames = connects = [checkout]
        styles = f"'self' {checkout}"
        images = f"'self' data: {checkout}"
        if checkout == "https://checkout.stripe.com":
            images += " https://*.stripe.com"  # Stripe's documented needs for legacy Checkout

    def sources(*values):
        return " ".join(dict.fromkeys(v for v in values if v))

    directives = {
        "default-src": "'self'",
        "script-src": sources("'self'", *scripts),
        "style-src": styles,
        "img-src": images,
        "frame-src": sources(*frames) or "'none'",
        "connect-src": sources("'self'", *connects),
        "form-action": sources("'self'", *form_targets),
        "frame-ancestors": "'none'",
        "base-uri": "'self'",
        "object-src": "'none'",
    }
    return "; ".join(f"{name} {value}".strip() for name, value in directives.items())


def security_headers_tween_factory(handler, registry):
    """Every answer gets these headers unless it set its own. A tween right under the page cache's
    (``caching.py``), so the copy the cache keeps already carries them and a page served from it, which
    never reaches Pyramid's router, is sent with them too."""
    settings = registry.settings
    headers = {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Frame-Options": "DENY",
    }
    if asbool(settings["store.secure_cookies"]):
        headers["Strict-Transport-Security"] = "max-age=31536000"
    defaults = tuple((name, value, name.lower()) for name, value in headers.items())

    def tween(request):
        response = handler(request)
        # Straight on the header list: webob's case-blind ``setdefault`` scans it once per header.
        headerlist = response.headerlist
        present = {name.lower() for name, _ in headerlist}
        headerlist.extend((name, value) for name, value, lower in defaults if lower not in present)
        return response

    return tween


def includeme(config):
    config.add_tween(
        "album_store.headers.security_headers_tween_factory", under="album_store.caching.page_cache_tween_factory"
    )
