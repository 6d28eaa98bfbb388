"""Prices in currencies whose unit at Stripe differs from CLDR's (ISK): Stripe is sent, and reads
back, its own unit; the store keeps and compares its own (album_store/stripe_amounts.py)."""

import logging

import pytest
from sqlalchemy import select

from album_store.models import Purchase
from tests.conftest import standin_only
from tests.factories import make_album

pytestmark = pytest.mark.stripe


def purchases(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase).order_by(Purchase.id)).all()


@pytest.mark.parametrize(
    "currency, price, at_stripe, shown",
    [
        ("isk", 1500, 150_000, "ISK1,500"),  # CLDR: no decimals; Stripe: "to charge 5 ISK, provide 500"
        ("jpy", 1200, 1200, "¥1,200"),  # zero-decimal at both
        ("usd", 999, 999, "$9.99"),
    ],
)
def test_stripe_is_charged_its_own_unit_and_the_purchase_is_paid(
    shop, flow, dbsession, stripe_client, caplog, currency, price, at_stripe, shown
):
    caplog.set_level(logging.INFO)
    make_album(dbsession, slug="harbour-lights", title="Harbour Lights", price_cents=price, currency=currency)
    page = shop.get("/albums/harbour-lights")
    if flow == "checkout_session":  # no Stripe button on the page: the form says what it shows
        form = page.html.find("form", id="hosted-checkout")
        assert [form.find("input", attrs={"name": n})["value"] for n in ("shown_amount", "shown_currency")] == [
            str(price),
            currency,
        ]
    else:
        button = (
            page.html.find("script", class_="stripe-button")
            if flow == "checkout_js"
            else page.html.find("form", id="card-payment")
        )
        # The button shows what will be charged: data-amount is the album's price in the database (the store's unit).
        assert (button["data-amount"], button["data-currency"]) == (str(price), currency)

    payment = shop.pay("harbour-lights")
    assert payment.paid, payment

    [purchase] = purchases(dbsession)
    # Paid, not left pending as a mismatch: the charge read back compares equal to the purchase.
    assert (purchase.status, purchase.amount_cents, purchase.currency) == ("paid", price, currency)
    charge = stripe_client.v1.charges.retrieve(purchase.stripe_charge_id)
    assert (charge.amount, charge.currency, charge.status) == (at_stripe, currency, "succeeded")
    if flow != "checkout_js":
        intent = stripe_client.v1.payment_intents.retrieve(purchase.stripe_payment_intent_id)
        assert (intent.amount, intent.currency, intent.status) == (at_stripe, currency, "succeeded")
    # The store compared the charge it read back with the purchase, in its own unit: no mismatch logged.
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert shown in shop.get(payment.receipt_url).html.get_text(" ", strip=True).replace("\xa0", " ")


def test_a_checkout_post_for_an_isk_album_charges_a_hundred_times_its_price(testapp, dbsession, stripe_client):
    make_album(dbsession, slug="nordur", price_cents=2490, currency="isk")
    response = testapp.buy("nordur", status=303)
    [purchase] = purchases(dbsession)
    assert response.location.endswith(f"/purchases/{purchase.id}")
    assert (purchase.status, purchase.amount_cents) == ("paid", 2490)
    assert stripe_client.v1.charges.retrieve(purchase.stripe_charge_id).amount == 249_000


@standin_only
def test_reconcile_settles_a_lost_isk_charge_by_comparing_in_the_stores_unit(
    make_app, dbsession, faults, ini_file, stripe_client, caplog
):
    # Reconcile (like the webhook) ignores a charge whose amount differs from the purchase's: it
    # must read Stripe's 150000 back as the store's 1500.
    from album_store.cli import main as cli

    make_album(dbsession, slug="lost-krona", price_cents=1500, currency="isk")
    no_retries = make_app(**{"stripe.max_network_retries": "0"})
    faults.inject(count=1, status=500, when="after")  # the charge is made; its answer is lost
    no_retries.buy("lost-krona", status=503)
    assert purchases(dbsession)[0].status == "pending"
    assert cli(["reconcile", str(ini_file), "--min-age-minutes", "0"]) == 0
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.amount_cents) == ("paid", 1500)
    assert stripe_client.v1.charges.retrieve(purchase.stripe_charge_id).amount == 150_000
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and r.name.endswith("purchases")]
