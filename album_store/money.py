"""The one money formatter. Amounts are integers in the currency's minor unit (cents) everywhere."""
from decimal import Decimal
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision


def minor_unit_digits(currency):
    """2 for usd and eur, 0 for jpy: how many decimals the currency's minor unit has."""
    return get_currency_precision(currency.upper())


def to_decimal(amount_cents, currency):
    return Decimal(amount_cents).scaleb(-minor_unit_digits(currency))


@lru_cache(maxsize=8192)  # Babel's formatting is slow, and a store has few distinct prices
def format_money(amount_cents, currency, locale="en_US"):
    """``format_money(999, "usd")`` → ``"$9.99"``; ``format_money(1200, "jpy")`` → ``"¥1,200"``."""
    return format_currency(to_decimal(amount_cents, currency), currency.upper(), locale=locale)
