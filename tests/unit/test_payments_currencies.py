"""StripePaymentService converts every amount it sends to Stripe's unit and every amount it reads
back to the store's (album_store/stripe_amounts.py): checked one call at a time, in ISK."""

import time

import pytest

from album_store.services.payments.stripe_service import StripePaymentService
from album_store.settings import load_settings

pytestmark = pytest.mark.stripe


@pytest.fixture(scope="module")
def payments(app_settings):
    return StripePaymentService.from_settings(load_settings(app_settings, environ={}))


def details(ref, amount=1500, currency="isk"):
    return dict(
        amount_cents=amount,
        currency=currency,
        description="Krona Album by Test Artist",
        receipt_email="unit@example.com",
        metadata={"purchase_id": 1, "purchase_ref": ref},
        idempotency_key=f"purchase:{ref}:{time.time_ns()}",
    )


def test_a_charge_is_sent_in_stripes_unit_and_read_back_in_the_stores(payments, stripe_client, new_card_token):
    made = payments.charge(source=new_card_token(), **details("isk0001"))
    assert made.succeeded and (made.amount_cents, made.currency) == (1500, "isk")
    assert stripe_client.v1.charges.retrieve(made.id).amount == 150_000  # "to charge 5 ISK, provide 500"
    assert payments.retrieve_charge(made.id).amount_cents == 1500

    refunded = payments.refund(made.id, idempotency_key=f"refund:{made.id}")
    assert (refunded.amount_cents, refunded.amount_refunded_cents) == (1500, 1500)
    assert stripe_client.v1.charges.retrieve(made.id).amount_refunded == 150_000


def test_a_payment_intent_is_sent_in_stripes_unit_and_read_back_in_the_stores(payments, stripe_client):
    intent = payments.create_payment_intent(**details("isk0002"))
    assert (intent.amount_cents, intent.currency) == (1500, "isk")
    assert stripe_client.v1.payment_intents.retrieve(intent.id).amount == 150_000
    assert payments.retrieve_payment_intent(intent.id).amount_cents == 1500


@pytest.mark.parametrize("currency, amount", [("jpy", 1200), ("usd", 1234)])
def test_other_currencies_are_sent_as_they_are(payments, stripe_client, currency, amount):
    intent = payments.create_payment_intent(**details(f"oth{currency}", amount, currency))
    assert intent.amount_cents == amount
    assert stripe_client.v1.payment_intents.retrieve(intent.id).amount == amount
