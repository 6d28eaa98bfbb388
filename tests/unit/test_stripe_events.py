"""The webhook event list is written once (services/purchases/stripe_events.py); the README's set-up
step that tells the owner which events to send must name exactly those."""

import re
from pathlib import Path

from album_store.services.purchases import HANDLED_EVENTS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_asks_for_exactly_the_events_the_store_handles():
    text = README.read_text()
    start = text.index("In Stripe's dashboard, add the endpoint")
    step = text[start : text.index("STRIPE_WEBHOOK_SECRET", start)]
    named = re.findall(r"`((?:charge|payment_intent|checkout\.session)\.[a-z_.]+)`", step)
    assert sorted(named) == sorted(HANDLED_EVENTS)
