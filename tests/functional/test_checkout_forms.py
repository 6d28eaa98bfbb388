"""The checkout forms (``forms.CardTokenForm``, ``HostedCheckoutForm``, ``PaymentStartForm``): what
each refuses, with which 400, recording nothing and asking Stripe nothing."""

import pytest
from sqlalchemy import func, select

from album_store.models import Purchase
from tests.factories import make_album


def _purchase_count(dbsession):
    dbsession.expire_all()
    return dbsession.scalar(select(func.count()).select_from(Purchase))


@pytest.mark.parametrize(
    "token, message",
    [
        ("", "arrived without a card token"),
        ("   ", "arrived without a card token"),
        ("tok-with-dashes", "not one Stripe makes"),
        ("t", "not one Stripe makes"),
        ("tok_" + "x" * 300, "not one Stripe makes"),
        ("tok_ok<script>", "not one Stripe makes"),
    ],
)
def test_a_card_token_stripe_never_makes_is_a_400(testapp, dbsession, token, message):
    make_album(dbsession, slug="tokens")
    page = testapp.buy("tokens", token=token, status=400)
    assert message in page.text and "nothing was charged" in page.text
    assert _purchase_count(dbsession) == 0


@pytest.mark.parametrize("email", ["", "not-an-address", "a@b", f"{'x' * 250}@example.com", "a\x00b@example.com"])
def test_a_guest_without_a_valid_address_is_a_400(testapp, dbsession, email):
    make_album(dbsession, slug="emails")
    page = testapp.buy("emails", token="tok_visa", email=email, status=400)
    assert "valid email address for your receipt" in page.text
    assert _purchase_count(dbsession) == 0


def test_the_hosted_checkout_needs_a_valid_address_too(checkout_session_app, dbsession):
    from tests.conftest import StoreTestApp
    from tests.paying import shown_price

    make_album(dbsession, slug="hosted-emails")
    store = StoreTestApp(checkout_session_app)
    fields = {**shown_price(store.get("/albums/hosted-emails")), "email": "nobody", "csrf_token": store.csrf_token()}
    page = store.post("/albums/hosted-emails/checkout-session", fields, status=400)
    assert "Please enter a valid email address for your receipt; nothing was charged." in page.text
    assert _purchase_count(dbsession) == 0


@pytest.mark.parametrize("email", [None, 42, ["buyer@example.com"], {"a": 1}, "nobody"])
def test_a_card_payment_start_without_an_address_in_its_json_is_a_400_naming_the_field(
    payment_intents_app, dbsession, email
):
    from tests.conftest import StoreTestApp

    make_album(dbsession, slug="json-emails", price_cents=1500)
    store = StoreTestApp(payment_intents_app)
    csrf = store.csrf_token("json-emails")
    attempt = store.get("/payment-attempt").json["attempt_id"]
    refused = store.post_json(
        "/albums/json-emails/payment-intent",
        {"attempt_id": attempt, "email": email, "shown_amount": 1500, "shown_currency": "usd"},
        headers={"X-CSRF-Token": csrf},
        status=400,
    )
    assert refused.json == {
        "status": "invalid",
        "field": "email",
        "error": "Please enter a valid email address for your receipt.",
    }
    assert _purchase_count(dbsession) == 0
