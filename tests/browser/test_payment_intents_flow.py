"""The payment_intents flow in headless Chromium: the album page's Payment Element (the stand-in's
Stripe.js frame, brought by the first Pay), 3-D Secure completed and failed, a declined card, and a
retry on the same page.

The store runs with ``store.payment_flow = payment_intents``; the stand-in's Stripe.js, card frame and
challenge come from http://127.0.0.1:PORT, another site than the store's http://localhost:PORT, as
js.stripe.com is. The shared fixtures (conftest.py) fail a test whose browser logged a JavaScript error
or a CSP violation or asked anything of another origin, and keep a screenshot when one fails.
"""

import re
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from album_store.models import Purchase
from tests.browser.conftest import serve_store
from tests.browser.shopper import PaymentForm
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


@on_desktop_and_phone
def test_paying_with_4242_lands_on_the_receipt(shopper, album, dbsession):
    form = shopper.payment_form("Blue Skies")
    page = shopper.page
    assert page.locator("#card-pay").inner_text() == "Pay $9.99"
    assert not form.mounted(), "the Payment Element needs the attempt's PaymentIntent: it comes with the first Pay"
    form.start(email="ana@example.com")
    assert page.locator("#card-email").get_attribute("readonly") is not None, "the attempt was recorded with it"
    assert form.frame.get_by_role("tab").all_inner_texts() == ["Card"], "the stand-in has no wallets"
    assert "cards only" in form.frame.locator("#standin-note").inner_text()
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.email) == ("pending", "ana@example.com")
    form.fill("4242 4242 4242 4242")
    shopper.arrived("card-filled")
    with page.expect_request(re.compile(r"/v1/payment_intents/pi_\w+/confirm$")) as confirm:
        form.pay()
    sent = parse_qs(confirm.value.post_data)
    assert confirm.value.frame.url.split("?")[0].endswith("/js.stripe.com/v3/elements/payment"), "sent by the frame"
    assert set(sent) == {
        "return_url",
        "payment_method_data[billing_details][email]",
        "payment_method_data[type]",
        "payment_method_data[card][number]",
        "payment_method_data[card][cvc]",
        "payment_method_data[card][exp_month]",
        "payment_method_data[card][exp_year]",
        "payment_method_data[payment_user_agent]",
        "payment_method_data[time_on_page]",
        "expected_payment_method_type",
        "use_stripe_sdk",
        "key",
        "client_secret",
    }
    assert sent["return_url"] == [f"{shopper.store_url}/purchases/{purchase.id}"]
    shopper.on_receipt("Blue Skies", shows=("Visa ending in 4242",))
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.email, purchase.amount_cents) == ("paid", "ana@example.com", 999)


@on_desktop_and_phone
def test_3d_secure_completed_is_paid(shopper, album, dbsession):
    form = shopper.payment_form("Blue Skies")
    form.fill("4000 0025 0000 3155").pay()
    challenge = form.challenge()
    challenge.get_by_role("heading", name="Confirm this payment").wait_for()
    assert challenge.locator("#tds-amount").inner_text() == "$9.99"
    shopper.arrived("3d-secure")
    form.answer_challenge("Complete authentication")
    shopper.on_receipt("Blue Skies")
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid" and purchase.card_last4 == "3155"


@on_desktop_and_phone
def test_3d_secure_failed_is_not_paid_with_a_clear_message_then_paid_on_the_same_page(shopper, watch, album, dbsession):
    page = shopper.page
    watch.expect_status(402)  # the store's confirm answers 402 to a payment that did not go through
    form = shopper.payment_form("Blue Skies")
    form.fill("4000 0025 0000 3155").pay()
    form.challenge().get_by_role("heading", name="Confirm this payment").wait_for()
    form.answer_challenge("Fail authentication")
    message = form.error()
    assert "Your card was not charged." in message and "3-D Secure" in message
    shopper.arrived("3d-secure-failed")
    assert page.locator(PaymentForm.CHALLENGE).count() == 0
    assert page.url.endswith("/albums/blue-skies")
    assert not form.mounted(), "that PaymentIntent is canceled: the next Pay brings a new one"
    [purchase] = purchases(dbsession)
    assert purchase.status == "failed" and purchase.paid_at is None

    form.fill("4000 0025 0000 3155").pay()  # again, without reloading
    form.answer_challenge("Complete authentication")
    shopper.on_receipt("Blue Skies")
    assert [p.status for p in purchases(dbsession)] == ["failed", "paid"]


def test_3d_secure_closed_is_a_failed_authentication(shopper, watch, album, dbsession):
    watch.expect_status(402)
    form = shopper.payment_form("Blue Skies")
    form.fill("4000 0025 0000 3155").pay()
    form.answer_challenge("Cancel")
    message = form.error()
    assert "Your card was not charged." in message and "cancelled" in message
    assert [p.status for p in purchases(dbsession)] == ["failed"]


@on_desktop_and_phone
def test_a_declined_card_shows_the_message_beside_the_card_field(shopper, watch, album, dbsession):
    page = shopper.page
    watch.expect_status(402)  # the stand-in's confirm and the store's confirm answer 402 to a declined card
    form = shopper.payment_form("Blue Skies")
    form.fill("4000 0000 0000 0002").pay()
    message = form.error()
    assert "Your card was not charged." in message and "Your card was declined." in message
    assert page.locator("#card-pay").is_enabled()
    shopper.arrived("declined")
    [purchase] = purchases(dbsession)
    assert purchase.status == "failed"

    form.fill("4242 4242 4242 4242").pay()
    shopper.on_receipt("Blue Skies")
    assert [p.status for p in purchases(dbsession)] == ["failed", "paid"]


def test_an_incomplete_card_is_caught_before_anything_is_charged(shopper, album, dbsession, stripe_client):
    form = shopper.payment_form("Blue Skies")
    form.start(email="ana@example.com")
    form.card_number.press_sequentially("4242")
    form.pay()
    assert "card number" in form.error()
    assert form.frame.locator("#number-error").inner_text() == "Your card number is incomplete."
    [purchase] = purchases(dbsession)
    assert purchase.status == "pending"
    assert (
        stripe_client.v1.payment_intents.retrieve(purchase.stripe_payment_intent_id).status == "requires_payment_method"
    )

    form.fill("4242 4242 4242 4242").pay()  # the same attempt, the same PaymentIntent
    shopper.on_receipt("Blue Skies")
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid"


def test_a_price_changed_while_the_page_was_open_charges_nothing_and_the_next_pay_is_the_new_price(
    shopper, watch, album, dbsession
):
    page = shopper.page
    form = shopper.payment_form("Blue Skies")  # at $9.99 ...
    album.price_cents = 1200  # ... the owner raises the price meanwhile
    dbsession.commit()

    watch.expect_status(409)
    page.locator("#card-email").fill("ana@example.com")
    form.pay()
    message = form.error()
    assert "changed from $9.99 to $12.00" in message and "nothing was charged" in message
    shopper.arrived("price-changed")
    assert page.locator("#card-pay").inner_text() == "Pay $12.00"
    assert page.locator(".buy-box__price").inner_text() == "$12.00"
    assert purchases(dbsession) == [] and not form.mounted()

    form.fill("4242 4242 4242 4242", email=None).pay()  # the same page, the new price
    shopper.on_receipt("Blue Skies")
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.amount_cents) == ("paid", 1200)


def test_a_chosen_amount_is_what_the_payment_element_pays_and_0_is_a_free_download(shopper, dbsession, stripe_client):
    """Pay what you want: the amount typed is the PaymentIntent's, and stays so while it is paid."""
    make_album(
        dbsession,
        slug="copper-and-salt",
        title="Copper & Salt",
        artist="Hollow Pines",
        price_cents=799,
        minimum_cents=500,
    )
    make_album(
        dbsession, slug="evergreen-ep", title="Evergreen (EP)", artist="Hollow Pines", price_cents=329, minimum_cents=0
    )
    form = shopper.payment_form("Copper & Salt")
    page = shopper.page
    field = page.get_by_label(re.compile(r"^Your price"))
    assert field.input_value() == "7.99"
    field.fill("12.50")
    form.start(email="ana@example.com")
    assert field.get_attribute("readonly") is not None, "the attempt's PaymentIntent is for this amount"
    form.fill("4242 4242 4242 4242")
    # Pay by keyboard: the taller form (the amount field) is still settling its layout after the card
    # frame grows, and a mouse click aimed a moment earlier can land beside the button.
    page.locator("#card-pay").press("Enter")
    shopper.on_receipt("Copper & Salt")
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.amount_cents) == ("paid", 1250)
    assert stripe_client.v1.charges.retrieve(purchase.stripe_charge_id).amount == 1250

    form = shopper.payment_form("Evergreen (EP)")
    page.get_by_label(re.compile(r"^Your price")).fill("0")
    page.locator("#card-email").fill("fan@example.com")
    form.pay()
    status = page.locator("#card-payment-status")
    status.wait_for(state="visible")
    assert "We emailed a link to fan@example.com" in status.inner_text()
    assert not form.mounted(), "no card for a free download"
    free = purchases(dbsession)[-1]
    assert (free.status, free.amount_cents, free.stripe_payment_intent_id) == ("pending", 0, None)


def test_a_keyboard_alone_pays_with_the_card_form(shopper, album, dbsession):
    """No mouse: Tab to the email, type it, Enter on Pay brings the card fields, the card is typed key by
    key, Tab leads out of them to Pay, and Enter pays."""
    from tests.browser.shopper import future_expiry

    form = shopper.payment_form("Blue Skies")
    page = shopper.page

    def focused(selector):
        return page.evaluate(f"document.activeElement === document.querySelector({selector!r})")

    for _ in range(60):
        if focused("#card-email"):
            break
        page.keyboard.press("Tab")
    page.keyboard.type("keys@example.com")
    page.keyboard.press("Tab")
    assert focused("#card-pay")
    page.keyboard.press("Enter")
    form.card_number.wait_for()
    page.wait_for_timeout(300)  # the card frame settles its height
    # Typed key by key into each field (focused as Tab would, without a click).
    form.card_number.press_sequentially("4242424242424242")
    form.expiry.press_sequentially(future_expiry()[0])
    form.cvc.press_sequentially("123")
    for _ in range(10):  # out of the frame, to Pay
        if focused("#card-pay"):
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    shopper.on_receipt("Blue Skies")
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.email) == ("paid", "keys@example.com")
