"""StripePaymentService, the one place that talks to Stripe: through the real SDK, over HTTP."""

import json
import time

import pytest

from album_store.services.payments import CardDeclined, InvalidWebhook, PaymentUnavailable
from album_store.services.payments.stripe_service import StripePaymentService
from album_store.settings import load_settings
from tests.conftest import standin_only
from tests.factories import stripe_signature as sign

pytestmark = pytest.mark.stripe


@pytest.fixture(scope="module")
def payments(app_settings):
    return StripePaymentService.from_settings(load_settings(app_settings, environ={}))


def charge(payments, source, ref="ref0001", amount=1234):
    return payments.charge(
        amount_cents=amount,
        currency="usd",
        source=source,
        description="Test Album by Test Artist",
        receipt_email="unit@example.com",
        metadata={"purchase_id": 1, "purchase_ref": ref},
        idempotency_key=f"purchase:{ref}:{time.time_ns()}",
    )


def test_a_charge_comes_back_with_what_the_store_keeps(payments, new_card_token):
    result = charge(payments, new_card_token(), ref="keeps01")
    assert result.succeeded and result.id.startswith("ch_")
    assert (result.amount_cents, result.currency) == (1234, "usd")
    assert (result.card_brand.lower(), result.card_last4) == ("visa", "4242")
    assert result.metadata["purchase_ref"] == "keeps01" and result.amount_refunded_cents == 0


def test_a_declined_card_carries_stripes_codes(payments):
    with pytest.raises(CardDeclined) as declined:
        charge(payments, "tok_chargeDeclinedInsufficientFunds")
    assert declined.value.code == "card_declined"
    assert declined.value.decline_code == "insufficient_funds"
    assert declined.value.user_message == "Your card has insufficient funds."


@standin_only
def test_a_used_token_asks_the_buyer_to_enter_the_card_again(payments, new_card_token):
    token = new_card_token()
    charge(payments, token, ref="once01")
    with pytest.raises(CardDeclined, match="enter them again"):
        charge(payments, token, ref="once02")


def test_an_unreachable_stripe_is_unavailable(app_settings):
    offline = StripePaymentService.from_settings(
        load_settings(
            {**app_settings, "stripe.api_base": "http://127.0.0.1:9", "stripe.max_network_retries": "0"}, environ={}
        )
    )
    with pytest.raises(PaymentUnavailable):
        charge(offline, "tok_visa")
    with pytest.raises(PaymentUnavailable):
        offline.retrieve_charge("ch_anything")


def test_find_charge_prefers_the_succeeded_one_and_retrieve_knows_unknown_ids(payments, new_card_token):
    assert payments.find_charge(purchase_ref="nothingmatches") is None
    with pytest.raises(CardDeclined):
        charge(payments, "tok_chargeDeclined", ref="twice01")
    paid = charge(payments, new_card_token(), ref="twice01")
    assert payments.find_charge(purchase_ref="twice01").id == paid.id
    assert payments.retrieve_charge(paid.id).id == paid.id
    assert payments.retrieve_charge("ch_doesnotexist0000") is None
    with pytest.raises(ValueError):
        payments.find_charge(purchase_ref="x' OR status:'succeeded")


def test_verify_webhook_accepts_only_stripes_signature(payments, app_settings):
    secret = app_settings["stripe.webhook_secret"]
    body = json.dumps(
        {
            "id": "evt_1",
            "object": "event",
            "type": "charge.dispute.created",
            "data": {"object": {"id": "dp_1", "object": "dispute", "charge": "ch_9"}},
        }
    ).encode()
    event = payments.verify_webhook(body, sign(body, secret))
    assert (event.id, event.type, event.object_id, event.charge_id) == (
        "evt_1",
        "charge.dispute.created",
        "dp_1",
        "ch_9",
    )
    for signature in (None, "", sign(body, "whsec_other"), sign(body, secret, int(time.time()) - 301), "garbage"):
        with pytest.raises(InvalidWebhook):
            payments.verify_webhook(body, signature)
