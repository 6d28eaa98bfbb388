"""The payment_intents flow in headless Chromium: the album page's card field (the stand-in's Stripe.js
frame), 3-D Secure completed and cancelled, a declined card, and a retry on the same page.

The store runs with ``store.payment_flow = payment_intents``; the stand-in's Stripe.js, card frame and
challenge come from http://127.0.0.1:PORT, another site than the store's http://localhost:PORT, as
js.stripe.com is. The shared fixtures (conftest.py) fail a test whose browser logged a JavaScript error
or a CSP violation or asked anything of another origin, and keep a screenshot when one fails.
"""
from datetime import date
import re

import pytest
from sqlalchemy import select

from album_store.models import Purchase
from tests.browser.conftest import serve_store
from tests.factories import make_album

pytestmark = [pytest.mark.browser, pytest.mark.stripe]

on_desktop_and_phone = pytest.mark.parametrize("device", ["desktop", "phone"], indirect=True)


@pytest.fixture(scope="module")
def live_store(browser_required, app_settings, db_engine, standin):
    with serve_store(app_settings, standin, **{"store.payment_flow": "payment_intents"}) as store:
        yield store


@pytest.fixture
def album(dbsession):
    return make_album(dbsession, slug="blue-skies", title="Blue Skies", artist="The Paper Lanterns", price_cents=999)


def purchases(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase).order_by(Purchase.id)).all()


class CardForm:
    """The album page's card form; the card inputs live in the stand-in's Stripe.js frame."""

    def __init__(self, shopper):
        self.shopper = shopper
        self.page = shopper.page
        self.frame = self.page.frame_locator("#card-element iframe")

    def open(self, title):
        self.shopper.open_catalog()
        self.shopper.open_album(title)
        self.page.locator("#card-payment").wait_for(state="visible")
        self.frame.get_by_label("Card number").wait_for()
        return self

    def fill(self, card, *, email="shopper@example.com"):
        email_field = self.page.locator("#card-email")
        if email is not None and not email_field.get_attribute("readonly"):
            email_field.fill(email)
        number = self.frame.get_by_label("Card number")
        number.fill("")
        number.press_sequentially(card.replace(" ", ""))
        expiry = self.frame.get_by_label("Expiration date (MM / YY)")
        expiry.fill("")
        expiry.press_sequentially(f"12{(date.today().year + 3) % 100:02d}")
        cvc = self.frame.get_by_label("CVC")
        cvc.fill("")
        cvc.press_sequentially("123")
        return self

    def pay(self):
        self.page.locator("#card-pay").click()

    def error(self):
        errors = self.page.locator("#card-errors")
        errors.filter(has_text=re.compile(r"\S")).wait_for()
        return errors.inner_text()

    def challenge(self):
        return self.page.frame_locator("iframe.stripe-standin-3ds-frame")

    def answer_challenge(self, button):
        """Press a button of the bank's 3-D Secure challenge. Sent as a DOM click: the challenge's frame
        is removed as it answers, and a real click into a cross-site frame that vanishes under it can
        leave the DevTools protocol waiting for the click's acknowledgement for ever."""
        self.challenge().get_by_role("button", name=button).dispatch_event("click")


def wait_for_receipt(shopper):
    shopper.page.wait_for_url(re.compile(r"/purchases/\d+$"))
    shopper.arrived("receipt")
    return shopper.heading()


@on_desktop_and_phone
def test_paying_with_4242_lands_on_the_receipt(shopper, album, dbsession):
    form = CardForm(shopper).open("Blue Skies")
    assert shopper.page.locator("#card-pay").inner_text() == "Pay $9.99"
    form.fill("4242 4242 4242 4242", email="ana@example.com")
    shopper.arrived("card-filled")
    form.pay()
    assert wait_for_receipt(shopper) == "Thank you! Blue Skies is yours."
    assert "Visa ending in 4242" in shopper.page.locator(".receipt").inner_text()
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.email, purchase.amount_cents) == ("paid", "ana@example.com", 999)


@on_desktop_and_phone
def test_3d_secure_confirmed_is_paid(shopper, album, dbsession):
    form = CardForm(shopper).open("Blue Skies")
    form.fill("4000 0025 0000 3155").pay()
    challenge = form.challenge()
    challenge.get_by_role("heading", name="Confirm this payment").wait_for()
    assert challenge.locator("#tds-amount").inner_text() == "$9.99"
    shopper.arrived("3d-secure")
    form.answer_challenge("Complete authentication")
    assert wait_for_receipt(shopper) == "Thank you! Blue Skies is yours."
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid" and purchase.card_last4 == "3155"


def test_3d_secure_cancelled_is_not_paid_with_a_clear_message_then_paid_on_the_same_page(shopper, watch, album, dbsession):
    page = shopper.page
    watch.expect_status(402)  # the store's confirm answers 402 to a payment that did not go through
    form = CardForm(shopper).open("Blue Skies")
    form.fill("4000 0025 0000 3155").pay()
    form.answer_challenge("Cancel")
    message = form.error()
    assert "Your card was not charged." in message and "3-D Secure" in message and "cancelled" in message
    assert page.locator("iframe.stripe-standin-3ds-frame").count() == 0
    assert page.url.endswith("/albums/blue-skies")
    [purchase] = purchases(dbsession)
    assert purchase.status == "failed" and purchase.paid_at is None

    form.fill("4000 0025 0000 3155").pay()  # again, without reloading
    form.answer_challenge("Complete authentication")
    assert wait_for_receipt(shopper) == "Thank you! Blue Skies is yours."
    assert [p.status for p in purchases(dbsession)] == ["failed", "paid"]


@on_desktop_and_phone
def test_a_declined_card_shows_the_message_beside_the_card_field(shopper, watch, album, dbsession):
    page = shopper.page
    watch.expect_status(402)  # the store's confirm answers 402 to a declined card
    form = CardForm(shopper).open("Blue Skies")
    form.fill("4000 0000 0000 0002").pay()
    message = form.error()
    assert "Your card was not charged." in message and "Your card was declined." in message
    assert page.locator("#card-pay").is_enabled()
    shopper.arrived("declined")
    [purchase] = purchases(dbsession)
    assert purchase.status == "failed"

    form.fill("4242 4242 4242 4242").pay()
    assert wait_for_receipt(shopper) == "Thank you! Blue Skies is yours."
    assert [p.status for p in purchases(dbsession)] == ["failed", "paid"]


def test_an_incomplete_card_is_caught_before_anything_is_recorded(shopper, album, dbsession):
    form = CardForm(shopper).open("Blue Skies")
    shopper.page.locator("#card-email").fill("ana@example.com")
    form.frame.get_by_label("Card number").press_sequentially("4242")
    form.pay()
    assert "card number" in form.error()
    assert purchases(dbsession) == []


def test_a_price_changed_while_the_page_was_open_charges_nothing_and_the_next_pay_is_the_new_price(shopper, watch, album, dbsession):
    page = shopper.page
    form = CardForm(shopper).open("Blue Skies")  # at $9.99 ...
    album.price_cents = 1200  # ... the owner raises the price meanwhile
    dbsession.commit()

    watch.expect_status(409)
    form.fill("4242 4242 4242 4242", email="ana@example.com").pay()
    message = form.error()
    assert "changed from $9.99 to $12.00" in message and "nothing was charged" in message
    shopper.arrived("price-changed")
    assert page.locator("#card-pay").inner_text() == "Pay $12.00"
    assert page.locator(".buy-box__price").inner_text() == "$12.00"
    assert purchases(dbsession) == []

    form.pay()  # the card is still filled in: the same page, the new price
    assert wait_for_receipt(shopper) == "Thank you! Blue Skies is yours."
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.amount_cents) == ("paid", 1200)
