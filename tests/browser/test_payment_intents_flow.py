"""The payment_intents flow in headless Chromium: the album page's card field (the stand-in's Stripe.js
frame), 3-D Secure completed and cancelled, a declined card, and a retry on the same page.

The store (``store.payment_flow = payment_intents``) runs in a thread on http://localhost:PORT; the
stand-in's Stripe.js, card frame and challenge come from http://127.0.0.1:PORT2, another site, as
js.stripe.com is. Chromium is Debian's (``/usr/bin/chromium``, or ``CHROMIUM_PATH``), driven by
Playwright with no browser download; without either the tests skip and say why. Every page must load
without a JavaScript error or a Content-Security-Policy violation.
"""
from datetime import date
import os
import re
import threading

import pytest
from sqlalchemy import select

from album_store.models import Purchase
from tests.conftest import STRIPE_MODE
from tests.factories import make_album

pytestmark = [pytest.mark.stripe]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CSP_REPORTER = """
document.addEventListener('securitypolicyviolation', function (e) {
  console.error('securitypolicyviolation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || '(inline)'));
}, true);
"""


def why_no_browser():
    if STRIPE_MODE != "standin":
        return "the browser tests drive the local Stripe stand-in's Stripe.js; this run talks to Stripe itself"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (as root: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright; never `playwright install`)"
    return None


@pytest.fixture(scope="module")
def live_store(app_settings, db_engine, standin):
    reason = why_no_browser()
    if reason:
        pytest.skip(reason)
    from webtest.http import StopableWSGIServer

    from album_store import main

    app = main({}, **{**app_settings, "store.payment_flow": "payment_intents"})
    server = StopableWSGIServer(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://localhost:{server.effective_port}"
    server.shutdown()
    thread.join(timeout=10)
    app.registry["db_engine"].dispose()


@pytest.fixture(scope="module")
def chromium(live_store):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_store, dbsession):
    context = chromium.new_context(base_url=live_store, locale="en-US", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    context.add_init_script(CSP_REPORTER)
    problems = []
    context.on("console", lambda m: problems.append(m.text) if m.type == "error" and "status of 402" not in m.text
               and "status of 409" not in m.text else None)
    context.on("weberror", lambda e: problems.append(str(e.error)))
    page = context.new_page()
    yield page
    context.close()
    assert not problems, problems


@pytest.fixture
def album(dbsession):
    return make_album(dbsession, slug="blue-skies", title="Blue Skies", artist="The Paper Lanterns", price_cents=999)


def purchases(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(Purchase).order_by(Purchase.id)).all()


class CardForm:
    """The album page's card form; the card inputs live in the stand-in's Stripe.js frame."""

    def __init__(self, page):
        self.page = page
        self.frame = page.frame_locator("#card-element iframe")

    def open(self, slug):
        self.page.goto(f"/albums/{slug}")
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


def wait_for_receipt(page):
    page.wait_for_url(re.compile(r"/purchases/\d+$"))
    return page.locator("h1").inner_text()


def test_paying_with_4242_lands_on_the_receipt(page, album, dbsession):
    form = CardForm(page).open("blue-skies")
    assert page.locator("#card-pay").inner_text() == "Pay $9.99"
    form.fill("4242 4242 4242 4242", email="ana@example.com").pay()
    assert wait_for_receipt(page) == "Thank you! Blue Skies is yours."
    assert "Visa ending in 4242" in page.locator(".receipt").inner_text()
    [purchase] = purchases(dbsession)
    assert (purchase.status, purchase.email, purchase.amount_cents) == ("paid", "ana@example.com", 999)


def test_3d_secure_confirmed_is_paid(page, album, dbsession):
    form = CardForm(page).open("blue-skies")
    form.fill("4000 0025 0000 3155").pay()
    challenge = form.challenge()
    challenge.get_by_role("heading", name="Confirm this payment").wait_for()
    assert challenge.locator("#tds-amount").inner_text() == "$9.99"
    challenge.get_by_role("button", name="Complete authentication").click()
    assert wait_for_receipt(page) == "Thank you! Blue Skies is yours."
    [purchase] = purchases(dbsession)
    assert purchase.status == "paid" and purchase.card_last4 == "3155"


def test_3d_secure_cancelled_is_not_paid_with_a_clear_message_then_paid_on_the_same_page(page, album, dbsession):
    form = CardForm(page).open("blue-skies")
    form.fill("4000 0025 0000 3155").pay()
    form.challenge().get_by_role("button", name="Cancel").click()
    message = form.error()
    assert "Your card was not charged." in message and "3-D Secure" in message and "cancelled" in message
    assert page.locator("iframe.stripe-standin-3ds-frame").count() == 0
    assert page.url.endswith("/albums/blue-skies")
    [purchase] = purchases(dbsession)
    assert purchase.status == "failed" and purchase.paid_at is None

    form.fill("4000 0025 0000 3155").pay()  # again, without reloading
    form.challenge().get_by_role("button", name="Complete authentication").click()
    assert wait_for_receipt(page) == "Thank you! Blue Skies is yours."
    assert [p.status for p in purchases(dbsession)] == ["failed", "paid"]


def test_a_declined_card_shows_the_message_beside_the_card_field(page, album, dbsession):
    form = CardForm(page).open("blue-skies")
    form.fill("4000 0000 0000 0002").pay()
    message = form.error()
    assert "Your card was not charged." in message and "Your card was declined." in message
    assert page.locator("#card-pay").is_enabled()
    [purchase] = purchases(dbsession)
    assert purchase.status == "failed"

    form.fill("4242 4242 4242 4242").pay()
    assert wait_for_receipt(page) == "Thank you! Blue Skies is yours."
    assert [p.status for p in purchases(dbsession)] == ["failed", "paid"]


def test_an_incomplete_card_is_caught_before_anything_is_recorded(page, album, dbsession):
    form = CardForm(page).open("blue-skies")
    page.locator("#card-email").fill("ana@example.com")
    form.frame.get_by_label("Card number").press_sequentially("4242")
    form.pay()
    assert "card number" in form.error()
    assert purchases(dbsession) == []
