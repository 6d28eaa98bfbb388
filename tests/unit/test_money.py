import pytest

from album_store.money import InvalidAmount, format_amount_input, format_money, parse_money
from album_store.templating import format_duration


def test_cents_are_formatted_exactly():
    assert format_money(999, "usd") == "$9.99"
    assert format_money(1999, "usd") == "$19.99"
    assert format_money(995, "eur") == "€9.95"
    assert format_money(5, "usd") == "$0.05"
    assert format_money(123456, "gbp") == "£1,234.56"


def test_zero_decimal_currencies_have_no_cents():
    assert format_money(1200, "jpy") == "¥1,200"


def test_durations():
    assert format_duration(0) == "0:00"
    assert format_duration(65) == "1:05"
    assert format_duration(3723) == "1:02:03"


@pytest.mark.parametrize(
    "typed, cents", [("12.34", 1234), ("12", 1200), ("0.5", 50), (" 9.99 ", 999), ("0.01", 1), ("999999.99", 99999999)]
)
def test_a_typed_price_becomes_exact_cents(typed, cents):
    assert parse_money(typed, "usd") == cents


@pytest.mark.parametrize(
    "typed, message",
    [
        ("", "Enter a price"),
        ("0", "more than zero"),
        ("0.00", "more than zero"),
        ("-1", "plain number"),
        ("12.345", "at most 2 decimals"),
        ("12.340", "at most 2 decimals"),
        ("1e3", "plain number"),
        ("1,000", "plain number"),
        ("12,34", "plain number"),
        ("NaN", "plain number"),
        ("$12", "plain number"),
        ("١٢", "plain number"),  # digits, but not the ones a price is typed with
        ("1000000", "at most $999,999.99"),
    ],
)
def test_a_price_that_is_not_a_positive_amount_with_two_decimals_is_refused(typed, message):
    with pytest.raises(InvalidAmount) as refused:
        parse_money(typed, "usd")
    assert message in str(refused.value)


def test_a_zero_decimal_currency_takes_whole_numbers_only():
    assert parse_money("1200", "jpy") == 1200
    with pytest.raises(InvalidAmount, match="no cents"):
        parse_money("12.5", "jpy")


def test_the_form_shows_cents_back_as_typed():
    assert format_amount_input(1234, "usd") == "12.34"
    assert format_amount_input(1200, "usd") == "12.00"
    assert format_amount_input(5, "usd") == "0.05"
    assert format_amount_input(1200, "jpy") == "1200"
    for cents in (1, 999, 1999, 99999999):
        assert parse_money(format_amount_input(cents, "usd"), "usd") == cents
