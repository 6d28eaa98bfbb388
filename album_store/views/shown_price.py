"""The price the buyer saw travels with the payment; nothing is charged when it is no longer the price.

The album page is kept for everyone (in each process, in browsers, in a proxy), and a buyer may keep
it open for an hour, so the page a buyer pays from can be older than the price in the database. Its
form carries what it showed: ``shown_amount`` (integer minor units) and ``shown_currency``, hidden
inputs in the checkout_js form, and the card form's ``data-amount`` / ``data-currency`` that
``static/card-payment.js`` puts in its JSON body in the payment_intents flow.

Each paying view calls :func:`require_shown_price` once, after checking its own fields and before
the purchase service. It compares the pair with the album as this request loaded it; the service records
the purchase's amount from that same object, so the buyer pays exactly the price that was checked.
A missing or malformed pair is a 400; a different one raises :class:`PriceChanged`, answered below
with 409 and the current price (nothing charged, nothing recorded): the album page again, whose Buy
button carries the new price, or JSON that card-payment.js uses to show and then pay the new price.
"""
import re

from pyramid.httpexceptions import HTTPBadRequest
from pyramid.view import view_config
from sqlalchemy import select

from ..models import Purchase
from ..money import format_money
from ..services.purchases import new_attempt_id
from .catalog import album_page

_AMOUNT = re.compile(r"[1-9][0-9]{0,7}")  # at most MAX_AMOUNT_MINOR's eight digits
_CURRENCY = re.compile(r"[a-z]{3}")

MISSING = (
    "The payment form did not say which price it showed you, so nothing was charged. "
    "Please reload the album page and pay again."
)


class PriceChanged(Exception):
    """The page the buyer paid from showed another price (or currency) than the album has now."""

    def __init__(self, album, shown_amount, shown_currency):
        super().__init__(album.slug, shown_amount, shown_currency)
        self.album = album
        self.shown_amount = shown_amount
        self.shown_currency = shown_currency

    def message(self, button):
        album = self.album
        return (
            f"The price of {album.title} changed from {format_money(self.shown_amount, self.shown_currency)} "
            f"to {format_money(album.price_cents, album.currency)} since you opened this page, so nothing was "
            f"charged. The {button} button below charges the new price."
        )


def shown_price(fields):
    """``(amount, currency)`` as the form sent them (``request.POST`` or a JSON object); 400 if absent
    or malformed. The amount may be a JSON integer or a string of digits."""
    amount, currency = fields.get("shown_amount"), fields.get("shown_currency")
    if isinstance(amount, int) and not isinstance(amount, bool):
        amount = str(amount)
    if not isinstance(amount, str) or not isinstance(currency, str):
        raise HTTPBadRequest(MISSING)
    amount, currency = amount.strip(), currency.strip().lower()
    if not _AMOUNT.fullmatch(amount) or not _CURRENCY.fullmatch(currency):
        raise HTTPBadRequest(MISSING)
    return int(amount), currency


def require_shown_price(request, album, fields):
    """Go on only if the form showed the album's price: 400 without one, :class:`PriceChanged` if another.

    A checkout that already has its purchase (the same Checkout token or attempt id again: a double
    click, a retry after a lost answer) goes on whatever the page showed: that purchase passed this
    check when it was made, and its receipt, or its one PaymentIntent, is the honest answer. Telling
    that buyer "nothing was charged" could be false, and would invite a second payment.
    """
    amount, currency = shown_price(fields)
    if (amount, currency) != (album.price_cents, album.currency.lower()) and not _already_started(request, fields):
        raise PriceChanged(album, amount, currency)


def _already_started(request, fields):
    """Whether the checkout's token (checkout_js) or attempt id (payment_intents) has a purchase.
    Only asked when the prices differ, so a normal payment costs no query here."""
    token, attempt_id = fields.get("stripeToken"), fields.get("attempt_id")
    if isinstance(token, str) and token.strip():
        condition = Purchase.checkout_token == token.strip()
    elif isinstance(attempt_id, str) and attempt_id:
        condition = Purchase.attempt_id == attempt_id
    else:
        return False
    return request.dbsession.scalar(select(Purchase.id).where(condition).limit(1)) is not None


@view_config(context=PriceChanged, route_name="album_buy", renderer="album_store:templates/catalog/album.pt")
@view_config(context=PriceChanged, route_name="album_checkout_session", renderer="album_store:templates/catalog/album.pt")
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
        "attempt_id": new_attempt_id(),
    }
