"""Pay what you want's amount rules (album_store/pricing.py) against an independent statement of them."""

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from album_store.money import MAX_AMOUNT_MINOR, format_amount_input
from album_store.pricing import (
    AmountRefused,
    check_album_pricing,
    check_chosen_amount,
    maximum_for,
    parse_chosen_amount,
)

USD_MINIMUM_CHARGE = 50


@given(
    minimum=st.sampled_from([0, 50, 500]) | st.integers(50, 10_000),
    extra=st.integers(0, 10_000),
    amount=st.integers(0, 2_000_000),
)
def test_an_amount_is_taken_exactly_when_the_rules_say_so(minimum, extra, amount):
    suggested = max(minimum, USD_MINIMUM_CHARGE) + extra
    album = SimpleNamespace(price_cents=suggested, minimum_cents=minimum)
    maximum = maximum_for(album)
    assert maximum == min(100 * suggested, MAX_AMOUNT_MINOR)
    allowed = (amount == 0 and minimum == 0) or max(minimum, USD_MINIMUM_CHARGE) <= amount <= maximum
    try:
        check_chosen_amount(amount, minimum=minimum, maximum=maximum, currency="usd")
    except AmountRefused as refused:
        assert not allowed, (amount, minimum, maximum)
        assert str(refused)  # says why
    else:
        assert allowed, (amount, minimum, maximum)


@given(cents=st.integers(0, MAX_AMOUNT_MINOR), currency=st.sampled_from(["usd", "eur", "jpy", "gbp"]))
def test_the_amount_as_the_page_shows_it_reads_back_exactly(cents, currency):
    assert parse_chosen_amount(format_amount_input(cents, currency), currency) == cents


@pytest.mark.parametrize("text", ["", " ", "-1", "1e3", "1,50", "0x10", "١٢", "12.345", None, 12])
def test_anything_but_a_plain_amount_is_refused(text):
    with pytest.raises(AmountRefused):
        parse_chosen_amount(text, "usd")


def test_jpy_has_no_decimals():
    assert parse_chosen_amount("500", "jpy") == 500
    with pytest.raises(AmountRefused, match="JPY has no cents"):
        parse_chosen_amount("5.5", "jpy")


@pytest.mark.parametrize(
    "suggested, minimum, problem",
    [
        (1000, 500, None),
        (1000, 0, None),
        (1000, 1000, None),
        (1000, 1001, "The minimum cannot be more than the suggested amount."),
        (1000, 30, "Stripe's smallest charge in USD is $0.50."),
    ],
)
def test_the_owners_setting(suggested, minimum, problem):
    found = check_album_pricing(suggested=suggested, minimum=minimum, currency="usd")
    assert (found is None) if problem is None else (problem in found)
