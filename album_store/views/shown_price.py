"""The answers to a price the buyer did not see (``shown_price.py``): 409 with the current price, or
400 for an amount the album does not take; nothing charged, nothing recorded (the exceptions are
raised before the purchase service is asked, and an exception view's answer rolls back)."""

from pyramid.view import view_config

from ..album_page import ALBUM_TEMPLATE, album_page
from ..money import format_money
from ..pricing import AmountRefused
from ..services.purchases import new_attempt_id
from ..shown_price import PriceChanged


@view_config(context=PriceChanged, route_name="album_buy", renderer=ALBUM_TEMPLATE)
@view_config(context=PriceChanged, route_name="album_checkout_session", renderer=ALBUM_TEMPLATE)
@view_config(context=PriceChanged, route_name="album_free_download", renderer=ALBUM_TEMPLATE)
def price_changed_page(exc, request):
    """checkout_js and checkout_session: the album page again, at the current price, saying why nothing
    was charged."""
    request.response.status = 409
    return album_page(request, exc.album, price_changed=exc.message("Buy"))


@view_config(context=PriceChanged, route_name="album_payment_intent", renderer="json")
def price_changed_json(exc, request):
    """payment_intents: the current price for card-payment.js, and a fresh attempt id, so the next Pay
    is a new purchase at the new price (never the old attempt's PaymentIntent, if it made one)."""
    album = exc.album
    request.response.status = 409
    return {
        "status": "price_changed",
        "error": exc.message("Pay"),
        "amount": album.price_cents,
        "currency": album.currency,
        "price_label": format_money(album.price_cents, album.currency),
        # Pay what you want: the minimum now (None: a fixed price), for the page's amount field.
        "minimum": album.minimum_cents,
        "attempt_id": new_attempt_id(),
    }


@view_config(context=AmountRefused, route_name="album_buy", renderer=ALBUM_TEMPLATE)
@view_config(context=AmountRefused, route_name="album_checkout_session", renderer=ALBUM_TEMPLATE)
@view_config(context=AmountRefused, route_name="album_free_download", renderer=ALBUM_TEMPLATE)
def amount_refused_page(exc, request):
    """An amount the album does not take: its page again, saying what is wrong (nothing charged)."""
    request.response.status = 400
    return album_page(request, request.context, amount_error=str(exc))


@view_config(context=AmountRefused, route_name="album_payment_intent", renderer="json")
def amount_refused_json(exc, request):
    request.response.status = 400
    return {"status": "invalid", "field": "amount", "error": f"{exc} Nothing was charged."}
