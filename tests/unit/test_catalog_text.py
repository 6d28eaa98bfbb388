"""Album addresses made from titles, and track lengths typed as m:ss."""

import pytest

from album_store.forms import parse_duration
from album_store.services.catalog import slugify


@pytest.mark.parametrize(
    "title, slug",
    [
        ("Blue Skies", "blue-skies"),
        ("Copper & Salt (Live!)", "copper-salt-live"),
        ("Zagreb, 3 A.M.", "zagreb-3-a-m"),
        ("Marta Kovač Trio — Ærø", "marta-kovac-trio-r"),
        ("???", "album"),
        ("x" * 300, "x" * 120),
    ],
)
def test_a_slug_is_made_from_the_title(title, slug):
    assert slugify(title) == slug


@pytest.mark.parametrize(
    "typed, seconds", [("3:45", 225), ("0:07", 7), ("72:05", 4325), ("1:02:03", 3723), (" 4:00 ", 240)]
)
def test_lengths_are_typed_as_m_ss(typed, seconds):
    assert parse_duration(typed) == seconds


@pytest.mark.parametrize("typed", ["3:60", "345", "3.45", "3:5", ":45", "-1:00", "1:60:00", "", "٣:٤٥"])
def test_anything_else_is_not_a_length(typed):
    assert parse_duration(typed) is None
