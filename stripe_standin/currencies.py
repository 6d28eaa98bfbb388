"""Currencies and amounts as Stripe counts them: which currencies it takes, their decimals, and the
one amount check every endpoint that takes an amount makes (:func:`check_amount`).

The stand-in's own table of Stripe's rules (https://docs.stripe.com/currencies), kept apart from the
store's (``album_store/stripe_amounts.py``) on purpose: the stand-in plays Stripe in the tests, so
a mistake in the store's table must meet Stripe's rule here, not the same mistake.

What Stripe refuses, strictest reading: an amount that is not an integer (``params.to_int``), below
the currency's minimum charge, above eight digits, or not a whole number of the currency's real
unit (ISK in multiples of 100, the three-decimal currencies with a last digit of 0).
"""

from .errors import StripeError, invalid_param, missing_param

ZERO_DECIMAL = {
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
}
THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}
#: https://docs.stripe.com/currencies#special-cases — ISK is sent as a two-decimal amount whose
#: decimals are always 00; Stripe refuses any other since 14 April 2023 (support.stripe.com/questions/
#: deprecation-of-fractional-isk-charges-and-refunds), for charges, PaymentIntents, Prices and refunds.
WHOLE_UNITS_AS_TWO_DECIMALS = {"isk"}
# Stripe's minimum charge amounts (in Stripe's unit of the currency), from "Minimum charge amount by
# currency" (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts), with the few more
# the store's table names; any other currency only needs amount >= 1.
MINIMUM_AMOUNT = {
    "usd": 50,
    "eur": 50,
    "gbp": 30,
    "cad": 50,
    "aud": 50,
    "nzd": 50,
    "chf": 50,
    "jpy": 50,
    "sek": 300,
    "nok": 300,
    "dkk": 250,
    "pln": 200,
    "czk": 1500,
    "huf": 17500,
    "mxn": 1000,
    "brl": 50,
    "sgd": 50,
    "hkd": 400,
    "inr": 50,
    "aed": 200,
    "bgn": 100,
    "myr": 200,
    "ron": 200,
    "thb": 1000,
    "ars": 50,
    "cop": 50,
    "idr": 50,
    "ils": 50,
    "krw": 50,
    "php": 50,
    "rub": 50,
    "zar": 50,
}
MAXIMUM_AMOUNT = 99999999
CURRENCIES = set(
    """
aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob
brl bsd bwp byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp
etb eur fjd fkp gbp gel gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk
jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad mdl mga
mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen
pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd
std szl thb tjs tnd top try ttd twd tzs uah ugx usd uyu uzs vnd vuv wst xaf
xcd xof xpf yer zar zmw
""".split()
)


def currency_digits(currency):
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def format_amount(amount, currency):
    digits = currency_digits(currency)
    symbol = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}.get(currency)
    value = f"{amount / 10**digits:,.{digits}f}"
    return f"{symbol}{value}" if symbol else f"{value} {currency}"


#: What the too-small and too-large errors say, by endpoint (Stripe words the Checkout Session's
#: total differently from a charge's or a PaymentIntent's amount).
AMOUNT_WORDING = ("Amount must be at least {minimum} {currency}", "Amount must be no more than {maximum}")
SESSION_TOTAL_WORDING = (
    "The Checkout Session's total amount due must add up to at least {minimum} {currency}",
    "The Checkout Session's total amount due must be no more than {maximum}",
)


def check_currency(value, param="currency"):
    """The currency as Stripe names it (lowercase); Stripe's 400 when it is missing or unknown."""
    if value is None or value == "":
        raise missing_param(param)
    if not isinstance(value, str) or value.lower() not in CURRENCIES:
        raise invalid_param(param, f"Invalid currency: {value}.")
    return value.lower()


def check_unit(amount, currency, param="amount"):
    """Stripe's 400 for an amount that is not a whole number of what the currency can really be
    charged in: ISK in whole krónur (multiples of 100), a three-decimal currency to the nearest ten."""
    if currency in WHOLE_UNITS_AS_TWO_DECIMALS and amount % 100:
        raise StripeError(
            400,
            f"Invalid amount. Currency {currency.upper()} has become effectively zero-decimal and charged "
            "amounts must be evenly divisible by 100. See https://stripe.com/docs/currencies#special-cases "
            "for more information.",
            code="invalid_charge_amount_no_decimal_compatible",
            param=param,
        )
    if currency in THREE_DECIMAL and amount % 10:
        # Stripe documents the rule, not its error: this code and wording are the stand-in's.
        raise StripeError(
            400,
            f"Invalid amount. Amounts in {currency.upper()} must have 0 as their last digit (round "
            "to the nearest ten). See https://stripe.com/docs/currencies#three-decimal for more "
            "information.",
            code="invalid_charge_amount",
            param=param,
        )


def check_amount(amount, currency, param="amount", wording=AMOUNT_WORDING, whole_units=True):
    """Stripe's 400 unless ``amount`` (an integer, in Stripe's unit of ``currency``, a checked code)
    can be charged: a whole number of the currency's unit (:func:`check_unit`), at least the
    currency's minimum charge and at most eight digits. The one check of a charge's, a
    PaymentIntent's and a Checkout Session's amount. A session passes ``param=None`` (Stripe names no
    parameter for its total) and ``whole_units=False``: its line items' unit amounts are checked
    instead, so that the stand-in's own tax rounding never makes a total Stripe would refuse."""
    if whole_units:
        check_unit(amount, currency, param)
    minimum = MINIMUM_AMOUNT.get(currency, 1)
    if amount < minimum:
        raise StripeError(
            400,
            wording[0].format(minimum=format_amount(minimum, currency), currency=currency),
            code="amount_too_small",
            param=param,
        )
    if amount > MAXIMUM_AMOUNT:
        raise StripeError(
            400,
            wording[1].format(maximum=format_amount(MAXIMUM_AMOUNT, currency)),
            code="amount_too_large",
            param=param,
        )
