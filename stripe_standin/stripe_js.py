"""Serves the stand-in's Stripe.js v3 (``/js.stripe.com/v3/``), its Payment Element and card Element
frames and its 3-D Secure challenge, replacing localstripe's fake Stripe.js.

localstripe's copy draws the card inputs into the store's own page, ignores the card in
``confirmCardPayment`` (it always opens a 3-D Secure prompt and needs a PaymentIntent already in
``requires_action``) and styles its prompt with inline styles a strict CSP blocks. This one works like
Stripe.js: ``Stripe(pk).elements().create('card')`` mounts an iframe served from the stand-in (the card
number never touches the store's page), ``confirmCardPayment(clientSecret, {payment_method: {card,
billing_details}})`` makes the PaymentMethod from inside that frame, confirms the PaymentIntent with
the publishable key and its client secret, shows the bank's 3-D Secure challenge in another frame
when the card needs it and resolves to ``{paymentIntent}`` or ``{error}`` as Stripe.js does.

The Payment Element (the Card Element's successor): ``Stripe(pk).elements({clientSecret})
.create('payment')`` mounts another stand-in frame (one method, "Card": the stand-in has no wallets),
which loads the PaymentIntent with its client secret; ``stripe.confirmPayment({elements, confirmParams,
redirect})`` has that frame confirm the PaymentIntent with the card inline (``payment_method_data``, as
real Stripe.js sends it), then 3-D Secure as above; a successful payment goes on to ``return_url``
unless ``redirect: 'if_required'``. The Card Element stays for pages made before (a cached page).

None of it needs a CSP exception: no inline code or styles, no eval.
"""

import functools
import pathlib

from aiohttp import web

STATIC = pathlib.Path(__file__).resolve().parent / "static" / "js"

# The frames are ours: a CSP that fits them exactly (no inline code); any store may frame them.
FRAME_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'"
)


@functools.cache
def _read(name):
    return (STATIC / name).read_bytes()


def _asset(name, content_type, extra_headers=None):
    async def handler(request):
        headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
        headers.update(extra_headers or {})
        return web.Response(body=_read(name), content_type=content_type, charset="utf-8", headers=headers)

    return handler


_CROSS_ORIGIN = {"Cross-Origin-Resource-Policy": "cross-origin", "Access-Control-Allow-Origin": "*"}
_FRAME = {"Content-Security-Policy": FRAME_CSP, "Referrer-Policy": "no-referrer"}

ROUTES = [
    ("GET", "/js.stripe.com/v3/", _asset("stripe-v3.js", "application/javascript", _CROSS_ORIGIN)),
    ("GET", "/js.stripe.com/v3", _asset("stripe-v3.js", "application/javascript", _CROSS_ORIGIN)),
    ("GET", "/js.stripe.com/v3/elements/card", _asset("card-element.html", "text/html", _FRAME)),
    ("GET", "/js.stripe.com/v3/elements/card.js", _asset("card-element.js", "application/javascript")),
    ("GET", "/js.stripe.com/v3/elements/card.css", _asset("card-element.css", "text/css")),
    ("GET", "/js.stripe.com/v3/elements/payment", _asset("payment-element.html", "text/html", _FRAME)),
    ("GET", "/js.stripe.com/v3/elements/payment.js", _asset("payment-element.js", "application/javascript")),
    ("GET", "/js.stripe.com/v3/elements/payment.css", _asset("payment-element.css", "text/css")),
    ("GET", "/js.stripe.com/v3/three-d-secure", _asset("three-d-secure.html", "text/html", _FRAME)),
    ("GET", "/js.stripe.com/v3/three-d-secure.js", _asset("three-d-secure.js", "application/javascript")),
    ("GET", "/js.stripe.com/v3/three-d-secure.css", _asset("three-d-secure.css", "text/css")),
]
