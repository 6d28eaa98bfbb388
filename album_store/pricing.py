"""Pay what you want: the rules for the amount a buyer chooses, in one place.

An album has a fixed price (``minimum_cents`` is None) or lets the buyer name the price: at least
``minimum_cents`` (which may be 0), prefilled with the suggestion (``price_cents``), at most
:func:`maximum_for`. The buyer's own amount is what is charged, as long as:

- it is a plain amount in the album's currency (:func:`parse_chosen_amount`, ``money.parse_money``);
- it is at least the album's minimum *now* and at most the maximum (:func:`check_chosen_amount`);
- it is 0 (a free download: no Stripe at all) or an amount Stripe can charge: Stripe's unit and its
  minimum charge for the currency (``stripe_amounts.check_chargeable``), so $0.30 is refused here
  with a message rather than sent to Stripe.

The album page and the owner's form show these limits; the paying views enforce them
(``shown_price.py``), for every payment flow.
"""

from .money import MAX_AMOUNT_MINOR, InvalidAmount, format_money, parse_money
from .stripe_amounts import StripeAmountError, check_chargeable

#: The most a buyer may choose, as a multiple of the suggested amount: a sane ceiling that catches
#: "1000" typed for "10.00" before a card is charged a thousand dollars (never above Stripe's limit).
MAX_TIMES_SUGGESTED = 100


class AmountRefused(InvalidAmount):
    """The buyer's amount is not one this album takes; ``str()`` says why, for the buyer."""


def maximum_for(album):
    """The most a buyer may pay for a "name your price" album, in minor units."""
    return min(MAX_AMOUNT_MINOR, album.price_cents * MAX_TIMES_SUGGESTED)


def parse_chosen_amount(text, currency):
    """The amount the buyer typed (``"12.50"``) as minor units; 0 is allowed (a free download).
    Raises :class:`AmountRefused` for anything but a plain amount the currency can express."""
    if not isinstance(text, str):
        raise AmountRefused("Enter the amount you want to pay, e.g. 12.34.")
    try:
        return parse_money(text, currency, allow_zero=True, noun="amount")
    except InvalidAmount as error:
        raise AmountRefused(str(error)) from error


def check_chosen_amount(amount, *, minimum, maximum, currency):
    """Raise :class:`AmountRefused` unless ``amount`` may be charged (or, 0 with a 0 minimum, given free)."""
    if amount < minimum:
        raise AmountRefused(f"The least you can pay for this album is {format_money(minimum, currency)}.")
    if amount > maximum:
        raise AmountRefused(f"The most you can pay for this album here is {format_money(maximum, currency)}.")
    if amount == 0:
        return
    try:
        check_chargeable(amount, currency)
    except StripeAmountError as error:
        advice = " Pay at least that, or 0 for a free download." if minimum == 0 else " Please pay at least that."
        raise AmountRefused(f"{error}{advice}") from error


def check_album_pricing(*, suggested, minimum, currency):
    """The owner's form: ``str`` saying what is wrong with a "name your price" setting, or None.
    The suggestion must be chargeable (it is ``price_cents``); the minimum 0 or chargeable, and not
    above the suggestion."""
    if minimum > suggested:
        return "The minimum cannot be more than the suggested amount."
    if minimum:
        try:
            check_chargeable(minimum, currency)
        except StripeAmountError as error:
            return f"{error} Set the minimum to at least that, or to 0 to allow free downloads."
    return None
