"""The one money formatter and the one money parser. Amounts are integers in the currency's minor
unit (cents) everywhere; a price typed by a person becomes cents here and nowhere else."""

import re
from decimal import Decimal
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision

#: The largest amount the store takes, in the minor unit: Stripe's own limit (eight digits).
MAX_AMOUNT_MINOR = 99_999_999
_AMOUNT = re.compile(r"([0-9]+)(?:\.([0-9]+))?")


class InvalidAmount(ValueError):
    """Not a positive amount the currency can express; ``str()`` is a message fit for the form."""


def minor_unit_digits(currency):
    """2 for usd and eur, 0 for jpy: how many decimals the currency's minor unit has."""
    return get_currency_precision(currency.upper())


def to_decimal(amount_cents, currency):
    return Decimal(amount_cents).scaleb(-minor_unit_digits(currency))


@lru_cache(maxsize=8192)  # Babel's formatting is slow, and a store has few distinct prices
def format_money(amount_cents, currency, locale="en_US"):
    """``format_money(999, "usd")`` → ``"$9.99"``; ``format_money(1200, "jpy")`` → ``"¥1,200"``."""
    return format_currency(to_decimal(amount_cents, currency), currency.upper(), locale=locale)


def format_amount_input(amount_cents, currency):
    """What a form shows for an amount, the way it is typed: ``1234, "usd"`` → ``"12.34"``."""
    return str(to_decimal(amount_cents, currency))


def parse_money(text, currency, *, allow_zero=False, noun="price"):
    """``parse_money("12.34", "usd")`` → ``1234``: a typed amount as integer cents, exactly.

    Accepts digits with at most as many decimals as the currency has (two for usd, none for jpy);
    refuses zero (unless ``allow_zero``: a minimum, or a buyer's free download), negatives,
    exponents, thousands separators and anything else with :class:`InvalidAmount`, whose message
    calls the amount ``noun``.
    """
    digits = minor_unit_digits(currency)
    value = (text or "").strip()
    if not value:
        raise InvalidAmount(f"Enter {'a' if noun[0] not in 'aeiou' else 'an'} {noun}, e.g. {_example(digits)}.")
    match = _AMOUNT.fullmatch(value)
    if not match:
        raise InvalidAmount(f"Enter the {noun} as a plain number, e.g. {_example(digits)}.")
    if len(match.group(2) or "") > digits:
        if digits == 0:
            raise InvalidAmount(f"{currency.upper()} has no cents: enter a whole number.")
        raise InvalidAmount(f"Use at most {digits} decimals, e.g. {_example(digits)}.")
    amount = Decimal(value)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidAmount(f"The {noun} must be more than zero.")
    cents = int(amount.scaleb(digits))
    if cents > MAX_AMOUNT_MINOR:
        raise InvalidAmount(f"The {noun} must be at most {format_money(MAX_AMOUNT_MINOR, currency)}.")
    return cents


def _example(digits):
    return "1200" if digits == 0 else "12." + "34"[:digits].ljust(digits, "0")
