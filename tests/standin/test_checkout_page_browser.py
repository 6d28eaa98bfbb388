"""The hosted payment page in headless Chromium (Debian's, driven by Playwright; skipped without it):
its script formats and checks the card as the checkout.js modal does, a decline shows the card's
message, 3-D Secure shows the bank check, and the page asks nothing of any other origin."""

import http.server
import os
import threading

import pytest

from .test_checkout_sessions import create

pytestmark = [pytest.mark.standin_only, pytest.mark.stripe]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def chromium():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shop():
    """The store's success and cancel pages, on http://localhost:PORT (the URLs the sessions name)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<p id=shop>the shop</p>")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_port}"
    server.shutdown()


def test_pay_in_chromium(client, url, chromium, shop):
    session = create(
        client,
        success_url=shop + "/done?session_id={CHECKOUT_SESSION_ID}",
        cancel_url=shop + "/album",
        customer_email=None,
        line_items=[
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 1299,
                    "tax_behavior": "exclusive",
                    "product_data": {"name": "Blue Skies"},
                },
                "quantity": 1,
            }
        ],
    )
    page = chromium.new_page(viewport={"width": 375, "height": 667})
    elsewhere = []
    page.on("request", lambda r: None if r.url.startswith((url, shop, "data:")) else elsewhere.append(r.url))
    page.goto(session.url)
    page.fill("#cs-number", "4242")
    page.click("#cs-pay")
    assert page.text_content("#cs-number-error") == "Your card number is incomplete."  # checked before posting
    assert page.text_content("#cs-email-error") == "Please enter your email address."
    page.fill("#cs-email", "ana@example.com")
    page.fill("#cs-number", "4000000000000002")
    page.fill("#cs-exp", "1234")
    page.fill("#cs-cvc", "123")
    assert (page.input_value("#cs-number"), page.input_value("#cs-exp")) == ("4000 0000 0000 0002", "12 / 34")
    page.click("#cs-pay")
    page.wait_for_load_state()
    assert page.text_content("#cs-error") == "Your card was declined."
    page.fill("#cs-number", "4000 0025 0000 3155")
    page.fill("#cs-exp", "12 / 34")
    page.fill("#cs-cvc", "123")
    page.click("#cs-pay")
    page.click("#cs-3ds-complete")
    page.wait_for_selector("#shop")
    assert page.url == f"{shop}/done?session_id={session.id}"
    got = client.v1.checkout.sessions.retrieve(session.id)
    assert (got.status, got.payment_status, got.customer_details.email) == ("complete", "paid", "ana@example.com")
    assert elsewhere == []
