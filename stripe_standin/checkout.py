"""Serves the stand-in for legacy Checkout: ``/checkout.js`` and its modal (and the hosted
payment page's ``/checkout/pay.css`` and ``pay.js``: see ``checkout_page.py``).

``/checkout.js`` runs on the store's page (under the store's strict CSP); the
modal (``/checkout/modal`` + ``modal.css`` + ``modal.js``) runs in an iframe
on the stand-in's own origin, so the card number never touches the store's
page, and tokenizes against the stand-in's ``/v1/tokens``.
"""

import functools
import pathlib

from aiohttp import web

STATIC = pathlib.Path(__file__).resolve().parent / "static"

# The modal page is ours: a CSP that fits it exactly (no inline code).
MODAL_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src * data: blob:; connect-src 'self'; form-action 'none'; "
    "base-uri 'none'"
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


def add_routes(router):
    cross_origin = {"Cross-Origin-Resource-Policy": "cross-origin", "Access-Control-Allow-Origin": "*"}
    router.add_get("/checkout.js", _asset("checkout.js", "application/javascript", cross_origin))
    router.add_get(
        "/checkout/modal",
        _asset("modal.html", "text/html", {"Content-Security-Policy": MODAL_CSP, "Referrer-Policy": "no-referrer"}),
    )
    router.add_get("/checkout/modal.css", _asset("modal.css", "text/css"))
    router.add_get("/checkout/modal.js", _asset("modal.js", "application/javascript"))
    # The hosted payment page of Checkout Sessions (checkout_page.py).
    router.add_get("/checkout/pay.css", _asset("pay.css", "text/css"))
    router.add_get("/checkout/pay.js", _asset("pay.js", "application/javascript"))
