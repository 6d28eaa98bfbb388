"""Stripe's unit and minimum per currency (album_store/stripe_amounts.py), against Stripe's currency page."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from album_store.forms import CURRENCIES
from album_store.money import MAX_AMOUNT_MINOR, InvalidAmount, minor_unit_digits
from album_store.stripe_amounts import (
    MINIMUM_CHARGE,
    SUPPORTED,
    THREE_DECIMAL,
    WHOLE_UNITS_AS_TWO_DECIMALS,
    ZERO_DECIMAL,
    StripeAmountError,
    check_chargeable,
    from_stripe_amount,
    minimum_charge,
    stripe_digits,
    to_stripe_amount,
)

# Stripe's lists, as https://docs.stripe.com/currencies gives them (checked by hand, not derived).
STRIPE_ZERO_DECIMAL = "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".lower().split()
STRIPE_THREE_DECIMAL = "BHD JOD KWD OMR TND".lower().split()

currencies = st.sampled_from(sorted(SUPPORTED))


@st.composite
def store_amounts(draw):
    """A supported currency and an amount Stripe can be sent in it (three-decimal: last digit 0)."""
    currency = draw(currencies)
    step = 10 if currency in THREE_DECIMAL else 1
    return currency, draw(st.integers(0, MAX_AMOUNT_MINOR // step)) * step


@given(store_amounts())
def test_every_amount_survives_the_round_trip_to_stripe_and_back(case):
    currency, amount = case
    assert from_stripe_amount(to_stripe_amount(amount, currency), currency) == amount
    assert from_stripe_amount(to_stripe_amount(amount, currency.upper()), currency.upper()) == amount


@given(currencies, st.integers(0, 10**9))
def test_every_stripe_amount_the_store_can_hold_survives_the_round_trip(currency, stripe_amount):
    if currency in THREE_DECIMAL:
        stripe_amount -= stripe_amount % 10  # Stripe never holds another (its last digit is 0)
    try:
        amount = from_stripe_amount(stripe_amount, currency)
    except StripeAmountError:
        # Only where Stripe's unit is finer than CLDR's (ISK, UGX: Stripe counts hundredths) is a
        # Stripe amount sometimes not a whole store unit.
        assert stripe_digits(currency) > minor_unit_digits(currency) and stripe_amount % 100
        return
    assert to_stripe_amount(amount, currency) == stripe_amount


@given(st.integers(0, MAX_AMOUNT_MINOR))
def test_isk_and_ugx_go_to_stripe_as_a_hundred_times_the_store_amount(amount):
    # "to charge 5 ISK, provide an amount value of 500" (the same words for UGX).
    assert to_stripe_amount(amount, "isk") == 100 * amount
    assert to_stripe_amount(amount, "ugx") == 100 * amount
    assert from_stripe_amount(100 * amount, "isk") == amount


def test_five_isk_is_500_at_stripe():
    assert to_stripe_amount(5, "isk") == 500
    assert to_stripe_amount(1500, "isk") == 150_000  # a 1,500 kr album, not 15 kr


@given(st.sampled_from(sorted(set(STRIPE_ZERO_DECIMAL) - {"ugx"})), st.integers(0, MAX_AMOUNT_MINOR))
def test_zero_decimal_currencies_send_the_same_number(currency, amount):
    # "the charge and the amount are the same, without requiring multiplication"
    assert to_stripe_amount(amount, currency) == amount
    assert from_stripe_amount(amount, currency) == amount


@given(st.sampled_from(["usd", "eur", "gbp", "huf", "twd", "cad", "czk"]), st.integers(0, MAX_AMOUNT_MINOR))
def test_two_decimal_currencies_send_the_same_number(currency, amount):
    # HUF and TWD: "you can charge two-decimal amounts" (zero-decimal is for payouts only).
    assert to_stripe_amount(amount, currency) == amount


def test_the_tables_are_stripes_lists():
    assert ZERO_DECIMAL | WHOLE_UNITS_AS_TWO_DECIMALS >= set(STRIPE_ZERO_DECIMAL)
    assert ZERO_DECIMAL == set(STRIPE_ZERO_DECIMAL) - {"ugx"}  # UGX: Stripe's special case governs
    assert THREE_DECIMAL == set(STRIPE_THREE_DECIMAL)
    assert [stripe_digits(c) for c in ("jpy", "usd", "isk", "ugx", "huf", "twd", "kwd")] == [0, 2, 2, 2, 2, 2, 3]


@pytest.mark.parametrize("amount", [5124, 5121, 1])
def test_a_three_decimal_amount_whose_last_digit_is_not_0_is_refused(amount):
    # "these API calls require the least-significant (last) digit to be 0"
    with pytest.raises(StripeAmountError, match="last of the three decimals must be 0"):
        to_stripe_amount(amount, "kwd")
    assert to_stripe_amount(5120, "kwd") == 5120


def test_a_fractional_isk_amount_from_stripe_is_refused_not_rounded():
    with pytest.raises(StripeAmountError):
        from_stripe_amount(1510, "isk")  # 15.10 kr: Stripe refuses fractions of ISK since April 2023


@pytest.mark.parametrize("currency", ["iqd", "xyz", "", None])
def test_a_currency_stripe_s_page_does_not_place_is_refused_rather_than_guessed(currency):
    # IQD: CLDR says 0 decimals, Stripe's default is 2; the store does not guess which.
    with pytest.raises(StripeAmountError, match="does not know how Stripe counts"):
        to_stripe_amount(100, currency)
    with pytest.raises(StripeAmountError):
        from_stripe_amount(100, currency)


def test_amounts_are_integers():
    with pytest.raises(TypeError):
        to_stripe_amount(12.5, "usd")
    with pytest.raises(TypeError):
        from_stripe_amount(True, "usd")


# --- the minimum charge --------------------------------------------------------------------
def test_every_currency_the_owner_is_offered_has_a_stripe_minimum():
    assert all(code in MINIMUM_CHARGE for code in CURRENCIES), [c for c in CURRENCIES if c not in MINIMUM_CHARGE]


@pytest.mark.parametrize(
    "currency, minimum, message",
    [
        ("usd", 50, "Stripe's smallest charge in USD is $0.50."),
        ("eur", 50, "Stripe's smallest charge in EUR is €0.50."),
        ("gbp", 30, "Stripe's smallest charge in GBP is £0.30."),
        ("jpy", 50, "Stripe's smallest charge in JPY is ¥50."),
        ("czk", 1500, "Stripe's smallest charge in CZK is CZK15.00."),
        ("huf", 17500, "Stripe's smallest charge in HUF is HUF175.00."),
    ],
)
def test_a_price_under_stripes_minimum_is_refused_naming_the_minimum(currency, minimum, message):
    assert minimum_charge(currency) == minimum
    check_chargeable(minimum, currency)
    with pytest.raises(StripeAmountError) as refused:
        check_chargeable(minimum - 1, currency)
    assert str(refused.value) == message
    assert isinstance(refused.value, InvalidAmount)  # what the album form turns into a field error


@given(st.sampled_from(sorted(MINIMUM_CHARGE)), st.integers(1, MAX_AMOUNT_MINOR))
def test_check_chargeable_is_exactly_expressible_and_not_under_the_minimum(currency, amount):
    expected_ok = amount >= minimum_charge(currency)
    try:
        check_chargeable(amount, currency)
    except StripeAmountError:
        assert not expected_ok
    else:
        assert expected_ok


@pytest.mark.parametrize("currency", ["isk", "twd", "ugx", "kwd", "clp"])
def test_a_currency_without_a_published_minimum_is_refused_not_passed(currency):
    assert minimum_charge(currency) is None
    amount = 10 ** (minor_unit_digits(currency) + 4)
    to_stripe_amount(amount, currency)  # chargeable in Stripe's unit…
    with pytest.raises(StripeAmountError, match=f"publishes no minimum charge for {currency.upper()}"):
        check_chargeable(amount, currency)  # …but the store can't tell whether Stripe would take it
