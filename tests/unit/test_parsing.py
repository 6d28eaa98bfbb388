"""The one rule for whole numbers from the outside (``parsing.py``)."""

import pytest

from album_store.parsing import MAX_ID, whole_number


@pytest.mark.parametrize(
    "value, expected",
    [
        ("0", 0),
        ("7", 7),
        ("007", 7),
        (str(MAX_ID), MAX_ID),
        (12, 12),
        (str(MAX_ID + 1), None),
        ("9" * 40, None),
        ("", None),
        (" 7", None),
        ("+7", None),
        ("-7", None),
        ("7.0", None),
        ("²", None),
        ("١٢", None),
        (-1, None),
        (True, None),
        (None, None),
        (["7"], None),
    ],
)
def test_only_ascii_digits_up_to_the_largest_id_are_a_number(value, expected):
    assert whole_number(value) == expected


def test_a_maximum_is_a_smaller_bound():
    assert whole_number("9999", maximum=9999) == 9999
    assert whole_number("10000", maximum=9999) is None
