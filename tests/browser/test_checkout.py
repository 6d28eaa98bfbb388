"""A shopper buys an album in a real browser: the catalog, the album, Checkout's modal, the receipt.

Checkout here is the stand-in's real ``checkout.js`` and modal iframe (no shortcut POST): the test
types the card into the iframe, the modal tokenizes it at the stand-in and hands the token to the
album's form, which the store charges. Desktop and phone (375 px) alike.
"""

import re

import pytest
from sqlalchemy import select

from album_store.models import Purchase
from tests.browser.shopper import CARD_DECLINED, CARD_OK
from tests.factories import make_album

pytestmark = [pytest.mark.browser, pytest.mark.stripe]

on_desktop_and_phone = pytest.mark.parametrize("device", ["desktop", "phone"], indirect=True)


def purchases(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase).order_by(Purchase.id)).all()


@pytest.fixture
def blue_skies(dbsession):
    make_album(dbsession, slug="night-bus-home", title="Night Bus Home", artist="The Paper Lanterns", price_cents=1999)
    return make_album(dbsession, slug="blue-skies", title="Blue Skies", artist="The Paper Lanterns", price_cents=999)


@on_desktop_and_phone
def test_a_shopper_pays_by_card_and_lands_on_the_receipt(shopper, blue_skies, dbsession, stripe_client):
    shopper.open_catalog()
    shopper.open_album("Blue Skies")
    assert shopper.buy_button().inner_text() == "Buy 'Blue Skies' for $9.99"

    modal = shopper.open_checkout()
    frame = modal.frame
    assert frame.locator("#sc-description").inner_text() == "Blue Skies — The Paper Lanterns"
    assert frame.locator("#sc-amount").inner_text() == "$9.99"
    assert modal.pay_button.inner_text() == "Pay $9.99"
    modal.fill(email="ana@example.com", card=CARD_OK)
    response = modal.pay()

    page = shopper.page
    assert response.status == 200 and re.search(r"/purchases/\d+$", page.url), page.url
    shopper.on_receipt(
        "Blue Skies", shows=("Paid", "$9.99", "Visa ending in 4242", "ana@example.com", "Getting your music")
    )

    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.amount_cents, purchase.email) == ("paid", 999, "ana@example.com")
    assert page.url.endswith(f"/purchases/{purchase.id}")
    charge = stripe_client.v1.charges.retrieve(purchase.stripe_charge_id)
    assert (charge.amount, charge.status) == (999, "succeeded")


@on_desktop_and_phone
def test_a_declined_card_shows_the_message_and_the_shopper_tries_again(shopper, watch, blue_skies, dbsession):
    shopper.open_catalog()
    shopper.open_album("Blue Skies")

    watch.expect_status(402)
    response = shopper.pay(CARD_DECLINED)
    assert response.status == 402
    shopper.arrived("declined")
    error = shopper.card_error()
    assert "Your card was not charged." in error and "Your card was declined." in error
    # The keyboard (and a screen reader) is taken to the message that says what happened.
    assert shopper.page.evaluate("document.activeElement.classList.contains('alert--error')")
    assert shopper.heading() == "Blue Skies", "still on the album, with its Buy button"
    [declined] = purchases(dbsession)
    assert declined.status == "failed" and declined.paid_at is None

    response = shopper.pay(CARD_OK, email="ana@example.com")
    assert response.status == 200 and re.search(r"/purchases/\d+$", shopper.page.url)
    shopper.on_receipt("Blue Skies")
    assert [p.status for p in purchases(dbsession)] == ["failed", "paid"]


def test_a_price_changed_while_the_page_was_open_charges_nothing_then_the_new_price(
    shopper, watch, blue_skies, dbsession, stripe_client
):
    shopper.open_catalog()
    shopper.open_album("Blue Skies")  # at $9.99 ...
    blue_skies.price_cents = 1200  # ... the owner raises the price meanwhile
    dbsession.commit()

    watch.expect_status(409)
    response = shopper.pay(CARD_OK, email="ana@example.com")
    assert response.status == 409
    shopper.arrived("price-changed")
    message = shopper.card_error()
    assert "changed from $9.99 to $12.00" in message and "nothing was charged" in message
    assert purchases(dbsession) == []
    assert shopper.buy_button().inner_text() == "Buy 'Blue Skies' for $12.00"

    response = shopper.pay(CARD_OK, email="ana@example.com")
    assert response.status == 200 and re.search(r"/purchases/\d+$", shopper.page.url)
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.amount_cents) == ("paid", 1200)
    assert stripe_client.v1.charges.retrieve(purchase.stripe_charge_id).amount == 1200


def test_the_page_behind_the_open_checkout_window_is_inert_until_it_closes(shopper, blue_skies):
    """A screen reader (or a Tab) cannot wander behind Checkout's window: the page is inert while it is
    open, its frame is a modal dialog, and the page is usable again once it is closed."""
    shopper.open_catalog()
    shopper.open_album("Blue Skies")
    page = shopper.page
    assert page.evaluate("document.querySelector('main').inert") is False
    modal = shopper.open_checkout()
    page.wait_for_function("document.querySelector('main').inert === true")
    assert page.evaluate("document.querySelector('.site-header').inert") is True
    frame = page.locator("iframe.stripe-standin-checkout-app")
    assert (frame.get_attribute("role"), frame.get_attribute("aria-modal")) == ("dialog", "true")
    modal.frame.locator("#sc-close").click()
    page.wait_for_function("document.querySelector('main').inert === false")
    assert page.evaluate("document.querySelector('.site-header').inert") is False


def _tab_until(page, condition, most=60):
    """Press Tab until ``condition`` (JavaScript, in the page) holds; fails after ``most`` presses."""
    for _ in range(most):
        if page.evaluate(condition):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"never reached by Tab: {condition}")


def test_a_keyboard_alone_buys_an_album(shopper, blue_skies, dbsession):
    """No mouse: Tab to the Buy button, Enter opens Checkout, the card is typed field by field with
    Tab, and Enter pays; the receipt follows."""
    from tests.browser.shopper import future_expiry

    shopper.open_catalog()
    shopper.open_album("Blue Skies")
    page = shopper.page
    _tab_until(page, "document.activeElement.classList.contains('stripe-button-el')")
    page.keyboard.press("Enter")
    frame = page.frame_locator("iframe.stripe-standin-checkout-app")
    frame.locator("#sc-email").wait_for(state="visible")
    for _ in range(10):  # the window takes the focus: Tab to its email field
        if frame.locator("#sc-email").evaluate("e => e === document.activeElement"):
            break
        page.keyboard.press("Tab")
    page.keyboard.type("keys@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type(CARD_OK.replace(" ", ""))
    page.keyboard.press("Tab")
    page.keyboard.type(future_expiry()[0])
    page.keyboard.press("Tab")
    page.keyboard.type("123")
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    shopper.on_receipt("Blue Skies")
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.email) == ("paid", "keys@example.com")
