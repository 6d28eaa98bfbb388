"""tests/stripe_reads.py: against Stripe's real test mode a search is polled until what the test waits
for is there (or a deadline); against the stand-in it is read once."""

import types

import pytest

from tests import stripe_reads


class LaggingSearch:
    """A search that finds the charge only from its third call on, as Stripe's may."""

    def __init__(self):
        self.calls = 0

    def __call__(self, params):
        self.calls += 1
        found = [types.SimpleNamespace(id="ch_1")] if self.calls >= 3 else []
        return types.SimpleNamespace(data=found)


@pytest.fixture
def no_sleeping(monkeypatch):
    monkeypatch.setattr(stripe_reads.time, "sleep", lambda seconds: None)


def test_against_real_stripe_a_search_is_polled_until_the_object_is_found(monkeypatch, no_sleeping):
    monkeypatch.setattr("tests.conftest.STRIPE_MODE", "stripe")
    search = LaggingSearch()
    found = stripe_reads.wait_for_search(
        search, "metadata['purchase_ref']:'r'", until=lambda f: "ch_1" in stripe_reads.ids(f)
    )
    assert stripe_reads.ids(found) == ["ch_1"] and search.calls == 3


def test_against_real_stripe_polling_gives_up_at_the_deadline(monkeypatch, no_sleeping):
    monkeypatch.setattr("tests.conftest.STRIPE_MODE", "stripe")
    search = LaggingSearch()
    assert stripe_reads.wait_for_search(search, "q", deadline=0) == [] and search.calls == 1


def test_against_the_stand_in_a_search_is_read_once(monkeypatch, no_sleeping):
    monkeypatch.setattr("tests.conftest.STRIPE_MODE", "standin")
    search = LaggingSearch()
    assert stripe_reads.wait_for_search(search, "q") == [] and search.calls == 1
