"""The checkout_session flow in headless Chromium: the album page's Buy button, Stripe's hosted page
(the stand-in's, on http://127.0.0.1:PORT, another site than the store's http://localhost:PORT, as
checkout.stripe.com is), and back to the receipt: 4242, 3-D Secure completed and failed, a declined
card then a good one, and "Cancel and go back". The shared fixtures fail a test whose browser logged a
JavaScript error or a CSP violation (the store's form-action must allow the redirect to Stripe's page)."""

import re

import pytest
from sqlalchemy import select

from album_store.models import Purchase
from tests.browser.conftest import serve_store
from tests.browser.shopper import SESSION_RECEIPT_URL, future_expiry
from tests.factories import make_album

pytestmark = [pytest.mark.browser, pytest.mark.stripe]


@pytest.fixture(scope="module")
def live_store(browser_required, app_settings, db_engine, standin):
    with serve_store(app_settings, standin, **{"store.payment_flow": "checkout_session"}) as store:
        yield store


@pytest.fixture
def album(dbsession):
    return make_album(dbsession, slug="blue-skies", title="Blue Skies", artist="The Paper Lanterns", price_cents=999)


def purchases(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase).order_by(Purchase.id)).all()


def go_to_stripe(shopper, email="ana@example.com"):
    page = shopper.page
    shopper.open_catalog()
    shopper.open_album("Blue Skies")
    page.locator("#hosted-email").fill(email)
    page.get_by_role("button", name="Buy for $9.99").click()
    page.wait_for_url(re.compile(r"/checkout/pay/cs_"))
    page.locator("#cs-pay-form").wait_for()
    shopper.arrived("hosted-page")
    return page


def pay_on_stripe(page, number):
    page.locator("#cs-number").fill(number)
    page.locator("#cs-exp").fill("")
    page.locator("#cs-exp").press_sequentially(future_expiry()[0])
    page.locator("#cs-cvc").fill("123")
    page.locator("#cs-pay").click()


@pytest.mark.parametrize("device", ["desktop", "phone"], indirect=True)
def test_paying_on_stripes_page_lands_on_the_receipt(shopper, album, dbsession):
    page = go_to_stripe(shopper)
    assert "$9.99" in page.locator("#cs-amount").inner_text()
    assert page.locator("#cs-email").input_value() == "ana@example.com"
    pay_on_stripe(page, "4242 4242 4242 4242")
    shopper.on_receipt("Blue Skies", url=SESSION_RECEIPT_URL)
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.email, purchase.amount_cents) == ("paid", "ana@example.com", 999)


@pytest.mark.parametrize("complete", [True, False])
def test_3d_secure_on_stripes_page(shopper, watch, album, dbsession, complete):
    page = go_to_stripe(shopper)
    pay_on_stripe(page, "4000 0025 0000 3155")
    page.locator("#cs-3ds").wait_for()
    if complete:
        page.locator("#cs-3ds-complete").click()
        shopper.on_receipt("Blue Skies", url=SESSION_RECEIPT_URL)
        assert [p.status for p in purchases(dbsession)] == ["paid"]
    else:
        watch.expect_status(402)  # Stripe's page answers a failed check with the reason
        page.locator("#cs-3ds-fail").click()
        page.locator("#cs-error").filter(has_text=re.compile(r"\S")).wait_for()
        assert [p.status for p in purchases(dbsession)] == ["pending"], "nothing paid; the page stays open"


def test_a_declined_card_then_a_good_one_pays_once(shopper, watch, album, dbsession):
    watch.expect_status(402)
    page = go_to_stripe(shopper)
    pay_on_stripe(page, "4000 0000 0000 0002")
    assert "declined" in page.locator("#cs-error").inner_text()
    pay_on_stripe(page, "4242 4242 4242 4242")
    shopper.on_receipt("Blue Skies", url=SESSION_RECEIPT_URL)
    assert [p.status for p in purchases(dbsession)] == ["paid"]


def test_cancel_goes_back_to_the_album_and_buy_reopens_the_same_page(shopper, album, dbsession):
    page = go_to_stripe(shopper)
    first = page.url
    page.locator("#cs-cancel").click()
    page.wait_for_url(re.compile(r"/albums/blue-skies$"))
    page.get_by_role("button", name="Buy for $9.99").wait_for()
    page.locator("#hosted-email").fill("ana@example.com")
    page.get_by_role("button", name="Buy for $9.99").click()
    page.wait_for_url(re.compile(r"/checkout/pay/cs_"))
    assert page.url == first, "the same checkout, not a second one"
    assert len(purchases(dbsession)) == 1


def test_a_keyboard_alone_pays_on_stripes_page(shopper, album, dbsession):
    """No mouse: Tab to the email, type it, Enter goes to Stripe's page; there the card is typed field
    by field with Tab, and Enter pays; the buyer lands on the receipt."""
    page = shopper.page
    shopper.open_catalog()
    shopper.open_album("Blue Skies")

    def tab_to(selector):
        for _ in range(60):
            if page.evaluate(f"document.activeElement === document.querySelector({selector!r})"):
                return
            page.keyboard.press("Tab")
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("#hosted-email")
    page.keyboard.type("keys@example.com")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/checkout/pay/cs_"))
    page.locator("#cs-pay-form").wait_for()
    tab_to("#cs-number")
    page.keyboard.type("4242424242424242")
    tab_to("#cs-exp")
    page.keyboard.type(future_expiry()[0])
    tab_to("#cs-cvc")
    page.keyboard.type("123")
    page.keyboard.press("Enter")
    shopper.on_receipt("Blue Skies", url=SESSION_RECEIPT_URL)
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.email) == ("paid", "keys@example.com")
