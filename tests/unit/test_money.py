from album_store.money import format_money
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
