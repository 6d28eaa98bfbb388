"""Amounts as Stripe counts them: the one place that knows Stripe's unit and minimum per currency.

The store keeps money in the currency's minor unit *by CLDR* (``money.minor_unit_digits``: what
Babel formats and parses). Stripe's ``amount`` is in the currency's smallest unit *by Stripe's own
table*, which differs in places: CLDR gives ISK no decimals, Stripe wants ISK as a two-decimal
amount ("to charge 5 ISK, provide an amount value of 500"). :func:`to_stripe_amount` and
:func:`from_stripe_amount` translate between the two; :func:`check_chargeable` says whether a price
can be charged at all (expressible to Stripe, and at least Stripe's minimum charge).

Source of every rule below: Stripe's "Supported currencies" page, https://docs.stripe.com/currencies
(sections "Zero-decimal currencies", "Three-decimal currencies", "Special cases" and "Minimum charge
amount by currency"), and Stripe's support note on ISK,
https://support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds.
"""

from decimal import Decimal

from .money import InvalidAmount, format_money, minor_unit_digits


class StripeAmountError(InvalidAmount):
    """An amount (or currency) Stripe cannot be sent; ``str()`` is a message fit for the form."""


#: https://docs.stripe.com/currencies#zero-decimal — "the charge and the amount are the same,
#: without requiring multiplication. For example, to charge 500 JPY, provide an amount value of
#: 500." (UGX is on this list too, but see its special case below, which governs.)
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf vnd vuv xaf xof xpf".split())

#: https://docs.stripe.com/currencies#three-decimal — the API takes three decimals, "However, to
#: ensure compatibility with Stripe's payments partners, these API calls require the
#: least-significant (last) digit to be 0 ... For example, 5.124 KWD must be rounded to 5120 or 5130."
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())

#: https://docs.stripe.com/currencies#special-cases — ISK: "ISK transitioned to a zero-decimal
#: currency, but backward compatibility requires you to represent it as a two-decimal value, where
#: the decimal amount is always 00. For example, to charge 5 ISK, provide an amount value of 500.
#: You can't charge fractions of ISK." (Stripe enforces it since 14 April 2023:
#: "invalid_charge_amount_no_decimal_compatible ... charged amounts must be evenly divisible by 100",
#: support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds.)
#: UGX: the same words ("to charge 5 UGX, provide an amount value of 500. You can't charge
#: fractions of UGX."). Stripe's zero-decimal list still names UGX; the special case is the
#: specific rule for API amounts, so it wins here.
WHOLE_UNITS_AS_TWO_DECIMALS = frozenset({"isk", "ugx"})

#: https://docs.stripe.com/currencies#special-cases — HUF and TWD: "Stripe treats HUF [TWD] as a
#: zero-decimal currency for payouts, even though you can charge two-decimal amounts." Charges are
#: ordinary two-decimal amounts (as CLDR has them); the divisible-by-100 rule is for manual payouts,
#: which the store does not make.
TWO_DECIMAL_CHARGES_ZERO_DECIMAL_PAYOUTS = frozenset({"huf", "twd"})

#: https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts — "Minimum charge amount by
#: currency", as Stripe publishes it (in major units). Stripe applies it in the *settlement*
#: currency; the store applies it to the price's own (presentment) currency, which is exact for an
#: account settling in that currency and the best the store can know otherwise.
MINIMUM_CHARGE = {
    code: Decimal(value)
    for code, value in (
        ("usd", "0.50"),
        ("aed", "2.00"),
        ("ars", "0.50"),
        ("aud", "0.50"),
        ("brl", "0.50"),
        ("cad", "0.50"),
        ("chf", "0.50"),
        ("cop", "0.50"),
        ("czk", "15.00"),
        ("dkk", "2.50"),
        ("eur", "0.50"),
        ("gbp", "0.30"),
        ("hkd", "4.00"),
        ("huf", "175.00"),
        ("idr", "0.50"),
        ("ils", "0.50"),
        ("inr", "0.50"),
        ("jpy", "50"),
        ("krw", "50"),
        ("mxn", "10"),
        ("myr", "2.00"),
        ("nok", "3.00"),
        ("nzd", "0.50"),
        ("php", "0.50"),
        ("pln", "2.00"),
        ("ron", "2.00"),
        ("rub", "0.50"),
        ("sek", "3.00"),
        ("sgd", "0.50"),
        ("thb", "10"),
        ("zar", "0.50"),
    )
}

#: Every currency whose Stripe unit the store knows: named by one of Stripe's rules above. Any other
#: currency is refused rather than guessed ("two-decimal unless otherwise specified" is Stripe's
#: default, but CLDR may disagree, as it does for ISK, and a wrong guess charges 100 times too
#: much or too little).
SUPPORTED = frozenset(
    ZERO_DECIMAL
    | THREE_DECIMAL
    | WHOLE_UNITS_AS_TWO_DECIMALS
    | TWO_DECIMAL_CHARGES_ZERO_DECIMAL_PAYOUTS
    | set(MINIMUM_CHARGE)
)


def stripe_digits(currency):
    """How many decimals Stripe's ``amount`` has for the currency: 0 (jpy), 2 (usd, isk) or 3 (kwd)."""
    code = _known(currency)
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def _granularity(code):
    """What a Stripe amount must be a multiple of: 100 for ISK and UGX (whole units), 10 for the
    three-decimal currencies (last digit 0), else 1."""
    if code in WHOLE_UNITS_AS_TWO_DECIMALS:
        return 100
    if code in THREE_DECIMAL:
        return 10
    return 1


def _known(currency):
    code = (currency or "").lower()
    if code not in SUPPORTED:
        raise StripeAmountError(f"The store does not know how Stripe counts {code.upper() or 'that currency'}.")
    return code


def to_stripe_amount(amount_minor, currency):
    """The store's amount (CLDR minor units) as Stripe's ``amount``: ``1500, "isk"`` → ``150000``.

    Raises :class:`StripeAmountError` when Stripe cannot be sent the amount: an unknown currency, or
    an amount Stripe's rules refuse (a KWD amount whose last Stripe digit is not 0).
    """
    code = _known(currency)
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise TypeError("an amount is an integer of minor units")
    shift = stripe_digits(code) - minor_unit_digits(code)
    if shift >= 0:
        stripe_amount = amount_minor * 10**shift
    else:
        stripe_amount, rest = divmod(amount_minor, 10**-shift)
        if rest:
            raise StripeAmountError(
                f"Stripe cannot charge {format_money(amount_minor, code)}: "
                f"{code.upper()} has {stripe_digits(code)} decimals at Stripe."
            )
    if stripe_amount % _granularity(code):
        raise StripeAmountError(_granularity_message(amount_minor, code))
    return stripe_amount


def from_stripe_amount(stripe_amount, currency):
    """Stripe's ``amount`` as the store's amount (CLDR minor units): ``150000, "isk"`` → ``1500``.

    Raises :class:`StripeAmountError` for an unknown currency or an amount the store's unit cannot
    hold (a fractional ISK amount from before Stripe made ISK whole-unit).
    """
    code = _known(currency)
    if isinstance(stripe_amount, bool) or not isinstance(stripe_amount, int):
        raise TypeError("a Stripe amount is an integer")
    shift = minor_unit_digits(code) - stripe_digits(code)
    if shift >= 0:
        return stripe_amount * 10**shift
    amount, rest = divmod(stripe_amount, 10**-shift)
    if rest:
        raise StripeAmountError(
            f"Stripe's amount {stripe_amount} {code} is not a whole number of the store's {code.upper()} units."
        )
    return amount


def minimum_charge(currency):
    """Stripe's minimum charge in the store's minor units (``"usd"`` → 50, ``"jpy"`` → 50), or None
    when Stripe publishes none for the currency."""
    value = MINIMUM_CHARGE.get((currency or "").lower())
    return None if value is None else int(value.scaleb(minor_unit_digits(currency)))


def check_chargeable(amount_minor, currency):
    """Raise :class:`StripeAmountError` unless Stripe can be asked to charge the amount.

    It must be expressible in Stripe's unit (:func:`to_stripe_amount`) and at least Stripe's
    published minimum for the currency. A currency with no published minimum is refused too: the
    store cannot tell whether Stripe would take the price, and finding out at the buyer's checkout
    is too late.
    """
    code = (currency or "").lower()
    to_stripe_amount(amount_minor, code)
    minimum = minimum_charge(code)
    if minimum is None:
        raise StripeAmountError(
            f"Stripe publishes no minimum charge for {code.upper()}, so the store cannot "
            f"check a price in it; choose another currency."
        )
    if amount_minor < minimum:
        raise StripeAmountError(f"Stripe's smallest charge in {code.upper()} is {format_money(minimum, code)}.")


def _granularity_message(amount_minor, code):
    if code in THREE_DECIMAL:
        return (
            f"Stripe cannot charge {format_money(amount_minor, code)}: in {code.upper()} the last of the "
            f"three decimals must be 0."
        )
    return f"Stripe cannot charge fractions of {code.upper()}: enter a whole number."
