"""The price the buyer saw travels with the payment; nothing is charged when it is no longer the price.

The album page is kept for everyone (in each process, in browsers, in a proxy), and a buyer may keep
it open for an hour, so the page a buyer pays from can be older than the price in the database. Its
form carries what it showed: ``shown_amount`` (integer minor units) and ``shown_currency``, hidden
inputs in the checkout_js form, and the card form's ``data-amount`` / ``data-currency`` that
``static/card-payment.js`` puts in its JSON body in the payment_intents flow.

Each paying view calls :func:`require_shown_price` once, after checking its own fields and before
the purchase service. It compares the pair with the album as this request loaded it; the service records
the purchase's amount from that same object, so the buyer pays exactly the price that was checked.
A missing or malformed pair is a 400; a different one raises :class:`PriceChanged`, answered by the
exception views of ``views/shown_price.py`` with 409 and the current price (nothing charged, nothing
recorded): the album page again, whose Buy button carries the new price, or JSON that card-payment.js
uses to show and then pay the new price.

**Pay what you want** (``album.name_your_price``): the form carries the buyer's own amount instead,
``amount`` as typed (``"12.50"``, parsed by ``pricing.parse_chosen_amount``), with ``shown_currency``
and ``shown_minimum`` (the minimum the page showed). The amount is charged if it is at least the
album's minimum *now* and at most its maximum (``pricing.check_chosen_amount``: Stripe's minimum
charge too, or exactly 0 for a free download where the minimum is 0). A changed currency, a switch
between fixed price and name-your-price, or a minimum raised above the amount since the page was
opened is :class:`PriceChanged` (409, explained, nothing charged); an amount the page itself would
have refused (under the minimum it showed, over the maximum, not a plain amount, under Stripe's
minimum) is :class:`AmountRefused` (400, saying what is wrong). :func:`require_shown_price` returns
the amount the buyer confirmed, which the purchase service records and charges: nothing else in
the request can change it.
"""

import re

from pyramid.httpexceptions import HTTPBadRequest

from .money import format_money
from .pricing import AmountRefused, check_chosen_amount, maximum_for, parse_chosen_amount
from .services.purchases import IPurchaseService

_AMOUNT = re.compile(r"[1-9][0-9]{0,7}")  # at most MAX_AMOUNT_MINOR's eight digits
_CURRENCY = re.compile(r"[a-z]{3}")
_MINIMUM = re.compile(r"[0-9]{1,8}")

MISSING = (
    "The payment form did not say which price it showed you, so nothing was charged. "
    "Please reload the album page and pay again."
)


class PriceChanged(Exception):
    """The page the buyer paid from showed another price (or currency) than the album has now, or
    (pay what you want) a minimum, a currency or a way of pricing the album no longer has."""

    def __init__(self, album, shown_amount, shown_currency, *, shown_minimum=None):
        super().__init__(album.slug, shown_amount, shown_currency)
        self.album = album
        self.shown_amount = shown_amount
        self.shown_currency = shown_currency
        self.shown_minimum = shown_minimum

    def message(self, button):
        album, title = self.album, self.album.title
        since = "since you opened this page, so nothing was charged."
        if album.name_your_price:
            minimum = format_money(album.minimum_cents, album.currency)
            if self.shown_currency != album.currency.lower():
                return (
                    f"{title} is now priced in {album.currency.upper()} {since} Choose your amount in "
                    f"{album.currency.upper()} (at least {minimum}) and press {button} again."
                )
            if self.shown_amount is not None:  # the page showed a fixed price
                return (
                    f"{title} is now pay what you want (at least {minimum}) {since} Choose your amount and "
                    f"press {button} again."
                )
            return (
                f"The least you can pay for {title} is now {minimum} {since} Choose at least {minimum} and press "
                f"{button} again."
            )
        price = format_money(album.price_cents, album.currency)
        if self.shown_amount is None:  # the page let the buyer choose; the album has a fixed price now
            return f"{title} now has a fixed price of {price} {since} The {button} button below charges that price."
        return (
            f"The price of {title} changed from {format_money(self.shown_amount, self.shown_currency)} "
            f"to {price} since you opened this page, so nothing was "
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
    Returns the amount the buyer confirmed, in minor units: the one to record and charge.

    A checkout that already has its purchase (the same Checkout token or attempt id again: a double
    click, a retry after a lost answer) goes on whatever the page showed: that purchase passed this
    check when it was made, and its receipt, or its one PaymentIntent, is the honest answer. Telling
    that buyer "nothing was charged" could be false, and would invite a second payment. (The
    purchase service then refuses the same token or attempt with another amount.)
    """
    if album.name_your_price or ("amount" in fields and "shown_amount" not in fields):
        # (A fixed-price page's form has no amount field: an ``amount`` sent with its shown price is
        # not the buyer's choice and changes nothing.)
        return _require_chosen_amount(request, album, fields)
    amount, currency = shown_price(fields)
    if (amount, currency) != (album.price_cents, album.currency.lower()) and not _already_started(request, fields):
        raise PriceChanged(album, amount, currency)
    return amount


def _require_chosen_amount(request, album, fields):
    """Pay what you want: the buyer's own amount, checked against the album as it is now."""
    currency = fields.get("shown_currency")
    currency = currency.strip().lower() if isinstance(currency, str) else ""
    if not _CURRENCY.fullmatch(currency):
        raise HTTPBadRequest(MISSING)

    def started():
        return _already_started(request, fields)

    if not album.name_your_price:  # the page let the buyer choose; the owner has set a fixed price since
        if not started():
            raise PriceChanged(album, None, currency)
    elif currency != album.currency.lower() and not started():
        raise PriceChanged(album, None, currency)
    if "amount" not in fields:  # a page from before the owner let buyers choose: it showed a fixed price
        shown_amount, _ = shown_price(fields)
        if started():
            return shown_amount
        raise PriceChanged(album, shown_amount, currency)
    amount = parse_chosen_amount(fields.get("amount"), currency)
    if not album.name_your_price or currency != album.currency.lower():
        return amount  # an attempt already made (above): its purchase decides
    try:
        check_chosen_amount(amount, minimum=album.minimum_cents, maximum=maximum_for(album), currency=currency)
    except AmountRefused:
        if started():
            return amount  # that attempt's purchase decides (the service refuses another amount)
        shown_minimum = _shown_minimum(fields)
        if amount < album.minimum_cents and shown_minimum is not None and shown_minimum < album.minimum_cents:
            # The page allowed this amount: the owner raised the minimum since.
            raise PriceChanged(album, None, currency, shown_minimum=shown_minimum) from None
        raise
    return amount


def _shown_minimum(fields):
    value = fields.get("shown_minimum")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return int(value) if isinstance(value, str) and _MINIMUM.fullmatch(value.strip()) else None


def _already_started(request, fields):
    """Whether the checkout's token (checkout_js) or attempt id (payment_intents) has a purchase.
    Only asked when the prices differ, so a normal payment costs no query here."""
    token, attempt_id = fields.get("stripeToken"), fields.get("attempt_id")
    purchases = request.find_service(IPurchaseService)
    if isinstance(token, str) and token.strip():
        return purchases.attempt_recorded(token=token.strip())
    if isinstance(attempt_id, str) and attempt_id:
        return purchases.attempt_recorded(attempt_id=attempt_id)
    return False
